#include "rpc/server.h"

#include <glog/logging.h>
#include <google/protobuf/arena.h>

#include <exception>
#include <utility>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/tcp_server.h"
#include "rpc/service.h"
#include "rpc/thread_pool.h"

namespace mrpc {

struct Server::Method {
  std::string service;
  std::string name;
  const google::protobuf::Message* request_prototype;
  const google::protobuf::Message* response_prototype;
  MethodHandler handler;
  MethodOptions options;
};

// State shared with calls, which may outlive the server (a handler can hold
// `done` after shutdown). The method table lives here too: a call's context
// refers to its method's names.
struct Server::Shared {
  // service -> method -> handler; written before Start(), read-only after.
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Method>>
      methods;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> responses{0};
  std::atomic<uint64_t> protocol_errors{0};
  std::atomic<uint64_t> unimplemented{0};
  std::atomic<uint64_t> deadline_exceeded{0};
  std::atomic<uint64_t> overloaded{0};
  std::atomic<uint64_t> cancels{0};
  std::atomic<uint64_t> pings{0};
  std::atomic<uint64_t> frame_timeouts{0};
  Mutex mutex;
  CondVar idle;

  void CallEnded() {
    if (in_flight.fetch_sub(1) == 1 && draining.load()) {
      MutexLock lock(&mutex);
      idle.SignalAll();
    }
  }
  // Waits until no call is in flight or `grace` passes; true if idle.
  bool WaitIdle(absl::Duration grace) {
    const absl::Time deadline = absl::Now() + grace;
    MutexLock lock(&mutex);
    while (in_flight.load() > 0) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      idle.WaitWithTimeout(&mutex, left);
    }
    return true;
  }
};

// A handle on one loop that outlives it: responses finished on other threads
// are posted through it, and once the server stops the loop it drops them.
struct Server::LoopRef {
  explicit LoopRef(EventLoop* l) : loop(l) {}
  // Runs `task` on the loop (inline when already there); false if the loop
  // is gone and `task` was dropped.
  bool Run(Functor task) {
    {
      MutexLock lock(&mutex);
      if (loop == nullptr) return false;
      if (!loop->IsInLoopThread()) {
        loop->QueueInLoop(std::move(task));
        return true;
      }
    }
    task();  // On the loop's own thread: it cannot go away under us.
    return true;
  }
  void Invalidate() {
    MutexLock lock(&mutex);
    loop = nullptr;
  }

  Mutex mutex;
  EventLoop* loop ABSL_GUARDED_BY(mutex);
};

// Per-connection server state, in the connection's context slot; loop only.
struct Server::ConnectionState {
  // Spare request/response messages of one method, cleared, so the next
  // call reuses their memory (strings keep their capacity): in steady state
  // a call allocates no message.
  class MessagePool {
   public:
    static constexpr size_t kMaxPooled = 64;  // Per kind.

    std::unique_ptr<google::protobuf::Message> Take(
        const google::protobuf::Message* prototype, bool request) {
      auto& spare = request ? requests_ : responses_;
      if (spare.empty()) {
        return std::unique_ptr<google::protobuf::Message>(prototype->New());
      }
      std::unique_ptr<google::protobuf::Message> message =
          std::move(spare.back());
      spare.pop_back();
      return message;
    }
    void Return(bool request,
                std::unique_ptr<google::protobuf::Message> message) {
      auto& spare = request ? requests_ : responses_;
      if (message == nullptr || spare.size() >= kMaxPooled) return;
      message->Clear();
      spare.push_back(std::move(message));
    }

   private:
    std::vector<std::unique_ptr<google::protobuf::Message>> requests_;
    std::vector<std::unique_ptr<google::protobuf::Message>> responses_;
  };

  // The pool of `method`'s messages; its address is stable.
  MessagePool* PoolFor(const Method* method) { return &pools[method]; }

  std::shared_ptr<LoopRef> loop_ref;
  RpcMeta meta;  // Decoding scratch, reused frame after frame.
  // When the frame now partly buffered began to arrive (0: none is).
  int64_t partial_since_ms = 0;
  // The method the previous request named: consecutive calls to the same
  // method (the common case) compare two strings instead of hashing them.
  const Method* last_method = nullptr;
  absl::node_hash_map<const Method*, MessagePool> pools;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Call>> calls;
  bool paused = false;  // Reading stopped: responses backed up.
};

