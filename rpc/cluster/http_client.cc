#include "rpc/cluster/http_client.h"

#include <glog/logging.h>

#include <utility>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/tcp_client.h"
#include "net/tcp_connection.h"

namespace mrpc {
namespace {

// The chunked decoder's bounds: a chunk, or with no sink the whole body, is
// capped at max_body_bytes; the trailers at the header cap.
ChunkedDecoder::Limits ChunkLimits(const HttpLimits& limits, bool streamed) {
  ChunkedDecoder::Limits chunk_limits;
  chunk_limits.max_chunk_bytes = limits.max_body_bytes;
  if (!streamed) chunk_limits.max_body_bytes = limits.max_body_bytes;
  chunk_limits.max_trailer_bytes = limits.max_header_bytes;
  return chunk_limits;
}

}  // namespace

HttpResponseParser::HttpResponseParser(HttpLimits limits, BodySink sink)
    : limits_(limits),
      sink_(std::move(sink)),
      chunk_decoder_(ChunkLimits(limits, sink_ != nullptr)) {}

absl::Status HttpResponseParser::Fail(absl::Status status) {
  state_ = State::kFailed;
  error_ = status;
  body_.clear();
  return status;
}

absl::Status HttpResponseParser::Emit(absl::string_view piece) {
  if (piece.empty()) return absl::OkStatus();
  if (sink_) return sink_(piece);
  if (body_.size() + piece.size() > limits_.max_body_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "HTTP response body over ", limits_.max_body_bytes, " bytes"));
  }
  body_.append(piece.data(), piece.size());
  return absl::OkStatus();
}

absl::Status HttpResponseParser::ParseHeaders(absl::string_view head) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  // "HTTP/1.1 200 OK"
  const absl::string_view status_line = lines[0];
  if (!absl::StartsWith(status_line, "HTTP/1.") || status_line.size() < 12 ||
      status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' ') ||
      !absl::SimpleAtoi(status_line.substr(9, 3), &status_code_) ||
      status_code_ < 100 || status_code_ > 599 ||
      !absl::ascii_isdigit(status_line[9])) {
    return absl::DataLossError(
        absl::StrCat("bad HTTP status line \"",
                     absl::CHexEscape(status_line.substr(0, 64)), "\""));
  }
  bool seen_length = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const absl::string_view line = lines[i];
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::DataLossError("bad HTTP header line");
    }
    const absl::string_view name = line.substr(0, colon);
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t length = 0;
      if (value.empty() || value.size() > 19 ||
          !absl::c_all_of(value, absl::ascii_isdigit) ||
          !absl::SimpleAtoi(value, &length)) {
        return absl::DataLossError("bad HTTP Content-Length");
      }
      if (seen_length && length != remaining_) {
        return absl::DataLossError("conflicting HTTP Content-Length headers");
      }
      seen_length = true;
      remaining_ = length;
    } else if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) {
      if (!absl::EqualsIgnoreCase(value, "chunked")) {
        return absl::DataLossError(absl::StrCat(
            "unsupported HTTP Transfer-Encoding \"",
            absl::CHexEscape(value.substr(0, 32)), "\""));
      }
      chunked_ = true;
    }
  }
  has_length_ = seen_length;
  if (chunked_) {
    state_ = State::kChunked;
  } else if (status_code_ == 204 || status_code_ == 304) {
    state_ = State::kDone;
  } else if (has_length_) {
    if (!sink_ && remaining_ > limits_.max_body_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("HTTP response body of ", remaining_, " bytes over ",
                       limits_.max_body_bytes));
    }
    state_ = remaining_ == 0 ? State::kDone : State::kLengthBody;
  } else {
    state_ = State::kUntilClose;
  }
  return absl::OkStatus();
}

