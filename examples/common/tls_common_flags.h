// The TLS files a program's identity is made of, shared by its server and
// client sides (one service identity both ways):
//   --tls_cert=PEM   this program's certificate chain, leaf first
//   --tls_key=PEM    its private key
//   --tls_ca=PEM     the CAs it trusts to vouch for its peers
// A server (tls_server_flags.h) serves with --tls_cert/--tls_key and checks
// client certificates against --tls_ca; a client (tls_client_flags.h)
// checks the server against --tls_ca and shows --tls_cert/--tls_key when
// asked for a client certificate. A program that is both (the gateway)
// links both libraries and these three flags once.
//
// Call from main(), after absl::ParseCommandLine().
#ifndef MRPC_EXAMPLES_COMMON_TLS_COMMON_FLAGS_H_
#define MRPC_EXAMPLES_COMMON_TLS_COMMON_FLAGS_H_

#include "rpc/channel.h"
#include "rpc/server.h"

namespace mrpc::examples {

// True if any of --tls_cert, --tls_key, --tls_ca is set.
bool AnyTlsFileFlag();

// Copies --tls_cert, --tls_key and --tls_ca into the server's TLS options.
void ApplyTlsFileFlags(ServerOptions::Tls* tls);

// Copies --tls_ca, --tls_cert and --tls_key into the channel's TLS options
// (and leaves `enabled` alone).
void ApplyTlsFileFlags(ClientTlsOptions* tls);

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_TLS_COMMON_FLAGS_H_
