// The TLS flags every example client takes (ChannelOptions::tls):
//   --tls                   connect over TLS (implied by any flag below)
//   --tls_ca=PEM            CAs the server's certificate must chain to
//                           (default: the system's)
//   --tls_cert=PEM --tls_key=PEM   client certificate, for servers that ask
//   --tls_server_name=NAME  the name the server's certificate must carry
//                           (default: the target's host)
// --tls_cert, --tls_key and --tls_ca come from tls_common_flags.h.
//
// Call from main(), after absl::ParseCommandLine().
#ifndef MRPC_EXAMPLES_COMMON_TLS_CLIENT_FLAGS_H_
#define MRPC_EXAMPLES_COMMON_TLS_CLIENT_FLAGS_H_

#include "rpc/channel.h"

namespace mrpc::examples {

// Copies the flags into options->tls. Channel::Create() checks them (an
// unreadable file, a key that does not match).
void ApplyClientTlsFlags(ChannelOptions* options);

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_TLS_CLIENT_FLAGS_H_
