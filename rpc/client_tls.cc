#include "rpc/client_tls.h"

namespace mrpc {

absl::StatusOr<std::shared_ptr<const TlsContext>> NewClientTlsContext(
    const ClientTlsOptions& options) {
  if (!options.enabled) return std::shared_ptr<const TlsContext>();
  TlsContext::Config config;
  config.role = TlsContext::Role::kClient;
  config.ca_file = options.ca_file;
  config.cert_file = options.cert_file;
  config.key_file = options.key_file;
  absl::StatusOr<std::shared_ptr<TlsContext>> context =
      TlsContext::Create(config);
  if (!context.ok()) return context.status();
  return std::shared_ptr<const TlsContext>(*std::move(context));
}

}  // namespace mrpc
