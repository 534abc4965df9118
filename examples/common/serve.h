// What every server program's main() does after building its server (the
// examples, and the test server that tests/ kill): print the port
// ("<name> listening on <port>", which scripts and tests wait for), serve
// until SIGINT or SIGTERM, then shut down cleanly. SIGHUP meanwhile reads
// the TLS files again (Server::ReloadTls(), as the server also does by
// itself every ServerOptions::tls.reload_interval) and logs what came of it:
// "<name>: SIGHUP: TLS reloaded", "... TLS files unchanged" or
// "... TLS not reloaded: <why>".
//
// Call from main(), once. A program that starts threads before it (a
// Channel to a backend) calls BlockStopSignals() first.
#ifndef MRPC_EXAMPLES_COMMON_SERVE_H_
#define MRPC_EXAMPLES_COMMON_SERVE_H_

#include <glog/logging.h>
#include <stdio.h>

#include <cstdint>
#include <string>

#include "examples/common/stop_signals.h"
#include "rpc/server.h"

namespace mrpc::examples {

// Server::ReloadTls() for SIGHUP, logged.
inline void ReloadTlsOnHangup(Server* server, const char* name) {
  const uint64_t reloads = server->stats().tls_reloads;
  const absl::Status status = server->ReloadTls();
  if (!status.ok()) {
    LOG(WARNING) << name << ": SIGHUP: TLS not reloaded: " << status;
  } else if (server->stats().tls_reloads > reloads) {
    LOG(INFO) << name << ": SIGHUP: TLS reloaded";
  } else {
    // Or the periodic check got to the change first (it logged it).
    LOG(INFO) << name << ": SIGHUP: TLS files unchanged";
  }
}

// Starts `server` on `address`, serves until SIGINT/SIGTERM (reloading TLS
// on SIGHUP), shuts down. Returns the process exit code.
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
  WaitForStopSignal([&] { ReloadTlsOnHangup(server, name); });
  server->Shutdown();
  server->Wait();
  return 0;
}

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_SERVE_H_