// One call being served. Shared-owned (by the connection's table and by the
// `done` callback), so a stray second `done` finds a live object.
class Server::Call : public std::enable_shared_from_this<Call> {
 public:
  Call(const Method* method, const RpcMeta& meta, const TcpConnectionPtr& conn,
       std::shared_ptr<ConnectionState> state, std::shared_ptr<Shared> shared,
       absl::Time deadline)
      :  // The names live in the method table (held by `shared`), not in
         // `meta`: that is the connection's scratch, reused by the next frame.
        ctx_(method->service, method->name, conn->peer_address(), deadline,
             conn->loop()),
        method_(method),
        pool_(state->PoolFor(method)),
        request_(pool_->Take(method->request_prototype, /*request=*/true)),
        response_(pool_->Take(method->response_prototype, /*request=*/false)),
        conn_(conn),
        state_(std::move(state)),
        shared_(std::move(shared)),
        id_(meta.correlation_id()) {
    shared_->in_flight.fetch_add(1);
  }
  ~Call() {
    LOG_IF(ERROR, !finished_.load())
        << "call " << ctx_.service() << "." << ctx_.method() << " from "
        << ctx_.peer().ToString() << " was dropped without calling done";
    shared_->CallEnded();
  }

  ServerContext* context() { return &ctx_; }

  bool ParseRequest(absl::string_view payload) {
    return request_->ParseFromArray(payload.data(),
                                    static_cast<int>(payload.size()));
  }
  std::string request_type() const { return request_->GetTypeName(); }
  // The call was answered without running (e.g. its request did not parse).
  void MarkAnswered() { finished_ = true; }

  // Runs the handler (on the loop, or on a worker), unless the call is
  // already cancelled or past its deadline.
  void Run() {
    // Deadline first: a client whose deadline passed also sends CANCEL, and
    // DEADLINE_EXCEEDED is the truer answer.
    if (ctx_.deadline() <= absl::Now()) {
      shared_->deadline_exceeded.fetch_add(1);
      Finish(absl::DeadlineExceededError(
          "the deadline passed before the handler ran"));
      return;
    }
    if (ctx_.IsCancelled()) {
      Finish(absl::CancelledError(
          "the call was cancelled before its handler ran"));
      return;
    }
    try {
      method_->handler(&ctx_, *request_, response_.get(),
                       [self = shared_from_this()](absl::Status status) {
                         self->Finish(std::move(status));
                       });
    } catch (const std::exception& e) {
      LOG(ERROR) << "handler " << ctx_.service() << "." << ctx_.method()
                 << " threw: " << e.what();
      if (!finished_.load())
        Finish(absl::InternalError("the handler threw an exception"));
    } catch (...) {
      LOG(ERROR) << "handler " << ctx_.service() << "." << ctx_.method()
                 << " threw";
      if (!finished_.load())
        Finish(absl::InternalError("the handler threw an exception"));
    }
  }

  // The handler's `done`: any thread, once.
  void Finish(absl::Status status) {
    if (finished_.exchange(true)) {
      LOG(ERROR) << "done called twice for " << ctx_.service() << "."
                 << ctx_.method() << "; ignoring the second status: " << status;
      return;
    }
    status_ = std::move(status);
    // Off the loop, the response goes back to it; if the server has stopped
    // that loop, nobody is left to answer.
    state_->loop_ref->Run([self = shared_from_this()] { self->Respond(); });
  }

