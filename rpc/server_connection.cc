#include "rpc/server_connection.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "net/tcp_connection.h"
#include "rpc/codec.h"
#include "rpc/free_list_allocator.h"
#include "rpc/overload.h"
#include "rpc/server_call.h"

namespace mrpc {

ServerConnection::ServerConnection(std::shared_ptr<ServerShared> shared,
                                   std::shared_ptr<LoopHandle> handle,
                                   EventLoop* loop)
    : shared_(std::move(shared)),
      handle_(std::move(handle)),
      loop_(loop),
      counters_(handle_->counters) {}

void ServerConnection::OnMessage(const TcpConnectionPtr& conn, Buffer* input) {
  loop_->AssertInLoopThread();
  if (closing_) {  // After a protocol error nothing more is read.
    input->RetrieveAll();
    return;
  }
  // Our calls may drop the connection's last reference to us.
  std::shared_ptr<ServerConnection> self = shared_from_this();
  if (ABSL_PREDICT_FALSE(protocol_ != WireProtocol::kMrpc)) {
    if (protocol_ == WireProtocol::kNeedMore && !DetectProtocol(conn, input)) {
      return;
    }
    if (protocol_ == WireProtocol::kHttp) {
      http_->OnMessage(conn, input);
      return;
    }
  }
  const absl::Time now = absl::Now();  // One clock read per batch of frames.
  const ScopedLogPeer log_peer(conn->peer_address());  // For protobuf's logs.
  absl::Status frame_error;
  int frames = 0;
  absl::Status status = DecodeFrames(
      input, shared_->options.max_frame_size, RequestRoom(), &meta_, &skip_,
      [&](const FrameMeta& meta, absl::string_view payload) {
        ++frames;
        // `meta` is our scratch: HandleRequest may move its metadata out.
        frame_error = HandleFrame(conn, &meta_, payload, now);
        return frame_error.ok() && conn->connected();
      },
      [&](const FrameMeta& meta, uint32_t body_size) {
        ++frames;
        frame_error = HandleRefused(conn, meta, body_size);
        return frame_error.ok() && conn->connected();
      });
  if (status.ok()) status = frame_error;
  if (!status.ok()) {
    FailConnection(conn, input, status);
    return;
  }
  CheckFrameTimeout(conn, input, frames > 0);
}

bool ServerConnection::DetectProtocol(const TcpConnectionPtr& conn,
                                      Buffer* input) {
  std::string reason;
  protocol_ = mrpc::DetectProtocol(
      absl::string_view(input->Peek(), input->ReadableBytes()), &reason);
  const bool plaintext = conn->tls() == nullptr;
  if (plaintext && shared_->tls != nullptr && shared_->options.tls.required &&
      protocol_ != WireProtocol::kNeedMore &&
      protocol_ != WireProtocol::kTls) {
    LoopCounters::Add(counters_.tls_plaintext_refused);
    MRPC_PEER_LOG(WARNING, "plaintext refused", conn->peer_address())
        << "client " << conn->peer_address().ToString()
        << " sent plaintext to a port that requires TLS; closing";
    protocol_ = WireProtocol::kUnknown;
    closing_ = true;
    input->RetrieveAll();
    conn->ForceCloseInLoop();
    return false;
  }
  switch (protocol_) {
    case WireProtocol::kTls:
      if (shared_->tls != nullptr && plaintext) {
        StartTls(conn);
        return false;
      }
      reason = plaintext ? "a TLS handshake (TLS is not enabled on this port)"
                         : "a TLS handshake inside TLS";
      break;
    case WireProtocol::kMrpc:
      LoopCounters::Add(counters_.mrpc_connections);
      return true;
    case WireProtocol::kHttp:
      if (shared_->options.http.enabled) {
        LoopCounters::Add(counters_.http_connections);
        http_ =
            std::make_unique<HttpSession>(loop_, shared_->http_options, this,
                                          &counters_.http, &shared_->budget);
        return true;
      }
      reason = "HTTP (ServerOptions::http.enabled is off)";
      break;
    case WireProtocol::kNeedMore:
      // A peer that stops mid-greeting is closed like one mid-frame.
      CheckFrameTimeout(conn, input, /*frame_completed=*/false);
      return false;
    case WireProtocol::kUnknown:
      break;
  }
  protocol_ = WireProtocol::kUnknown;
  LoopCounters::Add(counters_.unknown_protocol_closes);
  MRPC_PEER_LOG(WARNING, "unknown protocol", conn->peer_address())
      << "client " << conn->peer_address().ToString() << " sent " << reason
      << "; closing the connection";
  closing_ = true;
  input->RetrieveAll();
  conn->ForceCloseInLoop();
  return false;
}

void ServerConnection::StartTls(const TcpConnectionPtr& conn) {
  // What the handshake carries is detected again, from its first bytes.
  protocol_ = WireProtocol::kNeedMore;
  std::weak_ptr<ServerConnection> weak = shared_from_this();
  conn->StartTls(
      shared_->tls->NewSession(""), shared_->options.tls.handshake_timeout,
      [weak, counters = &counters_](const TcpConnectionPtr& c,
                                    const absl::Status& status) {
        if (!status.ok()) {  // TcpConnection logged it.
          LoopCounters::Add(counters->tls_handshake_failures);
          return;
        }
        LoopCounters::Add(counters->tls_handshakes);
        if (auto self = weak.lock()) {
          self->tls_peer_ = std::make_shared<const TlsPeer>(c->tls()->peer());
        }
      });
}

absl::Status ServerConnection::HandleFrame(const TcpConnectionPtr& conn,
                                           FrameMeta* meta,
                                           absl::string_view payload,
                                           absl::Time now) {
  switch (meta->type()) {
    case REQUEST:
      return HandleRequest(conn, meta, payload, now);
    case PING:
      LoopCounters::Add(counters_.pings);
      conn->SendInPlace([&](Buffer* out) {
        EncodeControlFrame(PONG, meta->correlation_id(), out);
      });
      return absl::OkStatus();
    case CANCEL:
      LoopCounters::Add(counters_.cancels);
      HandleCancel(meta->correlation_id());
      return absl::OkStatus();
    case PONG:
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "unexpected ", FrameType_Name(meta->type()), " frame from a client"));
  }
}

