#include "rpc/channel.h"

#include <glog/logging.h>

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/tcp_client.h"

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
  void StartCall(absl::string_view service, absl::string_view method,
                 Request request, google::protobuf::Message* response,
                 ClientContext* context, RpcCallback done) {
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
    const uint64_t id = next_id_++;
    // One meta, reused call after call: its strings keep their memory.
    RpcMeta& meta = request_meta_;
    meta.set_type(REQUEST);
    meta.set_correlation_id(id);
    meta.set_service(service.data(), service.size());
    meta.set_method(method.data(), method.size());
    meta.set_timeout_us(
        timeout == absl::InfiniteDuration()
            ? 0
            : std::max<int64_t>(1, absl::ToInt64Microseconds(timeout)));
    Pending& call = pending_[id];
    call.response = response;
    call.done = std::move(done);
    call.context = context;
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
      Send(meta, request);
      call.sent = true;
    } else {  // Connecting: encode now, send when the connection is up.
      Buffer frame;
      if (request.message != nullptr) {
        EncodeFrame(meta, request.message, &frame);
      } else {
        EncodeFrame(meta, request.bytes, &frame);
      }
      call.unsent_frame = frame.RetrieveAllAsString();
    }
  }

  // Loop only: completes every call with CANCELLED and lets go of the
  // connection. No callback runs after this returns.
  void Teardown() {
    loop_->AssertInLoopThread();
    state_ = State::kShutdown;
    loop_->Cancel(heartbeat_timer_);
    FlushSoonFailures();
    FailAll(absl::CancelledError("the channel was destroyed"));
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
    return s;
  }

 private:
  enum class State { kConnecting, kReady, kTransientFailure, kShutdown };

  struct Pending {
    google::protobuf::Message* response = nullptr;
    RpcCallback done;
    ClientContext* context = nullptr;
    TimerId deadline_timer;
    bool sent = false;
    std::string unsent_frame;  // While connecting.
  };

  struct SoonFailure {
    ClientContext* context;
    RpcCallback done;
    absl::Status status;
  };

  void Send(const RpcMeta& meta, const Request& request) {
    conn_->SendInPlace([&](Buffer* out) {
      if (request.message != nullptr) {
        EncodeFrame(meta, request.message, out);
      } else {
        EncodeFrame(meta, request.bytes, out);
      }
    });
  }

  void SendControl(FrameType type, uint64_t id) {
    if (conn_ == nullptr || !conn_->connected()) return;
    RpcMeta meta;
    meta.set_type(type);
    meta.set_correlation_id(id);
    conn_->SendInPlace([&](Buffer* out) { EncodeFrame(meta, nullptr, out); });
  }

  void Complete(Pending call, const absl::Status& status) {
    loop_->Cancel(call.deadline_timer);
    (status.ok() ? ok_ : failed_).fetch_add(1, std::memory_order_relaxed);
    if (call.context != nullptr)
      call.context->SetOutcome(OwnCopy(status), target_);
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
        f.context->SetOutcome(OwnCopy(f.status), target_);
      f.done(std::move(f.status));
    }
  }

  void FailAll(const absl::Status& status) {
    absl::flat_hash_map<uint64_t, Pending> calls;
    calls.swap(pending_);
    for (auto& [id, call] : calls) Complete(std::move(call), status);
  }

  void FailUnsent(const absl::Status& status) {
    std::vector<uint64_t> unsent;
    for (auto& [id, call] : pending_) {
      if (!call.sent) unsent.push_back(id);
    }
    for (uint64_t id : unsent) {
      auto node = pending_.extract(id);
      Complete(std::move(node.mapped()), status);
    }
  }

  void OnConnection(const TcpConnectionPtr& conn) {
    if (state_ == State::kShutdown) return;
    if (conn->connected()) {
      conn_ = conn;
      connected_ = true;
      connects_.fetch_add(1, std::memory_order_relaxed);
      state_ = State::kReady;
      last_inbound_ms_ = loop_->CachedNowMs();
      last_ping_ms_ = last_inbound_ms_;
      for (auto& [id, call] : pending_) {
        if (call.sent) continue;
        conn_->Send(call.unsent_frame);
        call.unsent_frame.clear();
        call.sent = true;
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
    FailAll(absl::UnavailableError(
        absl::StrCat("connection to ", target_, " lost (", why, ")")));
  }

  void OnConnectError(const absl::Status& status) {
    if (state_ == State::kShutdown || state_ == State::kReady) return;
    last_error_ = status;
    state_ = State::kTransientFailure;
    FailUnsent(absl::UnavailableError(
        absl::StrCat("cannot reach ", target_, ": ", status.message())));
  }

  void OnMessage(const TcpConnectionPtr& conn, Buffer* input) {
    last_inbound_ms_ = loop_->CachedNowMs();
    absl::Status frame_error;
    absl::Status status = DecodeFrames(
        input, options_.max_frame_size, &response_meta_,
        [&](const RpcMeta& meta, absl::string_view payload) {
          switch (meta.type()) {
            case RESPONSE:
              OnResponse(meta, payload);
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
        });
    if (status.ok()) status = frame_error;
    if (!status.ok()) {
      protocol_errors_.fetch_add(1, std::memory_order_relaxed);
      LOG(WARNING) << "protocol error from server " << target_ << ": "
                   << status.message() << "; closing the connection";
      close_reason_ = absl::StrCat("protocol error: ", status.message());
      input->RetrieveAll();
      conn->ForceCloseInLoop();
    }
  }

  void OnResponse(const RpcMeta& meta, absl::string_view payload) {
    auto node = pending_.extract(meta.correlation_id());
    if (node.empty()) {
      // Its deadline fired or it was cancelled: drop it quietly.
      late_responses_.fetch_add(1, std::memory_order_relaxed);
      VLOG(1) << "late response " << meta.correlation_id() << " from "
              << target_;
      return;
    }
    Pending call = std::move(node.mapped());
    absl::Status status;
    if (meta.status_code() != 0) {
      status = absl::Status(static_cast<absl::StatusCode>(meta.status_code()),
                            meta.status_message());
    } else if (!call.response->ParseFromArray(
                   payload.data(), static_cast<int>(payload.size()))) {
      status = absl::InternalError(absl::StrCat("cannot parse the response as ",
                                                call.response->GetTypeName()));
    }
    Complete(std::move(call), status);
  }

  void OnDeadline(uint64_t id) {
    auto node = pending_.extract(id);
    if (node.empty()) return;
    Pending call = std::move(node.mapped());
    call.deadline_timer = TimerId();
    if (call.sent) SendControl(CANCEL, id);  // Let the server stop working.
    deadline_exceeded_.fetch_add(1, std::memory_order_relaxed);
    Complete(std::move(call),
             absl::DeadlineExceededError(absl::StrCat(
                 "no response from ", target_, " before the deadline")));
  }

  void Cancel(uint64_t id) {
    auto node = pending_.extract(id);
    if (node.empty()) return;
    Pending call = std::move(node.mapped());
    if (call.sent) SendControl(CANCEL, id);
    Complete(std::move(call), absl::CancelledError("cancelled by the caller"));
  }

  void CheckHeartbeat() {
    if (conn_ == nullptr || !conn_->connected()) return;
    const int64_t now = MonotonicMillis();
    const int64_t silent_ms = now - last_inbound_ms_;
    if (silent_ms >= absl::ToInt64Milliseconds(options_.heartbeat_timeout)) {
      heartbeat_timeouts_.fetch_add(1, std::memory_order_relaxed);
      LOG(WARNING) << "server " << target_ << " silent for " << silent_ms
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
  RpcMeta request_meta_;   // Encoding scratch for StartCall.
  RpcMeta response_meta_;  // Decoding scratch for OnMessage.
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
};

absl::StatusOr<std::unique_ptr<Channel>> Channel::Create(
    absl::string_view target, ChannelOptions options) {
  absl::StatusOr<InetAddress> server = InetAddress::Resolve(target);
  if (!server.ok()) return server.status();
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
  if (loop_->IsInLoopThread()) {
    Core::Request on_loop;
    on_loop.message = &request;  // Valid for this synchronous call.
    core_->StartCall(service, method, std::move(on_loop), response, context,
                     std::move(done));
    return;
  }
  Core::Request serialized;
  request.SerializeToString(&serialized.bytes);
  std::weak_ptr<Core> weak = core_;
  core_->Post([weak, service = std::string(service),
               method = std::string(method), serialized = std::move(serialized),
               response, context, done = std::move(done)]() mutable {
    if (auto core = weak.lock()) {
      core->StartCall(service, method, std::move(serialized), response, context,
                      std::move(done));
    }
  });
}

absl::Status Channel::CallMethodBlocking(
    absl::string_view service, absl::string_view method,
    const google::protobuf::Message& request,
    google::protobuf::Message* response, ClientContext* context) {
  if (loop_->IsInLoopThread()) {
    return absl::FailedPreconditionError(
        "blocking call on the channel's own loop thread would deadlock; "
        "use the asynchronous form");
  }
  Notification done;
  absl::Status result;
  CallMethod(service, method, request, response, context,
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
