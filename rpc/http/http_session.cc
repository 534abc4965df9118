#include "rpc/http/http_session.h"

#include <glog/logging.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/memory_budget.h"
#include "net/sync.h"
#include "net/tcp_connection.h"

namespace mrpc {

HttpSession::HttpSession(EventLoop* loop, const HttpOptions& options,
                         Handler* handler, HttpCounters* counters,
                         MemoryBudget* budget)
    : loop_(loop),
      options_(options),
      handler_(handler),
      counters_(counters),
      budget_(budget),
      parser_(options.limits) {}

HttpSession::~HttpSession() {
  CancelTimer();
  ReleaseBody();
}

bool HttpSession::ChargeBody() {
  if (budget_ == nullptr) return true;
  const int64_t held =
      static_cast<int64_t>(parser_.request().body.capacity());
  if (held <= charged_) return true;
  if (static_cast<size_t>(held - charged_) > budget_->Room()) return false;
  budget_->Charge(held - charged_);
  charged_ = held;
  return true;
}

void HttpSession::ReleaseBody() {
  if (budget_ != nullptr && charged_ != 0) budget_->Charge(-charged_);
  charged_ = 0;
}

void HttpSession::OnMessage(const TcpConnectionPtr& conn, Buffer* input) {
  loop_->AssertInLoopThread();
  if (closing_) {
    input->RetrieveAll();
    return;
  }
  // While a request is served, what follows waits in `input` (pipelined
  // requests are answered in order); past one request's worth of bytes the
  // client is not read until the reply is out.
  if (serving_) {
    const HttpServerLimits& l = options_.limits;
    if (input->ReadableBytes() >
        l.max_request_line + l.max_header_bytes + l.max_body_bytes) {
      conn->StopRead();
    }
    return;
  }
  Serve(conn, input);
}

void HttpSession::Serve(const TcpConnectionPtr& conn, Buffer* input) {
  in_serve_ = true;
  while (!serving_ && !closing_ && conn->connected()) {
    const bool was_started = parser_.started();
    const bool had_headers = parser_.headers_done();
    const HttpRequestParser::Result result = parser_.Feed(input);
    if (!ChargeBody()) {
      Fail(conn, input, 503,
           "the request body does not fit the server's memory budget");
      break;
    }
    if (result == HttpRequestParser::Result::kError) {
      SingleWriterAdd(counters_->bad_requests, uint64_t{1});
      Fail(conn, input, parser_.error_status(), parser_.error_reason());
      break;
    }
    if (result == HttpRequestParser::Result::kNeedMore) {
      // The clocks start at a request's first byte and at its headers' end.
      if (parser_.headers_done() && !had_headers) {
        ArmTimer(conn, options_.body_timeout, /*headers=*/false);
        // curl waits a second for this before it sends a larger body.
        if (parser_.request().expect_continue) {
          conn->Send("HTTP/1.1 100 Continue\r\n\r\n");
        }
      } else if (parser_.started() && !was_started) {
        ArmTimer(conn, options_.header_timeout, /*headers=*/true);
      }
      break;
    }
    CancelTimer();
    SingleWriterAdd(counters_->requests, uint64_t{1});
    HttpServerRequest* request = parser_.mutable_request();
    serving_ = true;
    keep_alive_ = request->keep_alive;
    head_only_ = request->method == "HEAD";
    handler_->OnHttpRequest(conn, request);
    if (serving_) break;  // Answered later; Reply() resumes.
  }
  in_serve_ = false;
}

void HttpSession::Reply(const TcpConnectionPtr& conn, HttpReply reply) {
  loop_->AssertInLoopThread();
  if (!serving_) {
    LOG(DFATAL) << "HttpSession::Reply without a request being served";
    return;
  }
  serving_ = false;
  parser_.Reset();
  std::string().swap(parser_.mutable_request()->body);  // Its memory too.
  ReleaseBody();
  const bool keep_alive = keep_alive_ && !reply.close;
  if (conn->connected()) {
    conn->SendInPlace([&](Buffer* out) {
      AppendHttpResponse(out, reply.status, reply.content_type, reply.headers,
                         reply.body, keep_alive, head_only_);
    });
  }
  if (!keep_alive) {
    closing_ = true;
    conn->Shutdown();  // FIN once the reply is written.
    return;
  }
}

void HttpSession::Resume(const TcpConnectionPtr& conn) {
  loop_->AssertInLoopThread();
  // Within Serve() the loop there goes on by itself.
  if (in_serve_ || serving_ || closing_ || !conn->connected()) return;
  if (!conn->reading()) conn->StartRead();
  Buffer* input = conn->input_buffer();
  if (input->ReadableBytes() > 0) Serve(conn, input);
}

void HttpSession::Fail(const TcpConnectionPtr& conn, Buffer* input, int status,
                       const std::string& reason) {
  MRPC_PEER_LOG(WARNING, "http bad request", conn->peer_address())
      << "HTTP client " << conn->peer_address().ToString() << ": " << reason
      << "; answering " << status << " and closing the connection";
  CancelTimer();
  closing_ = true;
  input->RetrieveAll();
  conn->SendInPlace([&](Buffer* out) {
    AppendHttpResponse(out, status, "text/plain; charset=utf-8", {},
                       absl::StrCat(reason, "\n"), /*keep_alive=*/false);
  });
  conn->Shutdown();
}

void HttpSession::ArmTimer(const TcpConnectionPtr& conn,
                           absl::Duration timeout, bool headers) {
  CancelTimer();
  if (timeout <= absl::ZeroDuration()) return;
  timer_for_headers_ = headers;
  std::weak_ptr<TcpConnection> weak = conn;
  timer_ = loop_->RunAfter(timeout, [this, weak, timeout] {
    timer_ = TimerId();
    auto conn = weak.lock();
    // The session lives in the connection's context: alive while it is.
    if (conn == nullptr || closing_ || serving_) return;
    SingleWriterAdd(counters_->timeouts, uint64_t{1});
    Fail(conn, conn->input_buffer(), 408,
         absl::StrCat(timer_for_headers_ ? "request headers" : "request body",
                      " not complete within ",
                      absl::FormatDuration(timeout)));
  });
}

void HttpSession::CancelTimer() {
  if (timer_.valid()) {
    loop_->Cancel(timer_);
    timer_ = TimerId();
  }
}

}  // namespace mrpc