absl::Status ServerConnection::HandleRequest(const TcpConnectionPtr& conn,
                                             FrameMeta* meta,
                                             absl::string_view payload,
                                             absl::Time now) {
  LoopCounters::Add(counters_.requests);
  const uint64_t id = meta->correlation_id();
  // An id stays reserved until its RESPONSE is sent; reusing it before is
  // a protocol error (as HTTP/2 treats a reused stream id): answering it
  // under that id would leave the client unable to tell its calls apart.
  if (calls_.contains(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("correlation id ", id, " is already in flight"));
  }
  if (shared_->draining.load(std::memory_order_relaxed)) {
    SendRefusal(conn, id,
                absl::UnavailableError("the server is shutting down"));
    return absl::OkStatus();
  }
  // One connection cannot hold more than its share of the server (the
  // worker queue above all): past the cap it is refused, not queued.
  const size_t max_calls = shared_->options.max_calls_per_connection;
  if (max_calls > 0 && calls_.size() >= max_calls) {
    LoopCounters::Add(counters_.overloaded);
    LoopCounters::Add(counters_.connection_cap_refusals);
    SendRefusal(conn, id,
                absl::ResourceExhaustedError(absl::StrCat(
                    "this connection has ", calls_.size(),
                    " calls in flight, the server's limit per connection "
                    "(max_calls_per_connection)")));
    return absl::OkStatus();
  }
  // The frame's bytes are in already; what is refused here is holding them
  // for a call past the budget, or past this connection's share of it.
  if (shared_->budget.Exhausted() ||
      (payload.size() > kBudgetExemptBytes && payload.size() > ShareLeft(0))) {
    LoopCounters::Add(counters_.memory_refusals);
    LoopCounters::Add(counters_.overloaded);
    SendRefusal(
        conn, id,
        MemoryError(absl::StrCat("the request of ", payload.size(), " bytes"),
                    *conn));
    return absl::OkStatus();
  }
  const ServerMethod* method = last_method_;
  if (method == nullptr || meta->method() != method->name ||
      meta->service() != method->service) {
    method = FindMethod(conn, *meta);
    if (method == nullptr) return absl::OkStatus();  // UNIMPLEMENTED sent.
    last_method_ = method;
    last_pool_ = nullptr;
  }
  const bool has_metadata = meta->metadata_size() > 0;
  if (has_metadata) {
    const ServerOptions& o = shared_->options;
    absl::Status fits =
        CheckMetadata(*meta, o.max_metadata_bytes, o.max_metadata_entries);
    if (!fits.ok()) {
      LoopCounters::Add(counters_.invalid_metadata);
      SendStatus(conn, id,
                 absl::Status(fits.code(), absl::StrCat("request metadata: ",
                                                        fits.message())));
      return absl::OkStatus();
    }
  }
  // timeout_us is unsigned: 0 and anything past INT64_MAX (UINT64_MAX is
  // the usual "none") mean no deadline; the sum saturates, never wraps.
  const uint64_t timeout_us = meta->timeout_us();
  const absl::Time deadline =
      timeout_us == 0 || timeout_us > kMaxTimeoutUs
          ? absl::InfiniteFuture()
          : now + absl::Microseconds(static_cast<int64_t>(timeout_us));
  // Overload protection (rpc/overload.h): refused at once, or admitted.
  absl::Status refused;
  bool light = false;
  ConcurrencyLimiter* limiter =
      AdmitCall(handle_.get(), *method, shared_->options, timeout_us,
                calls_.size(), &refused, &light);
  if (!refused.ok()) {
    SendRefusal(conn, id, refused);
    return absl::OkStatus();
  }
  // Made and freed once per call: from the loop's free list, not malloc.
  auto call = std::allocate_shared<ServerCall>(
      FreeListAllocator<ServerCall>(), method, id, now, deadline, conn, this,
      shared_.get(), handle_.get());
  const bool inline_only = limiter != nullptr && limiter->inline_only();
  if (limiter != nullptr && !inline_only) {
    call->SetLimiter(limiter, loop_->CachedNowNs(), light);
  }
  if (has_metadata) call->SetMetadata(TakeMetadata(meta));
  call->Start(conn, payload, call);  // Pending (in calls_) if unanswered.
  if (inline_only && !call->answered()) {
    // The method's first call to outlive its start: limited from now on.
    limiter->EndInlineOnly();
    call->SetLimiter(limiter, loop_->CachedNowNs(), /*light=*/false);
  }
  return absl::OkStatus();
}

