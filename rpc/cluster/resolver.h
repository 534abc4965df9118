// Resolver: turns a target that names a service ("list://...", "dns:///...",
// "etcd://...") into the current set of backend addresses, and keeps it
// current. One resolver per cluster channel, on the channel's loop.
//
// Internal (rpc/cluster). Threading: created, started, used and destroyed on
// its loop only; the listener runs on that loop. A resolver never blocks its
// loop (DNS lookups and etcd requests are asynchronous) and calls no
// listener after it is destroyed.
#ifndef MRPC_RPC_CLUSTER_RESOLVER_H_
#define MRPC_RPC_CLUSTER_RESOLVER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/inet_address.h"

namespace mrpc {

class EventLoop;

// One resolution: the full set of backends now known (never a delta), or an
// error. After an error the channel keeps the last good set. An OK empty set
// means the service has no backends registered.
using ResolverListener =
    std::function<void(absl::StatusOr<std::vector<InetAddress>> backends)>;

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Starts resolving; `listener` runs on the loop for the first result and
  // for each change after it. Loop only.
  virtual void Start(ResolverListener listener) = 0;
  // A hint from the channel that its backends are failing: resolve again
  // soon (rate-limited by the resolver). Loop only. Default: nothing.
  virtual void Reresolve() {}
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_RESOLVER_H_
