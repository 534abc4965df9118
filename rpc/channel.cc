#include "rpc/channel.h"

#include <glog/logging.h>

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_set.h"
#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/log_limiter.h"
#include "net/sync.h"
#include "net/tcp_client.h"
#include "rpc/codec.h"
#include "rpc/protobuf_log.h"

namespace mrpc {
namespace {

// An error status with a representation of its own. absl::Status shares
// its heap representation between copies and frees it from
// libabsl_status.so, which Debian builds without ThreadSanitizer hooks; a
// representation shared between the loop and a caller's thread would look
// like a race to TSan. Each caller gets its own (OK costs nothing).
absl::Status OwnCopy(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), status.message());
}

}  // namespace

// Everything the channel does happens here, on its loop. Shared-owned so
// timers and context hooks can hold it weakly.
class Channel::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(EventLoop* loop, const InetAddress& server, std::string target,
       ChannelOptions options)
      : loop_(loop),
        server_(server),
        target_(std::move(target)),
        options_(std::move(options)) {}

  void Start() {
    TcpClient::Options client_options;
    client_options.name = "channel " + target_;
    client_options.reconnect = true;
    client_options.connector = options_.connect;
    client_ = std::make_unique<TcpClient>(loop_, server_, client_options);
    std::weak_ptr<Core> weak = shared_from_this();
    client_->SetConnectionCallback([weak](const TcpConnectionPtr& conn) {
      if (auto self = weak.lock()) self->OnConnection(conn);
    });
    client_->SetMessageCallback(
        [weak](const TcpConnectionPtr& conn, Buffer* in) {
          if (auto self = weak.lock()) self->OnMessage(conn, in);
        });
    client_->SetConnectErrorCallback([weak](const absl::Status& status) {
      if (auto self = weak.lock()) self->OnConnectError(status);
    });
    client_->Connect();
    if (options_.heartbeat_interval > absl::ZeroDuration()) {
      const absl::Duration period = std::max(
          absl::Milliseconds(1),
          std::min(options_.heartbeat_interval, options_.heartbeat_timeout) /
              4);
      heartbeat_timer_ = loop_->RunEvery(period, [weak] {
        if (auto self = weak.lock()) self->CheckHeartbeat();
      });
    }
  }

  // Any thread: runs `task` on the loop unless the channel is gone.
  void Post(Functor task) {
    MutexLock lock(&post_mutex_);
    if (loop_alive_) loop_->QueueInLoop(std::move(task));
  }
  void MarkLoopGone() {
    MutexLock lock(&post_mutex_);
    loop_alive_ = false;
  }

  // The request travels either as a message (on the loop, encoded straight
  // into the connection) or pre-serialized (from other threads).
  struct Request {
    const google::protobuf::Message* message = nullptr;
    std::string bytes;
  };

  // Loop only.
  // `lasting`: the names outlive the channel; interceptors may keep the
  // views, else the names are interned.
  void StartCall(absl::string_view service, absl::string_view method,
                 bool lasting, Request request,
                 google::protobuf::Message* response, ClientContext* context,
                 RpcCallback done) {
    loop_->AssertInLoopThread();
    calls_.fetch_add(1, std::memory_order_relaxed);
    // The time left: from the context's deadline (one clock read), or the
    // channel's default timeout (none), or unlimited.
    absl::Duration timeout = absl::InfiniteDuration();
    if (context != nullptr && context->deadline() != absl::InfiniteFuture()) {
      timeout = context->deadline() - absl::Now();
    } else if (options_.default_timeout > absl::ZeroDuration()) {
      timeout = options_.default_timeout;
    }
    if (state_ == State::kShutdown) {
      FailSoon(context, std::move(done),
               absl::CancelledError("the channel is closing"));
      return;
    }
    if (state_ == State::kTransientFailure) {
      FailSoon(context, std::move(done),
               absl::UnavailableError(absl::StrCat(
                   "cannot reach ", target_, ": ", last_error_.message())));
      return;
    }
    if (timeout <= absl::ZeroDuration()) {
      deadline_exceeded_.fetch_add(1, std::memory_order_relaxed);
      FailSoon(context, std::move(done),
               absl::DeadlineExceededError(
                   "the deadline passed before the call started"));
      return;
    }
    if (context != nullptr && !context->metadata_error().ok()) {
      FailSoon(context, std::move(done), context->metadata_error());
      return;
    }
    // Ids are never reused; a call that fails to start burns one.
    const uint64_t id = next_id_++;
    Pending& call = pending_[id];
    call.start_ms = loop_->CachedNowMs();
    call.context = context;  // Before OnCall: interceptors see it.
    if (!options_.interceptors.empty()) {
      call.start_ns = loop_->CachedNowNs();
      call.info.service = lasting ? service : Intern(service, &last_service_);
      call.info.method = lasting ? method : Intern(method, &last_method_);
      call.info.deadline = context != nullptr ? context->deadline()
                                              : absl::InfiniteFuture();
      call.info.context = context;
    }
    RequestFields fields;
    if (context != nullptr || !options_.interceptors.empty()) {
      absl::Status status = BuildMetadata(context, &call, &fields.metadata);
      if (!status.ok()) {
        auto node = pending_.extract(id);
        RunOnComplete(node.mapped(), status);
        FailSoon(context, std::move(done), std::move(status));
        return;
      }
    }
    fields.id = id;
    fields.service = service;
    fields.method = method;
    // Saturates: a deadline centuries away is sent as INT64_MAX us, never
    // as a wrapped (negative, "expired") number.
    fields.timeout_us =
        timeout == absl::InfiniteDuration()
            ? 0
            : std::max<int64_t>(1, absl::ToInt64Microseconds(timeout));
    call.response = response;
    call.done = std::move(done);
    call.timeout = timeout;
    if (timeout != absl::InfiniteDuration()) {
      // A raw `this` (small enough for the callback's inline storage: no
      // allocation per call) is safe: completing a call cancels its timer,
      // and Teardown() completes every call before the core can go away.
      call.deadline_timer =
          loop_->RunAfter(timeout, [this, id] { OnDeadline(id); });
    }
    if (context != nullptr) {
      std::weak_ptr<Core> weak = shared_from_this();
      context->SetCancelHook([weak, id] {
        if (auto self = weak.lock()) {
          self->Post([weak, id] {
            if (auto core = weak.lock()) core->Cancel(id);
          });
        }
      });
    }
    if (state_ == State::kReady) {
      call.sent_ms = call.start_ms;
      conn_->SendInPlace([&](Buffer* out) { Encode(fields, request, out); });
    } else {  // Connecting: encode now, send when the connection is up.
      Buffer frame;
      Encode(fields, request, &frame);
      call.unsent_frame = frame.RetrieveAllAsString();
    }
    if (fields.metadata != nullptr) metadata_scratch_.clear();
  }

  // Loop only: completes every call with CANCELLED and lets go of the
  // connection. No callback runs after this returns.
  void Teardown() {
    loop_->AssertInLoopThread();
    state_ = State::kShutdown;
    loop_->Cancel(heartbeat_timer_);
    // Tell the server, so its handlers stop: our FIN alone reads as a
    // half-close, after which a server keeps serving what it owes.
    for (const auto& [id, call] : pending_) {
      if (call.sent()) SendControl(CANCEL, id);
    }
    FlushSoonFailures();
    FailAll(absl::StatusCode::kCancelled, "the channel was destroyed");
    client_.reset();  // Closes the connection; its "down" finds nothing.
    conn_.reset();
  }

  bool connected() const { return connected_.load(std::memory_order_relaxed); }

  ChannelStats stats() const {
    ChannelStats s;
    s.calls = calls_.load();
    s.ok = ok_.load();
    s.failed = failed_.load();
    s.deadline_exceeded = deadline_exceeded_.load();
    s.late_responses = late_responses_.load();
    s.connects = connects_.load();
    s.reconnects = s.connects > 0 ? s.connects - 1 : 0;
    s.connection_losses = connection_losses_.load();
    s.heartbeat_timeouts = heartbeat_timeouts_.load();
    s.pings = pings_.load();
    s.protocol_errors = protocol_errors_.load();
    s.oversized_responses = oversized_responses_.load();
    return s;
  }

 private:
  enum class State { kConnecting, kReady, kTransientFailure, kShutdown };

  struct Pending {
    google::protobuf::Message* response = nullptr;
    RpcCallback done;
    ClientContext* context = nullptr;
    TimerId deadline_timer;
    absl::Duration timeout = absl::InfiniteDuration();
    // Where the time goes: the loop's clock (ms) when the call started and
    // when its request was written (-1: not yet).
    int64_t start_ms = 0;
    int64_t sent_ms = -1;
    bool sent() const { return sent_ms >= 0; }
    std::string unsent_frame;  // While connecting.
    // With interceptors only: what they see, and the precise start.
    ClientCall info;  // Names point into names_.
    int64_t start_ns = 0;
    size_t admitted = 0;  // Interceptors whose OnCall ran.
  };

  // A stable copy of `name`; `last` caches the previous answer, so a run
  // of calls to one method compares bytes and hashes nothing. (Not the
  // caller's pointer: a freed and reused buffer could hold another name.)
  absl::string_view Intern(absl::string_view name, absl::string_view* last) {
    if (*last == name) return *last;
    auto it = names_.find(name);
    if (it == names_.end()) it = names_.emplace(name).first;
    *last = *it;
    return *last;
  }

  // The request's metadata: the context's entries, its trace, then what
  // the interceptors add; checks the limits. `*out` stays null if none.
  absl::Status BuildMetadata(ClientContext* context, Pending* call,
                             const Metadata** out) {
    Metadata& metadata = metadata_scratch_;  // Empty between calls.
    if (context != nullptr) {
      metadata = context->metadata();
      if (context->trace().has_value()) {
        metadata.emplace_back(kTraceparentKey,
                              context->trace()->ToTraceparent());
      }
    }
    if (!options_.interceptors.empty()) {
      const ClientCall& info = call->info;
      const size_t ours = metadata.size();
      for (const auto& interceptor : options_.interceptors) {
        ++call->admitted;
        absl::Status status = interceptor->OnCall(info, &metadata);
        if (!status.ok()) {
          metadata.clear();
          return status;
        }
      }
      // What interceptors add follows the rules for user keys.
      for (size_t i = ours; i < metadata.size(); ++i) {
        absl::Status status = ValidateUserMetadataKey(metadata[i].first);
        if (!status.ok()) {
          metadata.clear();
          return absl::Status(status.code(), absl::StrCat("a client interceptor added ",
                                                          status.message()));
        }
      }
    }
    if (metadata.empty()) return absl::OkStatus();
    absl::Status status = CheckMetadata(metadata, options_.max_metadata_bytes,
                                        options_.max_metadata_entries);
    if (!status.ok()) {
      metadata.clear();
      return absl::Status(status.code(),
                          absl::StrCat("request metadata: ", status.message()));
    }
    *out = &metadata;  // The caller encodes it, then clears it.
    return absl::OkStatus();
  }

  // The interceptors' OnComplete, innermost first.
  void RunOnComplete(const Pending& call, const absl::Status& status) {
    if (call.admitted == 0) return;
    const ClientCall& info = call.info;
    // Both ends are loop iterations' clock reads (the one that took the call
    // up, the one that saw its outcome): no clock read per call.
    const absl::Duration latency =
        absl::Nanoseconds(loop_->CachedNowNs() - call.start_ns);
    for (size_t i = call.admitted; i-- > 0;) {
      options_.interceptors[i]->OnComplete(info, status, latency);
    }
  }

  // "X ms" since `since_ms` on the loop's clock.
  std::string MsSince(int64_t since_ms) const {
    return absl::StrCat(loop_->CachedNowMs() - since_ms, " ms");
  }

  // Where a call's time went, for its error message.
  std::string WhereTimeWent(const Pending& call) const {
    if (!call.sent()) {
      return absl::StrCat(MsSince(call.start_ms),
                          " waiting for a connection to ", target_, " (",
                          state_ == State::kConnecting
                              ? "connecting"
                              : absl::StrCat("last error: ",
                                             last_error_.message()),
                          ")");
    }
    const int64_t waited = call.sent_ms - call.start_ms;
    return absl::StrCat(
        waited > 0 ? absl::StrCat(waited, " ms waiting for a connection, then ")
                   : "",
        MsSince(call.sent_ms), " waiting for the response from ", target_,
        " after the request was written");
  }

  struct SoonFailure {
    ClientContext* context;
    RpcCallback done;
    absl::Status status;
  };

  static void Encode(const RequestFields& fields, const Request& request,
                     Buffer* out) {
    if (request.message != nullptr) {
      EncodeRequestFrame(fields, request.message, out);
    } else {
      EncodeRequestFrame(fields, request.bytes, out);
    }
  }

  void SendControl(FrameType type, uint64_t id) {
    if (conn_ == nullptr || !conn_->connected()) return;
    conn_->SendInPlace([&](Buffer* out) { EncodeControlFrame(type, id, out); });
  }

  void Complete(Pending& call, const absl::Status& status,
                Metadata response_metadata = {}) {
    loop_->Cancel(call.deadline_timer);
    (status.ok() ? ok_ : failed_).fetch_add(1, std::memory_order_relaxed);
    RunOnComplete(call, status);
    if (call.context != nullptr) {
      // A call that never left the client has no peer.
      call.context->SetOutcome(OwnCopy(status),
                               call.sent() ? target_ : std::string(),
                               std::move(response_metadata));
    }
    call.done(OwnCopy(status));
  }

  // A failure found while starting a call: completed from the loop's queue,
  // so `done` never runs inside CallMethod. Teardown() flushes the list, so
  // none of these can run after the channel is destroyed either.
  void FailSoon(ClientContext* context, RpcCallback done, absl::Status status) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    soon_.push_back(SoonFailure{context, std::move(done), std::move(status)});
    if (soon_.size() > 1) return;  // A flush is queued already.
    std::weak_ptr<Core> weak = shared_from_this();
    loop_->QueueInLoop([weak] {
      if (auto self = weak.lock()) self->FlushSoonFailures();
    });
  }

  void FlushSoonFailures() {
    std::vector<SoonFailure> failures;
    failures.swap(soon_);
    for (SoonFailure& f : failures) {
      if (f.context != nullptr)
        f.context->SetOutcome(OwnCopy(f.status), std::string());  // Unsent.
      f.done(std::move(f.status));
    }
  }

  // Fails every call with `code`: "<what>; <where its time went>".
  void FailAll(absl::StatusCode code, absl::string_view what) {
    absl::flat_hash_map<uint64_t, Pending> calls;
    calls.swap(pending_);
    for (auto& [id, call] : calls) {
      absl::Status status(code, absl::StrCat(what, "; the call spent ",
                                             WhereTimeWent(call)));
      Complete(call, status);
    }
  }

  // A connection attempt failed with `error`: calls waiting for it fail.
  void FailUnsent(absl::string_view error) {
    std::vector<uint64_t> unsent;
    for (auto& [id, call] : pending_) {
      if (!call.sent()) unsent.push_back(id);
    }
    for (uint64_t id : unsent) {
      auto node = pending_.extract(id);
      absl::Status status = absl::UnavailableError(absl::StrCat(
          "cannot reach ", target_, " (the call waited ",
          MsSince(node.mapped().start_ms), " for a connection): ", error));
      Complete(node.mapped(), status);
    }
  }

  void OnConnection(const TcpConnectionPtr& conn) {
    if (state_ == State::kShutdown) return;
    if (conn->connected()) {
      conn_ = conn;
      skip_ = FrameSkip();
      connected_ = true;
      connects_.fetch_add(1, std::memory_order_relaxed);
      state_ = State::kReady;
      last_inbound_ms_ = loop_->CachedNowMs();
      last_ping_ms_ = last_inbound_ms_;
      // By id, not by reference: a send that fails may fail every call
      // (and empty pending_) before the next one is sent.
      std::vector<uint64_t> unsent;
      for (auto& [id, call] : pending_) {
        if (!call.sent()) unsent.push_back(id);
      }
      for (uint64_t id : unsent) {
        auto it = pending_.find(id);
        if (it == pending_.end()) continue;
        if (conn_ == nullptr) break;  // Lost while sending.
        it->second.sent_ms = last_inbound_ms_;
        const std::string frame = std::move(it->second.unsent_frame);
        conn_->Send(frame);
      }
      return;
    }
    conn_.reset();
    connected_ = false;
    connection_losses_.fetch_add(1, std::memory_order_relaxed);
    std::string why = close_reason_.empty()
                          ? TcpConnection::CloseReasonName(conn->close_reason())
                          : std::exchange(close_reason_, std::string());
    // The client reconnects at once; calls wait for that attempt.
    state_ = State::kConnecting;
    FailAll(absl::StatusCode::kUnavailable,
            absl::StrCat("connection to ", target_, " lost (", why, ")"));
  }

  void OnConnectError(const absl::Status& status) {
    if (state_ == State::kShutdown || state_ == State::kReady) return;
    last_error_ = status;
    state_ = State::kTransientFailure;
    FailUnsent(status.message());
  }

  void OnMessage(const TcpConnectionPtr& conn, Buffer* input) {
    last_inbound_ms_ = loop_->CachedNowMs();
    absl::Status frame_error;
    absl::Status status = DecodeFrames(
        input, options_.max_frame_size, SIZE_MAX, &response_meta_, &skip_,
        [&](const RpcMeta& meta, absl::string_view payload) {
          switch (meta.type()) {
            case RESPONSE:
              OnResponse(response_meta_, payload);  // `meta` is this scratch.
              break;
            case PING:
              SendControl(PONG, meta.correlation_id());
              break;
            case PONG:
              break;
            default:
              frame_error = absl::InvalidArgumentError(
                  absl::StrCat("unexpected ", FrameType_Name(meta.type()),
                               " frame from the server"));
              return false;
          }
          return conn->connected();
        },
        [&](const RpcMeta& meta, uint32_t body_size) {
          if (meta.type() != RESPONSE) {
            frame_error = absl::ResourceExhaustedError(absl::StrCat(
                FrameType_Name(meta.type()), " frame body of ", body_size,
                " bytes over the limit of ", options_.max_frame_size));
            return false;
          }
          OnOversizedResponse(meta.correlation_id(), body_size);
          return conn->connected();
        });
    if (status.ok()) status = frame_error;
    if (!status.ok()) {
      protocol_errors_.fetch_add(1, std::memory_order_relaxed);
      MRPC_PEER_LOG(WARNING, "channel protocol error", target_)
          << "protocol error from server " << target_ << ": "
          << status.message() << "; closing the connection";
      close_reason_ = absl::StrCat("protocol error: ", status.message());
      input->RetrieveAll();
      conn->ForceCloseInLoop();
    }
  }

  // A server's DEADLINE_EXCEEDED or UNAVAILABLE says how long the server
  // held the call, when the response carries it.
  static absl::Status WithServerTime(const absl::Status& status,
                                     const Metadata& metadata) {
    if (status.code() != absl::StatusCode::kDeadlineExceeded &&
        status.code() != absl::StatusCode::kUnavailable) {
      return status;
    }
    absl::optional<absl::string_view> us = FindMetadata(metadata, kServerTimeKey);
    if (!us.has_value()) return status;
    return absl::Status(status.code(),
                        absl::StrCat(status.message(), " (the server held the call ",
                                     *us, " us)"));
  }

  void OnResponse(RpcMeta& meta, absl::string_view payload) {
    auto node = pending_.extract(meta.correlation_id());
    if (node.empty()) {
      // Its deadline fired or it was cancelled: drop it quietly.
      late_responses_.fetch_add(1, std::memory_order_relaxed);
      VLOG(1) << "late response " << meta.correlation_id() << " from "
              << target_;
      return;
    }
    Pending& call = node.mapped();
    absl::Status status;
    if (meta.status_code() != 0) status = StatusFromMeta(meta);
    Metadata metadata;
    if (meta.metadata_size() > 0) {
      absl::Status fits = CheckMetadata(meta, options_.max_metadata_bytes,
                                        options_.max_metadata_entries);
      if (!fits.ok()) {
        Complete(call,
                 absl::Status(fits.code(), absl::StrCat("response metadata: ",
                                                        fits.message())));
        return;
      }
      metadata = TakeMetadata(&meta);
      status = WithServerTime(status, metadata);
    }
    const ScopedLogPeer log_peer(target_);  // For protobuf's parse errors.
    if (status.ok() &&
        !call.response->ParseFromArray(payload.data(),
                                       static_cast<int>(payload.size()))) {
      status = absl::InternalError(absl::StrCat("cannot parse the response as ",
                                                call.response->GetTypeName()));
    }
    Complete(call, status, std::move(metadata));
  }

  // A response over max_frame_size: its call fails, its bytes are skipped
  // as they arrive, and the connection and the other calls go on.
  void OnOversizedResponse(uint64_t id, uint32_t body_size) {
    oversized_responses_.fetch_add(1, std::memory_order_relaxed);
    auto node = pending_.extract(id);
    if (node.empty()) return;  // Late: nobody waits for it.
    Complete(node.mapped(),
             absl::ResourceExhaustedError(absl::StrCat(
                 "the response of ", body_size,
                 " bytes is over the channel's limit of ",
                 options_.max_frame_size, " bytes (max_frame_size)")));
  }

  void OnDeadline(uint64_t id) {
    auto node = pending_.extract(id);
    if (node.empty()) return;
    Pending& call = node.mapped();
    call.deadline_timer = TimerId();
    if (call.sent()) SendControl(CANCEL, id);  // Let the server stop working.
    deadline_exceeded_.fetch_add(1, std::memory_order_relaxed);
    absl::Status status = absl::DeadlineExceededError(absl::StrCat(
        "deadline of ",
        absl::FormatDuration(absl::Trunc(call.timeout, absl::Milliseconds(1))),
        " exceeded: ", WhereTimeWent(call)));
    Complete(call, status);
  }

  void Cancel(uint64_t id) {
    auto node = pending_.extract(id);
    if (node.empty()) return;
    Pending& call = node.mapped();
    if (call.sent()) SendControl(CANCEL, id);
    Complete(call, absl::CancelledError("cancelled by the caller"));
  }

  void CheckHeartbeat() {
    if (conn_ == nullptr || !conn_->connected()) return;
    const int64_t now = MonotonicMillis();
    const int64_t silent_ms = now - last_inbound_ms_;
    if (silent_ms >= absl::ToInt64Milliseconds(options_.heartbeat_timeout)) {
      heartbeat_timeouts_.fetch_add(1, std::memory_order_relaxed);
      MRPC_PEER_LOG(WARNING, "channel heartbeat timeout", target_)
          << "server " << target_ << " silent for " << silent_ms
          << " ms (heartbeat timeout "
          << absl::FormatDuration(options_.heartbeat_timeout)
          << "); closing and reconnecting";
      close_reason_ =
          absl::StrCat("no bytes for ", silent_ms, " ms: heartbeat timeout");
      conn_->ForceCloseInLoop();
      return;
    }
    const int64_t interval_ms =
        absl::ToInt64Milliseconds(options_.heartbeat_interval);
    if (silent_ms >= interval_ms && now - last_ping_ms_ >= interval_ms) {
      last_ping_ms_ = now;
      pings_.fetch_add(1, std::memory_order_relaxed);
      SendControl(PING, next_id_++);
    }
  }

  EventLoop* const loop_;
  const InetAddress server_;
  const std::string target_;
  const ChannelOptions options_;

  // Loop-owned.
  std::unique_ptr<TcpClient> client_;
  TcpConnectionPtr conn_;
  State state_ = State::kConnecting;
  absl::Status last_error_;
  std::string close_reason_;  // Why we closed the connection ourselves.
  uint64_t next_id_ = 1;
  RpcMeta response_meta_;  // Decoding scratch for OnMessage.
  FrameSkip skip_;         // An oversized response's bytes still to skip.
  Metadata metadata_scratch_;  // Building a request's metadata.
  absl::node_hash_set<std::string> names_;  // Interned service/method names.
  absl::string_view last_service_;  // Intern()'s cache: into names_.
  absl::string_view last_method_;
  absl::flat_hash_map<uint64_t, Pending> pending_;
  std::vector<SoonFailure> soon_;
  TimerId heartbeat_timer_;
  int64_t last_inbound_ms_ = 0;
  int64_t last_ping_ms_ = 0;

  Mutex post_mutex_;
  bool loop_alive_ ABSL_GUARDED_BY(post_mutex_) = true;

  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> deadline_exceeded_{0};
  std::atomic<uint64_t> late_responses_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> connection_losses_{0};
  std::atomic<uint64_t> heartbeat_timeouts_{0};
  std::atomic<uint64_t> pings_{0};
  std::atomic<uint64_t> protocol_errors_{0};
  std::atomic<uint64_t> oversized_responses_{0};
};