void ServerConnection::Hold(int64_t bytes) {
  held_ += bytes;
  shared_->budget.Charge(bytes);
}

size_t ServerConnection::ShareLeft(size_t also_held) const {
  const size_t held =
      static_cast<size_t>(std::max<int64_t>(held_, 0)) + also_held;
  const size_t share = shared_->ConnectionShare();
  return held >= share ? 0 : share - held;
}

size_t ServerConnection::RequestRoom() const {
  return std::min(ShareLeft(0), shared_->LargeFrameRoom());
}

size_t ServerConnection::HeldRoom(size_t wire_bytes) const {
  // The wire bytes are in the budget already (in the input buffer).
  return std::min(ShareLeft(0), shared_->budget.Room() + wire_bytes);
}

size_t ServerConnection::ResponseRoom(const TcpConnection& conn) const {
  return std::min(ShareLeft(conn.output_bytes()), shared_->LargeFrameRoom());
}

absl::Status ServerConnection::MemoryError(absl::string_view what,
                                           const TcpConnection& conn) const {
  const MemoryBudget& budget = shared_->budget;
  return absl::ResourceExhaustedError(absl::StrCat(
      what, " does not fit the server's memory budget (", budget.used(), " of ",
      budget.limit(), " bytes held for its clients; this connection ",
      std::max<int64_t>(held_, 0) + conn.output_bytes(),
      " bytes, of a share of ", shared_->ConnectionShare(), "); retry later"));
}