absl::Status HttpResponseParser::Step(Buffer* input, bool* progress) {
  *progress = false;
  switch (state_) {
    case State::kHeaders: {
      const absl::string_view data = input->View();
      const size_t end = data.find("\r\n\r\n");
      if (end == absl::string_view::npos) {
        if (data.size() > limits_.max_header_bytes) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "HTTP response headers over ", limits_.max_header_bytes,
              " bytes"));
        }
        return absl::OkStatus();
      }
      if (end + 4 > limits_.max_header_bytes) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "HTTP response headers over ", limits_.max_header_bytes, " bytes"));
      }
      const std::string head(data.substr(0, end));
      input->Retrieve(end + 4);
      absl::Status status = ParseHeaders(head);
      if (!status.ok()) return status;
      if (status_code_ >= 100 && status_code_ < 200) {
        // An interim answer (100 Continue): the real one follows.
        state_ = State::kHeaders;
        chunked_ = has_length_ = false;
        remaining_ = 0;
      }
      *progress = true;
      return absl::OkStatus();
    }
    case State::kChunked: {
      absl::Status emitted;
      const ChunkedDecoder::Result result = chunk_decoder_.Decode(
          input, [this, &emitted](absl::string_view piece) {
            emitted = Emit(piece);
            return emitted.ok();
          });
      if (result == ChunkedDecoder::Result::kNeedMore) {
        return absl::OkStatus();  // It took all it could.
      }
      if (result == ChunkedDecoder::Result::kDone) {
        state_ = State::kDone;
        *progress = true;
        return absl::OkStatus();
      }
      const ChunkedDecoder::Error error = chunk_decoder_.error();
      const std::string message =
          absl::StrCat("HTTP response: ", ChunkedDecoder::ErrorText(error));
      switch (error) {
        case ChunkedDecoder::Error::kSinkRefused:
          return emitted;
        case ChunkedDecoder::Error::kBodyTooLarge:
        case ChunkedDecoder::Error::kTrailersTooLarge:
          return absl::ResourceExhaustedError(message);
        default:
          return absl::DataLossError(message);
      }
    }
    case State::kLengthBody: {
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(remaining_, input->ReadableBytes()));
      if (n == 0) return absl::OkStatus();
      absl::Status status = Emit(absl::string_view(input->Peek(), n));
      if (!status.ok()) return status;
      input->Retrieve(n);
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::kDone;
      *progress = true;
      return absl::OkStatus();
    }
    case State::kUntilClose: {
      if (input->ReadableBytes() == 0) return absl::OkStatus();
      absl::Status status = Emit(input->View());
      if (!status.ok()) return status;
      input->RetrieveAll();
      *progress = true;
      return absl::OkStatus();
    }
    case State::kDone:
      // Bytes after the response: this client sends one request per
      // connection, so they are the peer's garbage.
      if (input->ReadableBytes() > 0) {
        return absl::DataLossError("bytes after the end of the HTTP response");
      }
      return absl::OkStatus();
    case State::kFailed:
      return error_;
  }
  return absl::OkStatus();
}

absl::Status HttpResponseParser::Feed(Buffer* input) {
  if (state_ == State::kFailed) return error_;
  bool progress = true;
  while (progress) {
    absl::Status status = Step(input, &progress);
    if (!status.ok()) return Fail(status);
    if (state_ == State::kDone && input->ReadableBytes() == 0) break;
  }
  return absl::OkStatus();
}

absl::Status HttpResponseParser::FeedEof() {
  if (state_ == State::kFailed) return error_;
  if (state_ == State::kUntilClose) state_ = State::kDone;
  if (state_ == State::kDone) return absl::OkStatus();
  return Fail(absl::UnavailableError(
      state_ == State::kHeaders
          ? "connection closed before the HTTP response headers ended"
          : "connection closed in the middle of the HTTP response body"));
}

// ---------------------------------------------------------------------------

std::shared_ptr<HttpCall> HttpCall::Start(EventLoop* loop,
                                          const InetAddress& server,
                                          const HttpRequest& request,
                                          const Options& options,
                                          HttpResponseParser::BodySink sink,
                                          Done done) {
  loop->AssertInLoopThread();
  auto call = std::make_shared<HttpCall>(loop, server, options, std::move(sink),
                                         std::move(done));
  call->Begin(request);
  return call;
}

HttpCall::HttpCall(EventLoop* loop, const InetAddress& server,
                   const Options& options, HttpResponseParser::BodySink sink,
                   Done done)
    : loop_(loop),
      server_(server),
      options_(options),
      streamed_(sink != nullptr),
      parser_(options.limits, std::move(sink)),
      done_(std::move(done)) {}

HttpCall::~HttpCall() {
  if (timer_.valid()) loop_->Cancel(timer_);
}