absl::StatusOr<std::unique_ptr<Channel>> Channel::Create(
    absl::string_view target, ChannelOptions options) {
  absl::StatusOr<InetAddress> server = InetAddress::Resolve(target);
  if (!server.ok()) return server.status();
  InstallProtobufLogHandler();  // Before any response is parsed.
  if (options.heartbeat_interval > absl::ZeroDuration() &&
      options.heartbeat_timeout <= options.heartbeat_interval) {
    return absl::InvalidArgumentError(
        "heartbeat_timeout must be longer than heartbeat_interval");
  }
  // Started here, not in the constructor, so that failing (out of fds)
  // is a Status.
  std::unique_ptr<EventLoopThread> own_loop;
  if (options.loop == nullptr) {
    own_loop = std::make_unique<EventLoopThread>("mrpc-channel");
    absl::StatusOr<EventLoop*> loop = own_loop->Start();
    if (!loop.ok()) return loop.status();
    options.loop = *loop;
  }
  auto channel = std::unique_ptr<Channel>(
      new Channel(*server, std::string(target), std::move(options)));
  channel->own_loop_ = std::move(own_loop);
  return channel;
}

Channel::Channel(const InetAddress& server, std::string target,
                 ChannelOptions options)
    : server_(server) {
  loop_ = options.loop;
  core_ = std::make_shared<Core>(loop_, server, std::move(target),
                                 std::move(options));
  std::shared_ptr<Core> core = core_;
  RunInLoopAndWait(loop_, [core] { core->Start(); });
}

