#include "examples/common/tls_server_flags.h"

#include "absl/flags/flag.h"
#include "examples/common/tls_common_flags.h"

ABSL_FLAG(bool, tls_require_client_cert, false,
          "TLS: refuse clients without a certificate that verifies against "
          "--tls_ca (mutual TLS)");
ABSL_FLAG(bool, tls_required, false,
          "TLS: refuse plaintext connections (default: TLS and plaintext "
          "share the port)");

namespace mrpc::examples {

void ApplyServerTlsFlags(ServerOptions* options) {
  ApplyTlsFileFlags(&options->tls);
  options->tls.require_client_cert =
      absl::GetFlag(FLAGS_tls_require_client_cert);
  options->tls.required = absl::GetFlag(FLAGS_tls_required);
}

}  // namespace mrpc::examples
