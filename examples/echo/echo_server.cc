// The echo service on the generated stubs: the smallest complete mrpc
// server. Also the server the load tester drives.
//
//   bazel run //examples/echo:echo_server -- --port=9000 [--host=0.0.0.0]
//       [--threads=N] [--slow_inline] [--noop_interceptors=N]
//       [--tls_cert=server.pem --tls_key=server.key [--tls_ca=ca.pem]
//        [--tls_require_client_cert] [--tls_required]]
#include <glog/logging.h>

#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/listen_flags.h"
#include "examples/common/registration_flags.h"
#include "examples/common/serve.h"
#include "examples/common/tls_server_flags.h"
#include "examples/echo/echo_service.h"
#include "rpc/server.h"

ABSL_FLAG(int, port, 9000, "port to listen on (0: any free port)");
ABSL_FLAG(int, threads, -1, "I/O loops (-1: one per hardware thread)");
ABSL_FLAG(int, workers, 4, "worker threads for SlowEcho");
ABSL_FLAG(int, noop_interceptors, 0,
          "server interceptors that do nothing (to measure what the "
          "interceptor chain costs)");
ABSL_FLAG(bool, overload_protection, true,
          "ServerOptions::overload_protection (to measure what it costs)");
ABSL_FLAG(
    bool, slow_inline, false,
    "run SlowEcho inline on the event loop instead of the worker pool "
    "(to show what a blocking handler does to the calls sharing its loop)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mrpc::ServerOptions options;
  mrpc::examples::ApplyRegistrationFlags(&options);
  mrpc::examples::ApplyServerTlsFlags(&options);
  options.num_threads = absl::GetFlag(FLAGS_threads);
  options.worker_threads = absl::GetFlag(FLAGS_workers);
  options.overload_protection = absl::GetFlag(FLAGS_overload_protection);
  mrpc::Server server(options);
  mrpc::echo::EchoServiceImpl service;
  mrpc::MethodOptions slow;
  slow.use_worker_pool = !absl::GetFlag(FLAGS_slow_inline);
  service.SetMethodOptions("SlowEcho", slow);
  absl::Status registered = server.RegisterService(&service);
  CHECK(registered.ok()) << registered;
  for (int i = 0; i < absl::GetFlag(FLAGS_noop_interceptors); ++i) {
    CHECK(server.AddInterceptor(std::make_unique<mrpc::ServerInterceptor>())
              .ok());
  }
  return mrpc::examples::ServeUntilSignal(
      &server, mrpc::examples::ListenAddress(absl::GetFlag(FLAGS_port)),
      "echo_server");
}
