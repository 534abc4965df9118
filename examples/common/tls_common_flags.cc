#include "examples/common/tls_common_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_cert, "",
          "TLS: PEM certificate chain (leaf first) of this program: what a "
          "server serves, and what a client shows a server that asks for "
          "one (empty: none)");
ABSL_FLAG(std::string, tls_key, "",
          "TLS: PEM private key of --tls_cert (empty: none)");
ABSL_FLAG(std::string, tls_ca, "",
          "TLS: PEM CAs to trust: a server verifies client certificates "
          "against them (and asks for one); a client verifies the server's "
          "certificate (empty: a client uses the system's CAs, a server asks "
          "for no client certificate)");

namespace mrpc::examples {

bool AnyTlsFileFlag() {
  return !absl::GetFlag(FLAGS_tls_cert).empty() ||
         !absl::GetFlag(FLAGS_tls_key).empty() ||
         !absl::GetFlag(FLAGS_tls_ca).empty();
}

void ApplyTlsFileFlags(ServerOptions::Tls* tls) {
  tls->cert_file = absl::GetFlag(FLAGS_tls_cert);
  tls->key_file = absl::GetFlag(FLAGS_tls_key);
  tls->ca_file = absl::GetFlag(FLAGS_tls_ca);
}

void ApplyTlsFileFlags(ClientTlsOptions* tls) {
  tls->ca_file = absl::GetFlag(FLAGS_tls_ca);
  tls->cert_file = absl::GetFlag(FLAGS_tls_cert);
  tls->key_file = absl::GetFlag(FLAGS_tls_key);
}

}  // namespace mrpc::examples
