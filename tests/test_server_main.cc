// A stand-alone server with the test service, for tests that need a server
// in another process (to kill it with SIGKILL). Prints "test_server
// listening on <port>" once it serves; exits on SIGTERM or SIGINT.
//
//   test_server [--port=N] [--idle_timeout_ms=N]
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/serve.h"
#include "rpc/server.h"
#include "tests/test_service.h"

ABSL_FLAG(int, port, 0, "port to listen on (0: any)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mrpc::ServerOptions options;
  options.num_threads = 1;
  mrpc::Server server(options);
  mrpc::testing::TestServiceCounters counters;
  if (!mrpc::testing::RegisterTestService(&server, &counters).ok()) return 1;
  return mrpc::examples::ServeUntilSignal(
      &server, "127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)),
      "test_server");
}
