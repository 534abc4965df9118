#include "examples/common/tls_client_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "examples/common/tls_common_flags.h"

ABSL_FLAG(bool, tls, false,
          "connect over TLS; implied by --tls_ca, --tls_cert, --tls_key and "
          "--tls_server_name");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: the name the server's certificate must carry, a DNS name "
          "(also sent as SNI) or an IP address (empty: the target's host)");

namespace mrpc::examples {

void ApplyClientTlsFlags(ChannelOptions* options) {
  const std::string server_name = absl::GetFlag(FLAGS_tls_server_name);
  options->tls.enabled =
      absl::GetFlag(FLAGS_tls) || AnyTlsFileFlag() || !server_name.empty();
  ApplyTlsFileFlags(&options->tls);
  options->tls.server_name = server_name;
}

}  // namespace mrpc::examples
