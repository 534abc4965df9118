// The TlsContext a ClientTlsOptions describes: what Channel, the etcd
// resolver and registration build their TLS connections on.
//
// Internal. A plain function, any thread.
#ifndef MRPC_RPC_CLIENT_TLS_H_
#define MRPC_RPC_CLIENT_TLS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "net/tls_context.h"
#include "rpc/tls_options.h"

namespace mrpc {

// Null when !options.enabled; an error names the file that is wrong.
absl::StatusOr<std::shared_ptr<const TlsContext>> NewClientTlsContext(
    const ClientTlsOptions& options);

}  // namespace mrpc

#endif  // MRPC_RPC_CLIENT_TLS_H_
