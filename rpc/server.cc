// Server lifecycle and registration. The per-connection protocol is in
// rpc/server_connection.cc, a call's lifetime in rpc/server_call.cc.
#include "rpc/server.h"

#include <glog/logging.h>

#include <any>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/tcp_server.h"
#include "rpc/server_connection.h"
#include "rpc/server_shared.h"
#include "rpc/service.h"
#include "rpc/thread_pool.h"

namespace mrpc {
namespace {

// The connection's ServerConnection, or null before it came up.
ServerConnection* ConnectionOf(const TcpConnectionPtr& conn) {
  auto* state =
      std::any_cast<std::shared_ptr<ServerConnection>>(&conn->context());
  return state == nullptr ? nullptr : state->get();
}

}  // namespace

class Server::Impl {
 public:
  explicit Impl(const ServerOptions& options)
      : shared_(std::make_shared<ServerShared>(options)) {}
  ~Impl() {
    {
      MutexLock lock(&mutex_);
      CHECK(!started_ || shutdown_requested_)
          << "Server destroyed while running; call Shutdown() and Wait() "
             "first";
    }
    Wait();
  }

  absl::Status RegisterMethod(absl::string_view service,
                              absl::string_view method,
                              const google::protobuf::Message& request_prototype,
                              const google::protobuf::Message& response_prototype,
                              MethodHandler handler, MethodOptions options) {
    absl::Status status = CheckNotStarted("RegisterMethod");
    if (!status.ok()) return status;
    if (service.empty() || method.empty() || !handler) {
      return absl::InvalidArgumentError(
          "service, method and handler are required");
    }
    auto& methods = shared_->methods[service];
    if (methods.contains(method)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "method ", service, ".", method, " is already registered"));
    }
    methods.emplace(method, ServerMethod{std::string(service),
                                         std::string(method),
                                         &request_prototype,
                                         &response_prototype,
                                         std::move(handler), options,
                                         num_methods_++});
    needs_worker_pool_ |= options.use_worker_pool;
    return absl::OkStatus();
  }

  absl::Status AddInterceptor(std::unique_ptr<ServerInterceptor> interceptor) {
    absl::Status status = CheckNotStarted("AddInterceptor");
    if (!status.ok()) return status;
    if (interceptor == nullptr) {
      return absl::InvalidArgumentError("null interceptor");
    }
    shared_->interceptors.push_back(std::move(interceptor));
    return absl::OkStatus();
  }

  absl::Status Start(absl::string_view address) {
    MutexLock lock(&mutex_);
    if (started_) return absl::FailedPreconditionError("Server already started");
    const ServerOptions& options = shared_->options;
    if (options.max_frame_size == 0 ||
        options.max_frame_size > (size_t{1} << 31)) {
      return absl::InvalidArgumentError("max_frame_size must be in (0, 2 GiB]");
    }
    if (needs_worker_pool_ && options.worker_threads < 1) {
      return absl::InvalidArgumentError(
          "a method uses the worker pool; worker_threads < 1");
    }
    absl::StatusOr<InetAddress> listen = InetAddress::Parse(address);
    if (!listen.ok()) return listen.status();

    if (needs_worker_pool_) {
      workers_ = std::make_unique<ThreadPool>(
          "mrpc-worker", options.worker_threads, options.worker_queue_limit);
      shared_->workers = workers_.get();
    }
    acceptor_thread_ = std::make_unique<EventLoopThread>("mrpc-accept");
    absl::StatusOr<EventLoop*> acceptor_loop = acceptor_thread_->Start();
    if (!acceptor_loop.ok()) {
      acceptor_thread_.reset();
      shared_->workers = nullptr;
      workers_.reset();
      return acceptor_loop.status();
    }
    TcpServerOptions tcp;
    tcp.name = "mrpc-io";
    tcp.num_threads = options.num_threads;
    tcp.acceptor.reuse_port = options.reuse_port;
    tcp.acceptor.backlog = options.backlog;
    tcp.max_connections = options.max_connections;
    tcp.connection.high_water_mark = options.output_high_water_mark;
    tcp.connection.max_output_bytes = options.max_output_bytes;
    tcp.connection.idle_timeout = options.idle_timeout;
    tcp.connection.edge_triggered = options.edge_triggered;
    tcp_server_ = std::make_unique<TcpServer>(*acceptor_loop, *listen, tcp);
    tcp_server_->SetConnectionCallback(
        [this](const TcpConnectionPtr& conn) { OnConnection(conn); });
    tcp_server_->SetMessageCallback(
        [](const TcpConnectionPtr& conn, Buffer* input) {
          ServerConnection* connection = ConnectionOf(conn);
          if (connection == nullptr) {
            input->RetrieveAll();
            return;
          }
          connection->OnMessage(conn, input);
        });
    tcp_server_->SetHighWaterMarkCallback(
        [](const TcpConnectionPtr& conn, size_t bytes) {
          if (ServerConnection* c = ConnectionOf(conn))
            c->OnHighWaterMark(conn, bytes);
        });
    tcp_server_->SetWriteCompleteCallback([](const TcpConnectionPtr& conn) {
      if (ServerConnection* c = ConnectionOf(conn)) c->OnWriteComplete(conn);
    });
    absl::Status status = tcp_server_->Start();
    if (!status.ok()) {
      tcp_server_.reset();
      acceptor_thread_.reset();
      shared_->workers = nullptr;
      workers_.reset();
      return status;
    }
    listen_address_ = tcp_server_->listen_address();
    started_ = true;
    return absl::OkStatus();
  }

  void Shutdown() {
    MutexLock lock(&mutex_);
    if (!started_ || shutdown_requested_) return;
    shutdown_requested_ = true;
    // Synchronously: once Shutdown() returns, the port is closed and new
    // requests are refused. Only the wait for calls in flight runs behind.
    LOG(INFO) << "server on " << listen_address_.ToString()
              << " shutting down";
    shared_->draining = true;
    tcp_server_->StopAccepting();
    drain_thread_ = std::thread([this] { Drain(); });
  }

  void Wait() {
    {
      MutexLock lock(&mutex_);
      if (!started_) return;
      while (!down_) state_changed_.Wait(&mutex_);
    }
    MutexLock lock(&join_mutex_);
    if (drain_thread_.joinable()) drain_thread_.join();
  }

  const InetAddress& listen_address() const { return listen_address_; }

  ServerStats stats() const {
    ServerStats s;
    shared_->AddCounters(&s);
    if (tcp_server_) {
      using Reason = TcpConnection::CloseReason;
      s.connections = tcp_server_->num_connections();
      s.connections_accepted = tcp_server_->accepted();
      s.idle_closes = tcp_server_->closes(Reason::kIdleTimeout);
      s.overflow_closes = tcp_server_->closes(Reason::kOutputOverflow);
      s.error_closes = tcp_server_->closes(Reason::kError);
      s.rejected_over_cap = tcp_server_->rejected_over_cap();
      s.fd_exhaustion_drops = tcp_server_->fd_exhaustion_drops();
    }
    return s;
  }

 private:
  absl::Status CheckNotStarted(const char* what) {
    MutexLock lock(&mutex_);
    if (started_) {
      return absl::FailedPreconditionError(absl::StrCat(what, " after Start"));
    }
    return absl::OkStatus();
  }

  void OnConnection(const TcpConnectionPtr& conn) {
    if (conn->connected()) {
      conn->context() = std::make_shared<ServerConnection>(
          shared_, shared_->HandleFor(conn->loop()), conn->loop());
      return;
    }
    if (ServerConnection* connection = ConnectionOf(conn)) connection->OnClose();
  }

  void Drain() {
    const absl::Duration grace = shared_->options.shutdown_grace;
    if (!shared_->WaitIdle(grace)) {
      LOG(WARNING) << shared_->InFlight() << " call(s) still running after "
                   << absl::FormatDuration(grace)
                   << "; closing their connections";
    }
    shared_->InvalidateLoops();
    tcp_server_->Stop();  // Closes connections: their calls are cancelled.
    shared_->workers = nullptr;
    workers_.reset();  // Queued calls see the cancellation and end.
    acceptor_thread_.reset();
    MutexLock lock(&mutex_);
    down_ = true;
    state_changed_.SignalAll();
    LOG(INFO) << "server on " << listen_address_.ToString() << " is down";
  }

  const std::shared_ptr<ServerShared> shared_;
  bool needs_worker_pool_ = false;
  int num_methods_ = 0;
  std::unique_ptr<EventLoopThread> acceptor_thread_;
  std::unique_ptr<TcpServer> tcp_server_;
  std::unique_ptr<ThreadPool> workers_;
  InetAddress listen_address_;
  std::thread drain_thread_;

  Mutex join_mutex_;  // Serializes joining drain_thread_.
  Mutex mutex_;
  CondVar state_changed_;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  bool shutdown_requested_ ABSL_GUARDED_BY(mutex_) = false;
  bool down_ ABSL_GUARDED_BY(mutex_) = false;
};

Server::Server(ServerOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

Server::~Server() = default;

absl::Status Server::RegisterMethod(
    absl::string_view service, absl::string_view method,
    const google::protobuf::Message& request_prototype,
    const google::protobuf::Message& response_prototype, MethodHandler handler,
    MethodOptions options) {
  return impl_->RegisterMethod(service, method, request_prototype,
                               response_prototype, std::move(handler), options);
}

absl::Status Server::RegisterService(ServiceBase* service) {
  return service->RegisterMethods(this);
}

absl::Status Server::AddInterceptor(
    std::unique_ptr<ServerInterceptor> interceptor) {
  return impl_->AddInterceptor(std::move(interceptor));
}

absl::Status Server::Start(absl::string_view address) {
  return impl_->Start(address);
}

void Server::Shutdown() { impl_->Shutdown(); }

void Server::Wait() { impl_->Wait(); }

const InetAddress& Server::listen_address() const {
  return impl_->listen_address();
}

ServerStats Server::stats() const { return impl_->stats(); }

}  // namespace mrpc