 private:
  // On the loop: send the response and retire the call.
  void Respond() {
    if (conn_->connected()) {
      RpcMeta meta;
      meta.set_type(RESPONSE);
      meta.set_correlation_id(id_);
      if (!status_.ok()) {
        meta.set_status_code(static_cast<int>(status_.code()));
        meta.set_status_message(std::string(status_.message()));
      }
      conn_->SendInPlace([&](Buffer* out) {
        EncodeFrame(meta, status_.ok() ? response_.get() : nullptr, out);
      });
      shared_->responses.fetch_add(1);
    }
    // `done` has been called: the handler is finished with the messages.
    pool_->Return(/*request=*/true, std::move(request_));
    pool_->Return(/*request=*/false, std::move(response_));
    auto it = state_->calls.find(id_);
    if (it != state_->calls.end() && it->second.get() == this)
      state_->calls.erase(it);
    if (state_->calls.empty()) conn_->SetBusy(false);
  }

  ServerContext ctx_;
  const Method* const method_;
  // The connection's pool of this method's messages (the connection state,
  // which owns it, outlives the call: state_ below).
  ConnectionState::MessagePool* const pool_;
  // From the pool; returned to it (cleared) after responding.
  std::unique_ptr<google::protobuf::Message> request_;
  std::unique_ptr<google::protobuf::Message> response_;
  const TcpConnectionPtr conn_;
  const std::shared_ptr<ConnectionState> state_;
  const std::shared_ptr<Shared> shared_;
  const uint64_t id_;
  std::atomic<bool> finished_{false};
  absl::Status status_;  // Written by Finish, read by Respond (after a hop).
};

namespace {

// Answers a request with `status` and no payload, on the loop.
void SendStatus(const TcpConnectionPtr& conn, uint64_t id,
                const absl::Status& status) {
  RpcMeta meta;
  meta.set_type(RESPONSE);
  meta.set_correlation_id(id);
  meta.set_status_code(static_cast<int>(status.code()));
  meta.set_status_message(std::string(status.message()));
  conn->SendInPlace([&](Buffer* out) { EncodeFrame(meta, nullptr, out); });
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {}

Server::~Server() {
  {
    MutexLock lock(&mutex_);
    CHECK(!started_ || shutdown_requested_)
        << "Server destroyed while running; call Shutdown() and Wait() first";
  }
  Wait();
}

absl::Status Server::RegisterMethod(
    absl::string_view service, absl::string_view method,
    const google::protobuf::Message& request_prototype,
    const google::protobuf::Message& response_prototype, MethodHandler handler,
    MethodOptions options) {
  {
    MutexLock lock(&mutex_);
    if (started_) {
      return absl::FailedPreconditionError("RegisterMethod after Start");
    }
  }
  if (service.empty() || method.empty() || !handler) {
    return absl::InvalidArgumentError(
        "service, method and handler are required");
  }
  auto& methods = shared_->methods[service];
  if (methods.contains(method)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "method ", service, ".", method, " is already registered"));
  }
  methods.emplace(method, Method{std::string(service), std::string(method),
                                 &request_prototype, &response_prototype,
                                 std::move(handler), options});
  needs_worker_pool_ |= options.use_worker_pool;
  return absl::OkStatus();
}

absl::Status Server::RegisterService(ServiceBase* service) {
  return service->RegisterMethods(this);
}

