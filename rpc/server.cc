// Server lifecycle and registration. The per-connection protocol is in
// rpc/server_connection.cc, a call's lifetime in rpc/server_call.cc.
#include "rpc/server.h"

#include <glog/logging.h>

#include <algorithm>
#include <any>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/loop_watchdog.h"
#include "net/sync.h"
#include "net/tcp_server.h"
#include "net/tls_context.h"
#include "proto/health.pb.h"
#include "proto/reflection.pb.h"
#include "rpc/client_tls.h"
#include "rpc/cluster/etcd_resolver.h"
#include "rpc/cluster/registration.h"
#include "rpc/http/pages.h"
#include "rpc/protobuf_log.h"
#include "rpc/reflection/reflection_index.h"
#include "rpc/rpcz.h"
#include "rpc/server_connection.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"
#include "rpc/service.h"
#include "rpc/thread_pool.h"

namespace mrpc {
namespace {

// Re-reads the TLS files (ServerOptions::tls) and logs what came of it.
absl::Status ReloadTlsFiles(TlsContext& tls, const char* why) {
  absl::StatusOr<bool> reloaded = tls.Reload();
  if (!reloaded.ok()) {
    LOG(WARNING) << "TLS reload (" << why << ") failed; new connections "
                 << "keep the current certificate: " << reloaded.status();
    return reloaded.status();
  }
  if (*reloaded) LOG(INFO) << "TLS reloaded (" << why << "): " << tls.Describe();
  return absl::OkStatus();
}

// The connection's ServerConnection, or null before it came up.
ServerConnection* ConnectionOf(const TcpConnectionPtr& conn) {
  auto* state =
      std::any_cast<std::shared_ptr<ServerConnection>>(&conn->context());
  return state == nullptr ? nullptr : state->get();
}

std::unique_ptr<LoopWatchdog> MakeWatchdog(const ServerOptions& options) {
  if (options.loop_stall_threshold <= absl::ZeroDuration()) return nullptr;
  LoopWatchdogOptions watchdog;
  watchdog.threshold = options.loop_stall_threshold;
  return std::make_unique<LoopWatchdog>(watchdog);
}

constexpr char kHealthService[] = "mrpc.health.v1.Health";
constexpr char kReflectionService[] = "mrpc.reflection.v1.Reflection";

}  // namespace

class Server::Impl {
 public:
  explicit Impl(const ServerOptions& options)
      : shared_(std::make_shared<ServerShared>(options)),
        watchdog_(MakeWatchdog(options)) {}
  ~Impl() {
    if (view_ != nullptr) view_->ClearSources();
    {
      MutexLock lock(&mutex_);
      CHECK(!started_ || shutdown_requested_)
          << "Server destroyed while running; call Shutdown() and Wait() "
             "first";
    }
    Wait();
    // The pages hold the view, which holds shared_: a cycle. With no loop
    // left to serve them, drop them; a loop that a blocking handler keeps
    // alive may still serve one, so then they stay (leaked with the loop).
    if (!loops_leaked_) shared_->pages.clear();
  }

  absl::Status RegisterMethod(absl::string_view service,
                              absl::string_view method,
                              const google::protobuf::Message& request_prototype,
                              const google::protobuf::Message& response_prototype,
                              MethodHandler handler, MethodOptions options) {
    absl::Status status = CheckNotStarted("RegisterMethod");
    if (!status.ok()) return status;
    return AddMethod(service, method, request_prototype, response_prototype,
                     std::move(handler), options);
  }