absl::Status ServerConnection::HandleRefused(const TcpConnectionPtr& conn,
                                             const FrameMeta& meta,
                                             uint32_t body_size) {
  const size_t max = shared_->options.max_frame_size;
  if (meta.type() != REQUEST) {
    return absl::ResourceExhaustedError(
        absl::StrCat(FrameType_Name(meta.type()), " frame body of ", body_size,
                     " bytes refused (limit ", max, ")"));
  }
  LoopCounters::Add(counters_.requests);
  const uint64_t id = meta.correlation_id();
  if (calls_.contains(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("correlation id ", id, " is already in flight"));
  }
  LoopCounters::Add(counters_.overloaded);
  if (body_size > max) {
    LoopCounters::Add(counters_.oversized_requests);
    SendStatus(conn, id,
               absl::ResourceExhaustedError(
                   absl::StrCat("the request frame of ", body_size,
                                " bytes is over the server's limit of ", max,
                                " bytes (max_frame_size); it was skipped")));
  } else {
    LoopCounters::Add(counters_.memory_refusals);
    SendRefusal(
        conn, id,
        MemoryError(absl::StrCat("the request of ", body_size, " bytes"),
                    *conn));
  }
  return absl::OkStatus();
}

void ServerConnection::HandleCancel(uint64_t id) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;  // Answered already, or never sent.
  std::shared_ptr<ServerCall> call = it->second;
  // Answered at once, so the id is free as soon as the client reads this.
  call->Abort(absl::CancelledError("cancelled by the client"));
}

const ServerMethod* ServerConnection::FindMethod(const TcpConnectionPtr& conn,
                                                 const FrameMeta& meta) {
  const uint64_t id = meta.correlation_id();
  auto service = shared_->methods.find(meta.service());
  if (service == shared_->methods.end()) {
    LoopCounters::Add(counters_.unimplemented);
    SendStatus(
        conn, id,
        absl::UnimplementedError(absl::StrCat(
            "unknown service \"", absl::CHexEscape(meta.service()), "\"")));
    return nullptr;
  }
  auto method = service->second.find(meta.method());
  if (method == service->second.end()) {
    LoopCounters::Add(counters_.unimplemented);
    SendStatus(
        conn, id,
        absl::UnimplementedError(absl::StrCat(
            "unknown method \"", absl::CHexEscape(meta.method()),
            "\" of service \"", absl::CHexEscape(meta.service()), "\"")));
    return nullptr;
  }
  return &method->second;
}

void ServerConnection::SendStatus(const TcpConnectionPtr& conn, uint64_t id,
                                  const absl::Status& status) {
  conn->SendInPlace([&](Buffer* out) {
    EncodeResponseFrame(id, status, nullptr, nullptr, out);
  });
  LoopCounters::Add(counters_.responses);
}

void ServerConnection::SendRefusal(const TcpConnectionPtr& conn, uint64_t id,
                                   const absl::Status& status) {
  static const Metadata* const kRefused = new Metadata{{kRefusedKey, "1"}};
  conn->SendInPlace([&](Buffer* out) {
    EncodeResponseFrame(id, status, kRefused, nullptr, out);
  });
  LoopCounters::Add(counters_.responses);
}

void ServerConnection::FailConnection(const TcpConnectionPtr& conn,
                                      Buffer* input,
                                      const absl::Status& error) {
  LoopCounters::Add(counters_.protocol_errors);
  MRPC_PEER_LOG(WARNING, "rpc protocol error", conn->peer_address())
      << "protocol error from " << conn->peer_address().ToString() << ": "
      << error.message()
      << "; answering its calls in flight and closing the connection";
  closing_ = true;
  input->RetrieveAll();
  // Every request received before the error gets its one answer: those
  // already answered went into the output buffer; the rest fail now.
  const absl::Status abandoned = absl::UnavailableError(absl::StrCat(
      "the connection is closing after a protocol error (", error.message(),
      "); the call was abandoned (its handler may have started)"));
  std::vector<std::shared_ptr<ServerCall>> calls;
  calls.reserve(calls_.size());
  for (auto& [id, call] : calls_) calls.push_back(call);
  for (auto& call : calls) call->Abort(abandoned);
  // FIN once the output drains; a client that never closes is reset.
  conn->Shutdown();
  std::weak_ptr<TcpConnection> weak = conn;
  loop_->RunAfter(kProtocolErrorLinger, [weak] {
    if (auto c = weak.lock()) c->ForceCloseInLoop();
  });
}