absl::Status Server::Start(absl::string_view address) {
  MutexLock lock(&mutex_);
  if (started_) return absl::FailedPreconditionError("Server already started");
  if (options_.max_frame_size == 0 ||
      options_.max_frame_size > (size_t{1} << 31)) {
    return absl::InvalidArgumentError("max_frame_size must be in (0, 2 GiB]");
  }
  if (needs_worker_pool_ && options_.worker_threads < 1) {
    return absl::InvalidArgumentError(
        "a method uses the worker pool; worker_threads < 1");
  }
  absl::StatusOr<InetAddress> listen = InetAddress::Parse(address);
  if (!listen.ok()) return listen.status();

  if (needs_worker_pool_) {
    workers_ = std::make_unique<ThreadPool>(
        "mrpc-worker", options_.worker_threads, options_.worker_queue_limit);
  }
  acceptor_thread_ = std::make_unique<EventLoopThread>("mrpc-accept");
  absl::StatusOr<EventLoop*> acceptor_loop = acceptor_thread_->Start();
  if (!acceptor_loop.ok()) {
    acceptor_thread_.reset();
    workers_.reset();
    return acceptor_loop.status();
  }
  TcpServerOptions tcp;
  tcp.name = "mrpc-io";
  tcp.num_threads = options_.num_threads;
  tcp.acceptor.reuse_port = options_.reuse_port;
  tcp.acceptor.backlog = options_.backlog;
  tcp.max_connections = options_.max_connections;
  tcp.connection.high_water_mark = options_.output_high_water_mark;
  tcp.connection.max_output_bytes = options_.max_output_bytes;
  tcp.connection.idle_timeout = options_.idle_timeout;
  tcp.connection.edge_triggered = options_.edge_triggered;
  tcp_server_ = std::make_unique<TcpServer>(*acceptor_loop, *listen, tcp);
  tcp_server_->SetConnectionCallback(
      [this](const TcpConnectionPtr& conn) { OnConnection(conn); });
  tcp_server_->SetMessageCallback(
      [this](const TcpConnectionPtr& conn, Buffer* input) {
        OnMessage(conn, input);
      });
  tcp_server_->SetHighWaterMarkCallback(
      [](const TcpConnectionPtr& conn, size_t bytes) {
        auto* state =
            std::any_cast<std::shared_ptr<ConnectionState>>(&conn->context());
        if (state == nullptr || (*state)->paused) return;
        LOG(WARNING) << "client " << conn->peer_address().ToString()
                     << " is not reading its responses (" << bytes
                     << " bytes buffered); pausing its requests";
        (*state)->paused = true;
        conn->StopRead();
      });
  tcp_server_->SetWriteCompleteCallback([](const TcpConnectionPtr& conn) {
    auto* state =
        std::any_cast<std::shared_ptr<ConnectionState>>(&conn->context());
    if (state == nullptr || !(*state)->paused) return;
    (*state)->paused = false;
    // Our pause must not count against a frame that was arriving.
    (*state)->partial_since_ms = 0;
    conn->StartRead();
  });
  absl::Status status = tcp_server_->Start();
  if (!status.ok()) {
    tcp_server_.reset();
    acceptor_thread_.reset();
    workers_.reset();
    return status;
  }
  listen_address_ = tcp_server_->listen_address();
  started_ = true;
  return absl::OkStatus();
}

std::shared_ptr<Server::LoopRef> Server::LoopRefFor(EventLoop* loop) {
  MutexLock lock(&mutex_);
  std::shared_ptr<LoopRef>& ref = loop_refs_[loop];
  if (ref == nullptr) {
    ref = std::make_shared<LoopRef>(loop);
    if (shutdown_requested_) ref->Invalidate();
  }
  return ref;
}

void Server::OnConnection(const TcpConnectionPtr& conn) {
  if (conn->connected()) {
    auto state = std::make_shared<ConnectionState>();
    state->loop_ref = LoopRefFor(conn->loop());
    conn->context() = std::move(state);
    return;
  }
  auto* state =
      std::any_cast<std::shared_ptr<ConnectionState>>(&conn->context());
  if (state == nullptr) return;
  // Nobody will receive these responses: let the handlers know.
  for (auto& [id, call] : (*state)->calls) call->context()->MarkCancelled();
  (*state)->calls.clear();
}

void Server::OnMessage(const TcpConnectionPtr& conn, Buffer* input) {
  auto* state_ptr =
      std::any_cast<std::shared_ptr<ConnectionState>>(&conn->context());
  if (state_ptr == nullptr) {
    input->RetrieveAll();
    return;
  }
  const std::shared_ptr<ConnectionState> state = *state_ptr;
  const absl::Time now = absl::Now();  // One clock read per batch of frames.
  absl::Status frame_error;
  int frames = 0;
  absl::Status status =
      DecodeFrames(input, options_.max_frame_size, &state->meta,
                   [&](const RpcMeta& meta, absl::string_view payload) {
                     ++frames;
                     switch (meta.type()) {
                       case REQUEST:
                         HandleRequest(conn, state, meta, payload, now);
                         break;
                       case PING: {
                         shared_->pings.fetch_add(1);
                         RpcMeta pong;
                         pong.set_type(PONG);
                         pong.set_correlation_id(meta.correlation_id());
                         conn->SendInPlace([&](Buffer* out) {
                           EncodeFrame(pong, nullptr, out);
                         });
                         break;
                       }
                       case CANCEL: {
                         shared_->cancels.fetch_add(1);
                         auto it = state->calls.find(meta.correlation_id());
                         if (it != state->calls.end())
                           it->second->context()->MarkCancelled();
                         break;
                       }
                       case PONG:
                         break;
                       default:
                         frame_error = absl::InvalidArgumentError(absl::StrCat(
                             "unexpected ", FrameType_Name(meta.type()),
                             " frame from a client"));
                         return false;
                     }
                     return conn->connected();
                   });
  if (status.ok()) status = frame_error;
  if (!status.ok()) {
    shared_->protocol_errors.fetch_add(1);
    LOG(WARNING) << "protocol error from " << conn->peer_address().ToString()
                 << ": " << status.message() << "; closing the connection";
    input->RetrieveAll();
    conn->ForceCloseInLoop();
    return;
  }
  CheckFrameTimeout(conn, state.get(), input, frames > 0);
}