  // A generated service's definition, for reflection (before Start()).
  void SetServiceDescriptor(absl::string_view service,
                            const google::protobuf::ServiceDescriptor* d) {
    MutexLock lock(&mutex_);
    service_descriptors_[service] = d;
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
    if (options.memory_budget != 0 &&
        options.memory_budget < 4 * options.max_frame_size) {
      return absl::InvalidArgumentError(
          "memory_budget must be 0 (sized to the machine) or at least four "
          "times max_frame_size");
    }
    if (options.rpcz.enabled &&
        (options.rpcz.max_calls == 0 ||
         options.rpcz.max_calls > RpczStore::kMaxCallsLimit ||
         options.rpcz.slow_threshold < absl::ZeroDuration())) {
      return absl::InvalidArgumentError(
          "rpcz.max_calls must be in [1, 65536] and rpcz.slow_threshold "
          "not negative");
    }
    if (needs_worker_pool_ && options.worker_threads < 1) {
      return absl::InvalidArgumentError(
          "a method uses the worker pool; worker_threads < 1");
    }
    absl::StatusOr<InetAddress> listen = InetAddress::Parse(address);
    if (!listen.ok()) return listen.status();
    const ServerOptions::Registration& registration = options.registration;
    if (!registration.target.empty()) {
      absl::Status valid = ParseEtcdTarget(registration.target).status();
      if (valid.ok() && !registration.advertise.empty()) {
        absl::StatusOr<InetAddress> advertise =
            InetAddress::Parse(registration.advertise);
        if (!advertise.ok() || advertise->port() == 0) {
          valid = absl::InvalidArgumentError(absl::StrCat(
              "registration.advertise \"", registration.advertise,
              "\" is not host:port with a numeric IP (or localhost)"));
        }
      }
      if (valid.ok() && registration.ttl < absl::Seconds(1)) {
        valid = absl::InvalidArgumentError("registration.ttl under 1 s");
      }
      if (!valid.ok()) return valid;
      absl::StatusOr<std::shared_ptr<const TlsContext>> etcd_tls =
          NewClientTlsContext(registration.etcd_tls);
      if (!etcd_tls.ok()) return etcd_tls.status();
      registration_tls_ = *std::move(etcd_tls);
    }
    if (!options.tls.cert_file.empty() || !options.tls.key_file.empty()) {
      TlsContext::Config tls;
      tls.role = TlsContext::Role::kServer;
      tls.cert_file = options.tls.cert_file;
      tls.key_file = options.tls.key_file;
      tls.ca_file = options.tls.ca_file;
      tls.require_client_cert = options.tls.require_client_cert;
      absl::StatusOr<std::shared_ptr<TlsContext>> context =
          TlsContext::Create(tls);
      if (!context.ok()) return context.status();
      shared_->tls = *std::move(context);
      LOG(INFO) << "TLS: " << shared_->tls->Describe()
                << (options.tls.ca_file.empty() ? ""
                                                : ", client certificates ")
                << (options.tls.ca_file.empty()
                        ? ""
                        : (options.tls.require_client_cert ? "required"
                                                           : "verified"))
                << (options.tls.required ? ", plaintext refused" : "");
    } else if (options.tls.required || !options.tls.ca_file.empty()) {
      return absl::InvalidArgumentError(
          "tls.required and tls.ca_file need tls.cert_file and tls.key_file");
    }
    InstallProtobufLogHandler();  // Before any request is parsed.
    if (options.health_service && !shared_->methods.contains(kHealthService)) {
      AddHealthService();
    }
    if (options.reflection && !shared_->methods.contains(kReflectionService)) {
      AddReflectionService();  // Last: it describes every service.
    }
    for (const auto& [service, methods] : shared_->methods) {
      shared_->health.AddService(service);
    }
    shared_->method_list.assign(num_methods_, nullptr);
    for (const auto& [service, methods] : shared_->methods) {
      for (const auto& [name, method] : methods) {
        shared_->method_list[method.index] = &method;
      }
    }
    if (watchdog_ != nullptr) {
      // First: its thread is the one thing here that can fail to start
      // without anything to undo.
      absl::Status watching = watchdog_->Start();
      if (!watching.ok()) return watching;
    }

    if (needs_worker_pool_) {
      shared_->workers = std::make_shared<ThreadPool>(
          "mrpc-worker", options.worker_threads, options.worker_queue_limit,
          options.worker_queue_bytes);
    }
    // The pages are in place before the first connection can reach them.
    view_ = std::make_shared<ServerView>(shared_);
    view_->SetSources({[this] { return stats(); },
                       [this] { return loop_stats(); }});
    shared_->pages.clear();
    InstallPages(view_, &shared_->pages);
    acceptor_thread_ = std::make_unique<EventLoopThread>("mrpc-accept");
    absl::StatusOr<EventLoop*> acceptor_loop = acceptor_thread_->Start();
    if (!acceptor_loop.ok()) {
      acceptor_thread_.reset();
      shared_->workers = nullptr;
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
    tcp.connection.output_stall_timeout = options.output_stall_timeout;
    tcp.connection.memory_budget = &shared_->budget;
    tcp.connection.edge_triggered = options.edge_triggered;
    tcp_server_ = std::make_unique<TcpServer>(*acceptor_loop, *listen, tcp);
    // Not `this`: a loop that a handler blocks past shutdown may run it
    // after the server is gone.
    tcp_server_->SetConnectionCallback(
        [shared = shared_](const TcpConnectionPtr& conn) {
          OnConnection(shared, conn);
        });
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
      return status;
    }
    listen_address_ = tcp_server_->listen_address();
    view_->SetAddress(listen_address_.ToString());
    acceptor_loop_ = *acceptor_loop;
    if (watchdog_ != nullptr) {
      watchdog_->Watch(acceptor_loop_, "mrpc-accept");
      const std::vector<EventLoop*>& loops = tcp_server_->loops();
      for (size_t i = 0; i < loops.size(); ++i) {
        // num_threads 0: connections live on the acceptor loop.
        if (loops[i] == acceptor_loop_) continue;
        watchdog_->Watch(loops[i], absl::StrCat("mrpc-io-", i));
      }
    }
    // /status's last minute: a sample now, then one a second.
    view_->Sample(absl::Now());
    sample_timer_ = acceptor_loop_->RunEvery(
        absl::Seconds(1), [view = view_] { view->Sample(absl::Now()); });
    if (shared_->tls != nullptr &&
        options.tls.reload_interval > absl::ZeroDuration()) {
      reload_timer_ = acceptor_loop_->RunEvery(
          options.tls.reload_interval,
          [tls = shared_->tls] {
            // Logged there; a bad set keeps the old one.
            ReloadTlsFiles(*tls, "file change").IgnoreError();
          });
    }
    if (!registration.target.empty()) StartRegistration();
    started_ = true;
    return absl::OkStatus();
  }

