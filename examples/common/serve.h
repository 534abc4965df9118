// What every example server's main() does after building its server: print
// the port ("listening on <port>", which scripts wait for), serve until
// SIGINT or SIGTERM, then shut down cleanly.
//
// Example-only helper. Call from main(), once.
#ifndef MRPC_EXAMPLES_COMMON_SERVE_H_
#define MRPC_EXAMPLES_COMMON_SERVE_H_

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include <string>

#include "rpc/server.h"

namespace mrpc::examples {

// Starts `server` on `address`, serves until SIGINT/SIGTERM, shuts down.
// Returns the process exit code.
inline int ServeUntilSignal(Server* server, const std::string& address,
                            const char* name) {
  // Block the signals before any thread starts, so only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::Status status = server->Start(address);
  if (!status.ok()) {
    fprintf(stderr, "%s: cannot start on %s: %s\n", name, address.c_str(),
            status.ToString().c_str());
    return 1;
  }
  printf("%s listening on %d\n", name, server->port());
  fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown();
  server->Wait();
  return 0;
}

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_SERVE_H_
