// gRPC credentials from the PEM files named by the TLS flags that
// grpc_echo_server and grpc_load share with mrpc's echo_server and
// mrpc_load (--tls_cert, --tls_key, --tls_ca; see those binaries).
//
// Tool-only. Stateless, thread-safe.
//
// Example:
//   TlsFiles files;
//   files.cert = "server.pem";
//   files.key = "server.key";
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
//       MakeServerCredentials(files);
#ifndef MRPC_TOOLS_GRPC_TLS_CREDENTIALS_H_
#define MRPC_TOOLS_GRPC_TLS_CREDENTIALS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mrpc::grpc_tools {

// Paths of PEM files; empty means not given.
struct TlsFiles {
  std::string cert;  // Own certificate chain. Default: none.
  std::string key;   // Private key of `cert`. Default: none.
  // Server: CA whose client certificates are required (and verified).
  // Client: CA the server is verified against (empty: the system's roots).
  // Default: none.
  std::string ca;
};

// Plaintext when no file is given; TLS with `cert` and `key` otherwise, and
// a client certificate required and verified when `ca` is given too.
// InvalidArgument for an incomplete set, NotFound for an unreadable file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Plaintext unless `tls`; with TLS, the server is verified against `ca`
// (or the system's roots), and `cert` + `key` (both or neither) are the
// client certificate. Files given without `tls` are InvalidArgument, so a
// forgotten --tls never measures plaintext by mistake.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(bool tls, const TlsFiles& files);

}  // namespace mrpc::grpc_tools

#endif  // MRPC_TOOLS_GRPC_TLS_CREDENTIALS_H_