  void Shutdown() {
    MutexLock lock(&mutex_);
    if (!started_ || shutdown_requested_) return;
    shutdown_requested_ = true;
    // Without a registration, synchronously: once Shutdown() returns, the
    // port is closed and new requests are refused. Only the wait for calls
    // in flight runs behind.
    LOG(INFO) << "server on " << listen_address_.ToString()
              << " shutting down";
    if (registration_ != nullptr) {
      // Leave etcd first (bounded), so callers stop sending while the
      // server still serves; the port closes after that.
      drain_thread_ = std::thread([this] {
        Deregister();
        StopAccepting();
        Drain();
      });
      return;
    }
    StopAccepting();
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

  void SetServingStatus(absl::string_view service, bool serving) {
    shared_->health.Set(service, serving);
  }

  absl::Status ReloadTls() {
    std::shared_ptr<TlsContext> tls;
    {
      MutexLock lock(&mutex_);
      tls = shared_->tls;
    }
    if (tls == nullptr) {
      return absl::FailedPreconditionError(
          "ReloadTls: the server is not started with TLS");
    }
    return ReloadTlsFiles(*tls, "ReloadTls");
  }

  ServerStats stats() const {
    ServerStats s;
    shared_->AddCounters(&s);
    if (tcp_server_) {
      using Reason = TcpConnection::CloseReason;
      s.connections = tcp_server_->num_connections();
      s.connections_accepted = tcp_server_->accepted();
      s.idle_closes = tcp_server_->closes(Reason::kIdleTimeout);
      s.overflow_closes = tcp_server_->closes(Reason::kOutputOverflow);
      s.stall_closes = tcp_server_->closes(Reason::kOutputStalled);
      s.error_closes = tcp_server_->closes(Reason::kError);
      s.rejected_over_cap = tcp_server_->rejected_over_cap();
      s.fd_exhaustion_drops = tcp_server_->fd_exhaustion_drops();
    }
    if (watchdog_ != nullptr) s.loop_stalls = watchdog_->total_stalls();
    if (shared_->tls != nullptr) s.tls_reloads = shared_->tls->reloads();
    return s;
  }

  std::vector<LoopStats> loop_stats() const {
    std::vector<LoopStats> out;
    if (watchdog_ == nullptr) return out;
    for (LoopStallStats& l : watchdog_->Snapshot()) {
      LoopStats& o = out.emplace_back();
      o.name = std::move(l.name);
      o.busy_ns = l.busy_ns;
      o.iterations = l.iterations;
      o.stalls = l.stalls;
      o.stalled_ns = l.stalled_ns;
      o.current_stall_ns = l.current_stall_ns;
      o.holder = std::move(l.holder);
      o.slowest_stall_ns = l.slowest_stall_ns;
      o.slowest_holder = std::move(l.slowest_holder);
    }
    return out;
  }

 private:
  absl::Status CheckNotStarted(const char* what) {
    MutexLock lock(&mutex_);
    if (started_) {
      return absl::FailedPreconditionError(absl::StrCat(what, " after Start"));
    }
    return absl::OkStatus();
  }

  absl::Status AddMethod(absl::string_view service, absl::string_view method,
                         const google::protobuf::Message& request_prototype,
                         const google::protobuf::Message& response_prototype,
                         MethodHandler handler, MethodOptions options) {
    if (service.empty() || method.empty() || !handler) {
      return absl::InvalidArgumentError(
          "service, method and handler are required");
    }
    auto& methods = shared_->methods[service];
    if (methods.contains(method)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "method ", service, ".", method, " is already registered"));
    }
    methods.emplace(method,
                    ServerMethod{std::string(service), std::string(method),
                                 absl::StrCat(service, "/", method),
                                 &request_prototype, &response_prototype,
                                 std::move(handler), options, num_methods_++});
    needs_worker_pool_ |= options.use_worker_pool;
    return absl::OkStatus();
  }

