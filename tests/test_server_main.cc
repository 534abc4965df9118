// A stand-alone server with the test service, for tests that need a server
// in another process (to kill it with SIGKILL). Prints "listening on <port>"
// once it serves; exits on SIGTERM or SIGINT.
//
//   test_server [--port=N] [--idle_timeout_ms=N]
#include <signal.h>
#include <stdio.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "net/sync.h"
#include "rpc/server.h"
#include "tests/test_service.h"

ABSL_FLAG(int, port, 0, "port to listen on (0: any)");

namespace {
mrpc::Notification* g_stop = nullptr;
}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  mrpc::ServerOptions options;
  options.num_threads = 1;
  mrpc::Server server(options);
  mrpc::testing::TestServiceCounters counters;
  if (!mrpc::testing::RegisterTestService(&server, &counters).ok()) return 1;
  absl::Status status =
      server.Start("127.0.0.1:" + std::to_string(absl::GetFlag(FLAGS_port)));
  if (!status.ok()) {
    fprintf(stderr, "cannot start: %s\n", status.ToString().c_str());
    return 1;
  }
  printf("listening on %d\n", server.port());
  fflush(stdout);
  // Wait for a signal on this thread (sigwait: no async-signal-safety issues).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int received = 0;
  sigwait(&signals, &received);
  server.Shutdown();
  server.Wait();
  return 0;
}