void ServerConnection::CheckFrameTimeout(const TcpConnectionPtr& conn,
                                         Buffer* input, bool frame_completed) {
  if ((input->ReadableBytes() == 0 && skip_.remaining == 0) ||
      !conn->connected()) {
    partial_since_ms_ = 0;
    return;
  }
  // A partial frame is buffered. It began now if this batch completed the
  // previous one (or none was pending), else it is the same frame, still
  // arriving.
  const int64_t now_ms = loop_->CachedNowMs();
  if (frame_completed || partial_since_ms_ == 0) {
    partial_since_ms_ = now_ms;
    return;
  }
  const int64_t limit_ms =
      absl::ToInt64Milliseconds(shared_->options.frame_timeout);
  if (limit_ms > 0 && now_ms - partial_since_ms_ > limit_ms) {
    LoopCounters::Add(counters_.frame_timeouts);
    MRPC_PEER_LOG(WARNING, "rpc frame timeout", conn->peer_address())
        << "client " << conn->peer_address().ToString()
        << ": a frame still incomplete after " << now_ms - partial_since_ms_
        << " ms (frame timeout " << limit_ms << " ms; "
        << input->ReadableBytes() << " bytes buffered, " << skip_.remaining
        << " bytes of a refused frame to skip); closing the connection";
    input->RetrieveAll();
    conn->ForceCloseInLoop();
  }
}

void ServerConnection::OnClose() {
  loop_->AssertInLoopThread();
  // Nobody will receive these answers: let the handlers know.
  std::shared_ptr<ServerConnection> self = shared_from_this();
  closed_ = true;
  auto calls = std::move(calls_);
  calls_.clear();
  for (auto& [id, call] : calls) call->Disconnected();
}

void ServerConnection::Abandon(const absl::Status& status) {
  loop_->AssertInLoopThread();
  std::shared_ptr<ServerConnection> self = shared_from_this();
  std::vector<std::shared_ptr<ServerCall>> calls;
  calls.reserve(calls_.size());
  for (auto& [id, call] : calls_) calls.push_back(call);
  for (auto& call : calls) call->Abort(status);
}

void ServerConnection::OnHighWaterMark(const TcpConnectionPtr& conn,
                                       size_t bytes) {
  if (paused_) return;
  MRPC_PEER_LOG(WARNING, "rpc client not reading", conn->peer_address())
      << "client " << conn->peer_address().ToString()
      << " is not reading its responses (" << bytes
      << " bytes buffered); pausing its requests";
  paused_ = true;
  conn->StopRead();
}

void ServerConnection::OnWriteComplete(const TcpConnectionPtr& conn) {
  if (!paused_) return;
  paused_ = false;
  // Our pause must not count against a frame that was arriving.
  partial_since_ms_ = 0;
  if (!closing_) conn->StartRead();
}

bool ServerConnection::Adopt(std::shared_ptr<ServerCall> call,
                             TcpConnection& conn) {
  if (closed_) return false;
  const uint64_t id = call->id();
  calls_.emplace(id, std::move(call));
  if (calls_.size() == 1) conn.SetBusy(true);
  return true;
}

void ServerConnection::Retire(const ServerCall* call, TcpConnection& conn) {
  auto it = calls_.find(call->id());
  if (it == calls_.end() || it->second.get() != call) return;
  calls_.erase(it);
  if (calls_.empty()) conn.SetBusy(false);
}

ServerConnection::MessagePool* ServerConnection::FindPool(
    const ServerMethod* method) {
  MessagePool* pool = &pools_.try_emplace(method, method).first->second;
  if (method == last_method_) last_pool_ = pool;
  return pool;
}

std::unique_ptr<google::protobuf::Message> ServerConnection::MessagePool::New(
    bool request) const {
  const google::protobuf::Message* prototype =
      request ? method_->request_prototype : method_->response_prototype;
  return std::unique_ptr<google::protobuf::Message>(prototype->New());
}

}  // namespace mrpc