  // mrpc.health.v1.Health/Check, inline: gRPC's Check semantics (NOT_FOUND
  // for an unknown service), and NOT_SERVING for all while draining.
  void AddHealthService() {
    // The handler lives in shared->methods: `shared` outlives it.
    const ServerShared* shared = shared_.get();
    MethodOptions options;
    // A probe is cheap and answered at once: never refuse it as overload.
    options.max_concurrency = -1;
    options.shed_by_deadline = false;
    absl::Status added = AddMethod(
        kHealthService, "Check",
        health::v1::HealthCheckRequest::default_instance(),
        health::v1::HealthCheckResponse::default_instance(),
        [shared](ServerContext*, const google::protobuf::Message& request,
                 google::protobuf::Message* response, RpcDone done) {
          const std::string& service =
              static_cast<const health::v1::HealthCheckRequest&>(request)
                  .service();
          auto* out = static_cast<health::v1::HealthCheckResponse*>(response);
          const HealthStatus::State state = shared->health.Get(service);
          if (state == HealthStatus::State::kUnknown) {
            done(absl::NotFoundError(
                absl::StrCat("unknown service \"", service, "\"")));
            return;
          }
          const bool serving =
              state == HealthStatus::State::kServing &&
              !shared->draining.load(std::memory_order_relaxed);
          out->set_status(serving
                              ? health::v1::HealthCheckResponse::SERVING
                              : health::v1::HealthCheckResponse::NOT_SERVING);
          done(absl::OkStatus());
        },
        options);
    CHECK(added.ok()) << added;  // Start() checked the name is free.
  }