void HttpCall::Begin(const HttpRequest& request) {
  request_bytes_ = absl::StrCat(
      request.method, " ", request.path, " HTTP/1.1\r\nHost: ", request.host,
      "\r\nContent-Type: application/json\r\nContent-Length: ",
      request.body.size(), "\r\nConnection: close\r\n\r\n", request.body);
  TcpClient::Options options;
  options.name = "http";
  options.connector.retry = false;
  options.connector.connect_timeout = options_.timeout;
  options.tls = options_.tls;
  options.tls_handshake_timeout = options_.tls_handshake_timeout;
  options.tls_server_name = options_.tls_server_name.empty()
                                ? server_.Ip()
                                : options_.tls_server_name;
  client_ = std::make_unique<TcpClient>(loop_, server_, options);
  std::weak_ptr<HttpCall> weak = shared_from_this();
  client_->SetConnectionCallback([weak](const TcpConnectionPtr& conn) {
    if (auto self = weak.lock()) self->OnConnection(conn);
  });
  client_->SetMessageCallback([weak](const TcpConnectionPtr& conn,
                                     Buffer* input) {
    if (auto self = weak.lock()) {
      self->OnMessage(input);
    } else {
      input->RetrieveAll();
    }
  });
  client_->SetConnectErrorCallback([weak](const absl::Status& status) {
    auto self = weak.lock();
    if (self == nullptr) return;
    self->Finish(absl::UnavailableError(absl::StrCat(
        "cannot connect to ", self->server_.ToString(), ": ",
        status.message())));
  });
  timer_ = loop_->RunAfter(options_.timeout, [weak] {
    if (auto self = weak.lock()) self->OnTimeout();
  });
  // From the queue: a connect that fails at once must not call back into
  // a caller still inside Start().
  loop_->QueueInLoop([weak] {
    auto self = weak.lock();
    if (self && !self->finished_) self->client_->Connect();
  });
}

void HttpCall::OnConnection(const TcpConnectionPtr& conn) {
  loop_->AssertInLoopThread();
  if (finished_) return;
  if (conn->connected()) {
    connected_ = true;
    conn->Send(request_bytes_);
    request_bytes_.clear();
    return;
  }
  absl::Status status = parser_.FeedEof();
  if (!status.ok()) {
    // A TLS failure after the handshake (a TLS 1.3 server refusing the
    // client's certificate) says more than the truncated response.
    Finish(absl::UnavailableError(absl::StrCat(
        server_.ToString(), ": ",
        conn->tls_error().empty() ? status.message()
                                  : absl::StrCat("TLS: ", conn->tls_error()))));
    return;
  }
  Finish(HttpResponse{parser_.status_code(), std::move(*parser_.mutable_body())});
}

void HttpCall::OnMessage(Buffer* input) {
  loop_->AssertInLoopThread();
  if (finished_) {
    input->RetrieveAll();
    return;
  }
  const bool had_headers = parser_.headers_done();
  absl::Status status = parser_.Feed(input);
  if (finished_) {  // The sink's reader cancelled the call.
    input->RetrieveAll();
    return;
  }
  if (!status.ok()) {
    input->RetrieveAll();
    Finish(status);
    return;
  }
  if (streamed_ && !had_headers && parser_.headers_done() && timer_.valid()) {
    // A stream lives as long as it flows: the timeout covered the connect
    // and the response headers only.
    loop_->Cancel(timer_);
    timer_ = TimerId();
  }
  if (parser_.done()) {
    Finish(HttpResponse{parser_.status_code(),
                        std::move(*parser_.mutable_body())});
  }
}

void HttpCall::OnTimeout() {
  timer_ = TimerId();
  if (finished_) return;
  Finish(absl::DeadlineExceededError(absl::StrCat(
      "no HTTP response from ", server_.ToString(), " within ",
      absl::FormatDuration(options_.timeout))));
}

void HttpCall::Finish(absl::StatusOr<HttpResponse> result) {
  loop_->AssertInLoopThread();
  if (finished_) return;
  finished_ = true;
  if (timer_.valid()) {
    loop_->Cancel(timer_);
    timer_ = TimerId();
  }
  ReleaseClient();
  Done done = std::move(done_);
  if (done) done(std::move(result));
}

void HttpCall::Cancel() {
  loop_->AssertInLoopThread();
  if (finished_) return;
  finished_ = true;
  done_ = nullptr;
  if (timer_.valid()) {
    loop_->Cancel(timer_);
    timer_ = TimerId();
  }
  ReleaseClient();
}

void HttpCall::ReleaseClient() {
  if (client_ == nullptr) return;
  // Its own callback may be on the stack: destroy it from the queue.
  loop_->QueueInLoop([client = std::move(client_)]() mutable { client.reset(); });
}

}  // namespace mrpc