void Server::CheckFrameTimeout(const TcpConnectionPtr& conn,
                               ConnectionState* state, Buffer* input,
                               bool frame_completed) {
  if (input->ReadableBytes() == 0 || !conn->connected()) {
    state->partial_since_ms = 0;
    return;
  }
  // A partial frame is buffered. It began now if this batch completed the
  // previous one (or none was pending), else it is the same frame, still
  // arriving.
  const int64_t now_ms = conn->loop()->CachedNowMs();
  if (frame_completed || state->partial_since_ms == 0) {
    state->partial_since_ms = now_ms;
    return;
  }
  const int64_t limit_ms = absl::ToInt64Milliseconds(options_.frame_timeout);
  if (limit_ms > 0 && now_ms - state->partial_since_ms > limit_ms) {
    shared_->frame_timeouts.fetch_add(1);
    LOG(WARNING) << "client " << conn->peer_address().ToString()
                 << ": a frame still "
                 << "incomplete after " << now_ms - state->partial_since_ms
                 << " ms (frame timeout " << limit_ms << " ms; "
                 << input->ReadableBytes()
                 << " bytes so far); closing the connection";
    input->RetrieveAll();
    conn->ForceCloseInLoop();
  }
}

void Server::HandleRequest(const TcpConnectionPtr& conn,
                           const std::shared_ptr<ConnectionState>& state,
                           const RpcMeta& meta, absl::string_view payload,
                           absl::Time now) {
  shared_->requests.fetch_add(1);
  const uint64_t id = meta.correlation_id();
  if (shared_->draining.load(std::memory_order_relaxed)) {
    SendStatus(conn, id, absl::UnavailableError("the server is shutting down"));
    return;
  }
  const Method* cached = state->last_method;
  if (cached == nullptr || meta.method() != cached->name ||
      meta.service() != cached->service) {
    cached = FindMethod(conn, meta);
    if (cached == nullptr) return;  // Answered UNIMPLEMENTED.
    state->last_method = cached;
  }
  const Method& m = *cached;
  if (state->calls.contains(id)) {
    SendStatus(conn, id,
               absl::InvalidArgumentError(absl::StrCat(
                   "correlation id ", id, " is already in flight")));
    return;
  }
  HandleCall(conn, state, m, meta, payload, now);
}

const Server::Method* Server::FindMethod(const TcpConnectionPtr& conn,
                                         const RpcMeta& meta) {
  const uint64_t id = meta.correlation_id();
  auto service = shared_->methods.find(meta.service());
  if (service == shared_->methods.end()) {
    shared_->unimplemented.fetch_add(1);
    SendStatus(
        conn, id,
        absl::UnimplementedError(absl::StrCat(
            "unknown service \"", absl::CHexEscape(meta.service()), "\"")));
    return nullptr;
  }
  auto method = service->second.find(meta.method());
  if (method == service->second.end()) {
    shared_->unimplemented.fetch_add(1);
    SendStatus(
        conn, id,
        absl::UnimplementedError(absl::StrCat(
            "unknown method \"", absl::CHexEscape(meta.method()),
            "\" of service \"", absl::CHexEscape(meta.service()), "\"")));
    return nullptr;
  }
  return &method->second;
}

