// What every server program's main() does after building its server (the
// examples, and the test server that tests/ kill): print the port
// ("<name> listening on <port>", which scripts and tests wait for), serve
// until SIGINT or SIGTERM, then shut down cleanly.
//
// Call from main(), once. A program that starts threads before it (a
// Channel to a backend) calls BlockStopSignals() first.
#ifndef MRPC_EXAMPLES_COMMON_SERVE_H_
#define MRPC_EXAMPLES_COMMON_SERVE_H_

#include <stdio.h>

#include <string>

#include "examples/common/stop_signals.h"
#include "rpc/server.h"

namespace mrpc::examples {

// Starts `server` on `address`, serves until SIGINT/SIGTERM, shuts down.
// Returns the process exit code.
inline int ServeUntilSignal(Server* server, const std::string& address,
                            const char* name) {
  // Before the server's threads start, so only the sigwait below sees them.
  BlockStopSignals();
  absl::Status status = server->Start(address);
  if (!status.ok()) {
    fprintf(stderr, "%s: cannot start on %s: %s\n", name, address.c_str(),
            status.ToString().c_str());
    return 1;
  }
  printf("%s listening on %d\n", name, server->port());
  fflush(stdout);
  WaitForStopSignal();
  server->Shutdown();
  server->Wait();
  return 0;
}

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_SERVE_H_