Channel::~Channel() {
  std::shared_ptr<Core> core = core_;
  RunInLoopAndWait(loop_, [core] { core->Teardown(); });
  core->MarkLoopGone();
  if (own_loop_ != nullptr) {
    CHECK(!loop_->IsInLoopThread())
        << "a Channel that owns its loop was destroyed on that loop (from its "
           "own callback)";
    own_loop_->Stop();
  }
}

void Channel::CallMethod(absl::string_view service, absl::string_view method,
                         const google::protobuf::Message& request,
                         google::protobuf::Message* response,
                         ClientContext* context, RpcCallback done) {
  Call(service, method, /*lasting=*/false, request, response, context,
       std::move(done));
}

void Channel::CallMethod(const MethodName& name,
                         const google::protobuf::Message& request,
                         google::protobuf::Message* response,
                         ClientContext* context, RpcCallback done) {
  Call(name.service, name.method, /*lasting=*/true, request, response, context,
       std::move(done));
}

void Channel::Call(absl::string_view service, absl::string_view method,
                   bool lasting, const google::protobuf::Message& request,
                   google::protobuf::Message* response, ClientContext* context,
                   RpcCallback done) {
  if (loop_->IsInLoopThread()) {
    Core::Request on_loop;
    on_loop.message = &request;  // Valid for this synchronous call.
    core_->StartCall(service, method, lasting, std::move(on_loop), response,
                     context, std::move(done));
    return;
  }
  Core::Request serialized;
  request.SerializeToString(&serialized.bytes);
  std::weak_ptr<Core> weak = core_;
  if (lasting) {  // The views stay valid: no copies.
    core_->Post([weak, service, method, serialized = std::move(serialized),
                 response, context, done = std::move(done)]() mutable {
      if (auto core = weak.lock()) {
        core->StartCall(service, method, /*lasting=*/true,
                        std::move(serialized), response, context,
                        std::move(done));
      }
    });
    return;
  }
  core_->Post([weak, service = std::string(service),
               method = std::string(method), serialized = std::move(serialized),
               response, context, done = std::move(done)]() mutable {
    if (auto core = weak.lock()) {
      core->StartCall(service, method, /*lasting=*/false, std::move(serialized),
                      response, context, std::move(done));
    }
  });
}

