// A stand-alone server with the test service, for tests that need a server
// in another process (to kill it with SIGKILL, or to time its exit after
// SIGTERM). Prints "test_server listening on <port>" once it serves; exits
// on SIGTERM or SIGINT.
//
//   test_server [--port=N] [--shutdown_grace_ms=N]
//               [--register=etcd://... --advertise=host:port --register_ttl=2s]
//
// Besides the test service it serves two handlers that never return, for
// shutdown tests: Hang (worker pool) and HangInline (blocks its loop).
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "examples/common/registration_flags.h"
#include "examples/common/serve.h"
#include "proto/echo.pb.h"
#include "rpc/server.h"
#include "tests/test_service.h"

ABSL_FLAG(int, port, 0, "port to listen on (0: any)");
ABSL_FLAG(int, shutdown_grace_ms, 5000, "ServerOptions::shutdown_grace");

namespace {

using mrpc::echo::EchoRequest;
using mrpc::echo::EchoResponse;

// Blocks its thread for good: what shutdown must not wait for.
void BlockForever(mrpc::ServerContext*, const EchoRequest&, EchoResponse*,
                  mrpc::RpcDone) {
  for (;;) absl::SleepFor(absl::Hours(1));
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mrpc::ServerOptions options;
  mrpc::examples::ApplyRegistrationFlags(&options);
  options.num_threads = 1;
  options.shutdown_grace =
      absl::Milliseconds(absl::GetFlag(FLAGS_shutdown_grace_ms));
  mrpc::Server server(options);
  mrpc::testing::TestServiceCounters counters;
  if (!mrpc::testing::RegisterTestService(&server, &counters).ok()) return 1;
  mrpc::MethodOptions on_worker;
  on_worker.use_worker_pool = true;
  if (!server
           .RegisterMethod<EchoRequest, EchoResponse>(
               mrpc::testing::kTestService, "Hang", BlockForever, on_worker)
           .ok() ||
      !server
           .RegisterMethod<EchoRequest, EchoResponse>(
               mrpc::testing::kTestService, "HangInline", BlockForever)
           .ok()) {
    return 1;
  }
  return mrpc::examples::ServeUntilSignal(
      &server, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)),
      "test_server");
}