  // mrpc.reflection.v1.Reflection (proto/reflection.proto), inline: the
  // index is built here, once, and read-only after.
  void AddReflectionService() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    auto index = std::make_shared<ReflectionIndex>();
    // Admitted like any method: GetFiles copies descriptors, so a flood of
    // it is limited and shed like a flood of anything else.
    const MethodOptions options;
    absl::Status added = AddMethod(
        kReflectionService, "ListServices",
        reflection::v1::ListServicesRequest::default_instance(),
        reflection::v1::ListServicesResponse::default_instance(),
        [index](ServerContext*, const google::protobuf::Message&,
                google::protobuf::Message* response, RpcDone done) {
          index->ListServices(
              static_cast<reflection::v1::ListServicesResponse*>(response));
          done(absl::OkStatus());
        },
        options);
    CHECK(added.ok()) << added;  // Start() checked the name is free.
    added = AddMethod(
        kReflectionService, "GetFiles",
        reflection::v1::GetFilesRequest::default_instance(),
        reflection::v1::GetFilesResponse::default_instance(),
        [index](ServerContext*, const google::protobuf::Message& request,
                google::protobuf::Message* response, RpcDone done) {
          done(index->GetFiles(
              static_cast<const reflection::v1::GetFilesRequest&>(request),
              static_cast<reflection::v1::GetFilesResponse*>(response)));
        },
        options);
    CHECK(added.ok()) << added;
    for (const auto& [service, methods] : shared_->methods) {
      std::vector<const ServerMethod*> registered;
      for (const auto& [name, method] : methods) registered.push_back(&method);
      std::sort(registered.begin(), registered.end(),
                [](const ServerMethod* a, const ServerMethod* b) {
                  return a->index < b->index;
                });
      std::vector<ReflectionIndex::Method> list;
      for (const ServerMethod* method : registered) {
        list.push_back({method->name,
                        method->request_prototype->GetDescriptor(),
                        method->response_prototype->GetDescriptor()});
      }
      auto it = service_descriptors_.find(service);
      index->AddService(
          service, it == service_descriptors_.end() ? nullptr : it->second,
          std::move(list));
    }
    index->Build();
  }

  void StopAccepting() {
    // Waited for: no sample reads the server once it starts to stop.
    RunInLoopAndWait(acceptor_loop_,
                     [this] {
                       acceptor_loop_->Cancel(sample_timer_);
                       acceptor_loop_->Cancel(reload_timer_);
                     });
    shared_->draining = true;
    tcp_server_->StopAccepting();
  }

  // On the acceptor loop; the advertised address defaults to the bound one.
  void StartRegistration() {
    const ServerOptions::Registration& options = shared_->options.registration;
    RegistrationOptions registration;
    registration.target = options.target;
    registration.ttl = options.ttl;
    registration.client.tls = registration_tls_;
    registration.client.tls_server_name = options.etcd_tls.server_name;
    registration.client.tls_handshake_timeout =
        options.etcd_tls.handshake_timeout;
    registration.advertise = options.advertise;
    if (registration.advertise.empty()) {
      // A wildcard address is no address to call: publish loopback.
      const std::string ip = listen_address_.Ip();
      if (ip == "0.0.0.0") {
        registration.advertise = absl::StrCat("127.0.0.1:", listen_address_.port());
      } else if (ip == "::") {
        registration.advertise = absl::StrCat("[::1]:", listen_address_.port());
      } else {
        registration.advertise = listen_address_.ToString();
      }
    }
    RunInLoopAndWait(acceptor_loop_, [&] {
      absl::StatusOr<std::unique_ptr<Registration>> created =
          Registration::Create(acceptor_loop_, registration);
      // Validated in Start() before listening.
      CHECK(created.ok()) << created.status();
      registration_ = std::move(*created);
      registration_->Start();
    });
  }

  // Revokes the registration and waits for etcd (or deregister_timeout);
  // the registration is destroyed on its loop afterwards.
  void Deregister() {
    const absl::Duration timeout =
        shared_->options.registration.deregister_timeout;
    auto done = std::make_shared<Notification>();
    RunInLoopAndWait(acceptor_loop_, [&] {
      registration_->Deregister(timeout, [done](absl::Status status) {
        if (!status.ok()) {
          LOG(WARNING) << "deregistering from etcd: " << status;
        }
        done->Notify();
      });
    });
    // Deregister() calls back within its timeout; the margin covers a
    // busy loop.
    done->WaitForNotificationWithTimeout(timeout + absl::Seconds(1));
    RunInLoopAndWait(acceptor_loop_, [&] { registration_.reset(); });
  }

  static void OnConnection(const std::shared_ptr<ServerShared>& shared,
                           const TcpConnectionPtr& conn) {
    if (conn->connected()) {
      conn->context() = std::make_shared<ServerConnection>(
          shared, shared->HandleFor(conn->loop()), conn->loop());
      return;
    }
    if (ServerConnection* connection = ConnectionOf(conn)) connection->OnClose();
  }

  // Waits up to shutdown_grace for the calls in flight; then abandons the
  // rest (answered UNAVAILABLE on their loops), closes the connections,
  // stops the loops and workers. Bounded: a handler that never returns
  // holds a detached thread, never this.
  void Drain() {
    const absl::Duration grace = shared_->options.shutdown_grace;
    const absl::Time grace_end = absl::Now() + grace;
    const bool idle = shared_->WaitIdle(grace);
    const int64_t abandoned = idle ? 0 : shared_->InFlight();
    if (!idle) {
      LOG(WARNING) << abandoned << " call(s) still running after "
                   << absl::FormatDuration(grace)
                   << " (shutdown_grace); answering them UNAVAILABLE and "
                      "closing their connections";
    }
    // With nothing in flight no handler should hold a loop: be patient
    // with a merely busy one rather than leak it.
    const absl::Time deadline =
        absl::Now() + (idle ? kIdleStopTimeout : kStopTimeout);
    const absl::Status status = absl::UnavailableError(absl::StrCat(
        "the server shut down before the call finished (shutdown_grace ",
        absl::FormatDuration(grace), ")"));
    // The loops stop (and are destroyed) below: stop watching them first.
    // A stall during the grace period above was still reported.
    if (watchdog_ != nullptr) {
      for (EventLoop* loop : tcp_server_->loops()) watchdog_->Unwatch(loop);
    }
    // On each loop: answer the calls, then close (the answers are written
    // before the close; a queued call leaves the worker queue).
    const bool loops_stopped = tcp_server_->Stop(
        deadline, [status](const TcpConnectionPtr& conn) {
          if (ServerConnection* c = ConnectionOf(conn)) c->Abandon(status);
        });
    // Only now: late answers from workers were wanted until the close.
    shared_->InvalidateLoops();
    if (!loops_stopped) {
      loops_leaked_ = true;
      // A handler blocks a loop: that loop still uses the TcpServer (and
      // its own thread object) whenever the handler returns, so neither
      // may be destroyed. Its clients see their connections close when
      // the process exits.
      LOG(ERROR) << "server on " << listen_address_.ToString()
                 << ": a handler blocks a loop thread past shutdown_grace; "
                    "leaving that loop running and leaking the server's "
                    "network state so that Wait() can return";
      LeakForever(std::move(tcp_server_));
    }
    if (shared_->workers != nullptr) {
      // Workers still busy after the grace run abandoned (or cancelled)
      // calls; don't wait on them long. Their state and calls are
      // shared-owned: detaching is safe.
      const int detached =
          shared_->workers->Stop(std::max(grace_end, absl::Now()) + kStopTimeout);
      if (detached > 0) {
        LOG(ERROR) << "server on " << listen_address_.ToString() << ": "
                   << detached
                   << " worker thread(s) still in a handler past "
                      "shutdown_grace; detached";
      }
    }
    if (watchdog_ != nullptr) watchdog_->Unwatch(acceptor_loop_);
    acceptor_thread_.reset();
    MutexLock lock(&mutex_);
    down_ = true;
    state_changed_.SignalAll();
    LOG(INFO) << "server on " << listen_address_.ToString() << " is down";
  }

  // Kept reachable (so leak checkers see no leak) and never destroyed.
  template <typename T>
  static void LeakForever(std::unique_ptr<T> object) {
    static Mutex mu;
    static auto* graveyard = new std::vector<std::shared_ptr<void>>;
    MutexLock lock(&mu);
    graveyard->push_back(std::shared_ptr<void>(object.release(), [](void*) {}));
  }

  // After shutdown_grace, how long loops and workers get to stop before
  // they are detached.
  static constexpr absl::Duration kStopTimeout = absl::Milliseconds(300);
  static constexpr absl::Duration kIdleStopTimeout = absl::Seconds(2);

  const std::shared_ptr<ServerShared> shared_;
  // What the built-in pages read; theirs to keep past the server.
  std::shared_ptr<ServerView> view_;
  // Watches the acceptor and connection loops from Start() until Drain()
  // stops them; null if loop_stall_threshold is zero. Made here, not in
  // Start(), so stats() may read it from any thread.
  const std::unique_ptr<LoopWatchdog> watchdog_;
  bool needs_worker_pool_ = false;
  int num_methods_ = 0;
  std::unique_ptr<EventLoopThread> acceptor_thread_;
  std::unique_ptr<TcpServer> tcp_server_;
  EventLoop* acceptor_loop_ = nullptr;
  TimerId sample_timer_;  // ServerView::Sample(), on the acceptor loop.
  TimerId reload_timer_;  // ServerOptions::tls.reload_interval, ditto.
  // ServerOptions::registration.etcd_tls; set by Start().
  std::shared_ptr<const TlsContext> registration_tls_;
  // On the acceptor loop; created by Start(), destroyed by Shutdown().
  std::unique_ptr<Registration> registration_;
  InetAddress listen_address_;
  std::thread drain_thread_;
  // Set by Drain() when a loop could not be stopped; read after joining it.
  bool loops_leaked_ = false;

  Mutex join_mutex_;  // Serializes joining drain_thread_.
  Mutex mutex_;
  CondVar state_changed_;
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
  // From RegisterService(): service -> its compiled-in definition.
  absl::flat_hash_map<std::string, const google::protobuf::ServiceDescriptor*>
      service_descriptors_ ABSL_GUARDED_BY(mutex_);
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
  absl::Status status = service->RegisterMethods(this);
  if (status.ok()) {
    impl_->SetServiceDescriptor(service->service_name(),
                                service->service_descriptor());
  }
  return status;
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

std::vector<LoopStats> Server::loop_stats() const {
  return impl_->loop_stats();
}

void Server::SetServingStatus(absl::string_view service, bool serving) {
  impl_->SetServingStatus(service, serving);
}

absl::Status Server::ReloadTls() { return impl_->ReloadTls(); }

}  // namespace mrpc