void Server::HandleCall(const TcpConnectionPtr& conn,
                        const std::shared_ptr<ConnectionState>& state,
                        const Method& m, const RpcMeta& meta,
                        absl::string_view payload, absl::Time now) {
  const uint64_t id = meta.correlation_id();
  const absl::Time deadline = meta.timeout_us() > 0
                                  ? now + absl::Microseconds(meta.timeout_us())
                                  : absl::InfiniteFuture();
  auto call = std::make_shared<Call>(&m, meta, conn, state, shared_, deadline);
  if (!call->ParseRequest(payload)) {
    call->MarkAnswered();
    SendStatus(conn, id,
               absl::InvalidArgumentError(absl::StrCat(
                   "cannot parse the request as ", call->request_type())));
    return;
  }
  state->calls.emplace(id, call);
  if (state->calls.size() == 1) conn->SetBusy(true);
  if (!m.options.use_worker_pool) {
    call->Run();
    return;
  }
  if (!workers_->TrySchedule([call] { call->Run(); })) {
    shared_->overloaded.fetch_add(1);
    call->Finish(absl::ResourceExhaustedError(
        absl::StrCat("the worker pool is full (", workers_->queue_size(),
                     " calls waiting)")));
  }
}

void Server::Shutdown() {
  MutexLock lock(&mutex_);
  if (!started_ || shutdown_requested_) return;
  shutdown_requested_ = true;
  // Synchronously: once Shutdown() returns, the port is closed and new
  // requests are refused. Only the wait for calls in flight runs behind.
  LOG(INFO) << "server on " << listen_address_.ToString() << " shutting down";
  shared_->draining = true;
  tcp_server_->StopAccepting();
  drain_thread_ = std::thread([this] { Drain(); });
}

void Server::Drain() {
  if (!shared_->WaitIdle(options_.shutdown_grace)) {
    LOG(WARNING) << shared_->in_flight.load() << " call(s) still running after "
                 << absl::FormatDuration(options_.shutdown_grace)
                 << "; closing their connections";
  }
  {
    MutexLock lock(&mutex_);
    for (auto& [loop, ref] : loop_refs_) ref->Invalidate();
  }
  tcp_server_->Stop();  // Closes connections: their calls are cancelled.
  workers_.reset();     // Queued calls see the cancellation and end.
  acceptor_thread_.reset();
  MutexLock lock(&mutex_);
  down_ = true;
  state_changed_.SignalAll();
  LOG(INFO) << "server on " << listen_address_.ToString() << " is down";
}

void Server::Wait() {
  {
    MutexLock lock(&mutex_);
    if (!started_) return;
    while (!down_) state_changed_.Wait(&mutex_);
  }
  MutexLock lock(&join_mutex_);
  if (drain_thread_.joinable()) drain_thread_.join();
}

ServerStats Server::stats() const {
  ServerStats s;
  s.requests = shared_->requests.load();
  s.responses = shared_->responses.load();
  s.protocol_errors = shared_->protocol_errors.load();
  s.unimplemented = shared_->unimplemented.load();
  s.deadline_exceeded = shared_->deadline_exceeded.load();
  s.overloaded = shared_->overloaded.load();
  s.cancels = shared_->cancels.load();
  s.pings = shared_->pings.load();
  s.frame_timeouts = shared_->frame_timeouts.load();
  if (tcp_server_) {
    using Reason = TcpConnection::CloseReason;
    s.connections_accepted = tcp_server_->accepted();
    s.idle_closes = tcp_server_->closes(Reason::kIdleTimeout);
    s.overflow_closes = tcp_server_->closes(Reason::kOutputOverflow);
    s.error_closes = tcp_server_->closes(Reason::kError);
    s.rejected_over_cap = tcp_server_->rejected_over_cap();
    s.fd_exhaustion_drops = tcp_server_->fd_exhaustion_drops();
  }
  s.calls_in_flight = shared_->in_flight.load();
  s.connections = tcp_server_ ? tcp_server_->num_connections() : 0;
  return s;
}

}  // namespace mrpc