absl::Status Channel::CallMethodBlocking(
    absl::string_view service, absl::string_view method,
    const google::protobuf::Message& request,
    google::protobuf::Message* response, ClientContext* context) {
  return CallAndWait(service, method, /*lasting=*/false, request, response,
                     context);
}

absl::Status Channel::CallMethodBlocking(
    const MethodName& name, const google::protobuf::Message& request,
    google::protobuf::Message* response, ClientContext* context) {
  return CallAndWait(name.service, name.method, /*lasting=*/true, request,
                     response, context);
}

absl::Status Channel::CallAndWait(absl::string_view service,
                                  absl::string_view method, bool lasting,
                                  const google::protobuf::Message& request,
                                  google::protobuf::Message* response,
                                  ClientContext* context) {
  if (loop_->IsInLoopThread()) {
    return absl::FailedPreconditionError(
        "blocking call on the channel's own loop thread would deadlock; "
        "use the asynchronous form");
  }
  Notification done;
  absl::Status result;
  Call(service, method, lasting, request, response, context,
       [&](absl::Status status) {
         result = std::move(status);
         done.Notify();
       });
  done.WaitForNotification();
  return result;
}

bool Channel::connected() const { return core_->connected(); }

ChannelStats Channel::stats() const { return core_->stats(); }

}  // namespace mrpc
