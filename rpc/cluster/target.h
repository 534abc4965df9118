// Target: what a channel's target string names (rpc/channel.h lists the
// forms), and the resolver that keeps a named service's servers current.
//
// Internal (rpc/channel.cc). Thread-safe (pure functions); NewResolver's
// resolver then belongs to `loop`.
#ifndef MRPC_RPC_CLUSTER_TARGET_H_
#define MRPC_RPC_CLUSTER_TARGET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/inet_address.h"
#include "rpc/cluster/etcd_client.h"
#include "rpc/cluster/resolver.h"

namespace mrpc {

class EventLoop;

struct ParsedTarget {
  enum class Kind { kHostPort, kList, kDns, kEtcd };
  Kind kind = Kind::kHostPort;
  // kHostPort and kList: the servers, resolved once (blocking for names).
  std::vector<InetAddress> addresses;
};

// Parses and checks `target`; INVALID_ARGUMENT (or the resolution's error
// for a "host:port" name) says what is wrong.
absl::StatusOr<ParsedTarget> ParseTarget(absl::string_view target);

// The resolver for a kDns or kEtcd target, on `loop`.
// `etcd` configures the etcd client of an etcd:// target (TLS).
absl::StatusOr<std::unique_ptr<Resolver>> NewResolver(
    EventLoop* loop, const ParsedTarget& parsed, absl::string_view target,
    const EtcdClientOptions& etcd = {});

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_TARGET_H_
