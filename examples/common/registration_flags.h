// The command-line flags every server program takes to register itself in
// etcd (ServerOptions::registration; docs/guide.md, "Registering a server
// in etcd"):
//   --register=etcd://127.0.0.1:2379/services/<name>   (empty: don't)
//   --advertise=host:port      (default: the bound address)
//   --register_ttl=10s         (the lease's TTL)
//
// Call from main(), after absl::ParseCommandLine().
#ifndef MRPC_EXAMPLES_COMMON_REGISTRATION_FLAGS_H_
#define MRPC_EXAMPLES_COMMON_REGISTRATION_FLAGS_H_

#include "rpc/server.h"

namespace mrpc::examples {

// Copies the flags into options->registration.
void ApplyRegistrationFlags(ServerOptions* options);

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_REGISTRATION_FLAGS_H_
