// The TLS flags every example server takes (ServerOptions::tls; TLS shares
// the server's one port with plaintext unless --tls_required):
//   --tls_cert=PEM --tls_key=PEM   serve TLS with this certificate and key
//   --tls_ca=PEM                   ask for client certificates, verify them
//   --tls_require_client_cert      refuse clients without one (mutual TLS)
//   --tls_required                 refuse plaintext connections
// The files are read again every 10 s and on SIGHUP (serve.h); new
// connections get the new certificate, established ones keep theirs.
// --tls_cert, --tls_key and --tls_ca come from tls_common_flags.h.
//
// Call from main(), after absl::ParseCommandLine().
#ifndef MRPC_EXAMPLES_COMMON_TLS_SERVER_FLAGS_H_
#define MRPC_EXAMPLES_COMMON_TLS_SERVER_FLAGS_H_

#include "rpc/server.h"

namespace mrpc::examples {

// Copies the flags into options->tls. Server::Start() checks them (e.g.
// --tls_required without --tls_cert fails there, with the reason).
void ApplyServerTlsFlags(ServerOptions* options);

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_TLS_SERVER_FLAGS_H_
