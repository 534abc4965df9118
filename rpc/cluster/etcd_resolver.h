// EtcdResolver: the Resolver (rpc/cluster/resolver.h) for "etcd://" targets:
// a service's backends are the keys under "<path>/" in etcd, each holding
// {"address":"host:port", ...} (what rpc/cluster/registration.h writes).
//
// Internal (rpc/cluster). Threading: as every Resolver: created, started
// and destroyed on its loop; the listener runs there; nothing after the
// resolver is destroyed.
//
// How it follows etcd: it reads the keys (Range), reports the set, then
// watches from the next revision and reports the full new set whenever a
// change alters it. A value that is not such JSON (or whose address is not
// a numeric IP or localhost with a port) is skipped, with a rate-limited
// log naming the key. When etcd is unreachable or the watch breaks it keeps
// the last set (reports nothing; before any set, one UNAVAILABLE), logs
// once per outage that it serves the last known N backends, and retries
// with backoff (100 ms doubling to 5 s, jitter), resuming the watch after
// the last revision seen; if that revision was compacted, it reads the
// keys again. Reresolve() does nothing: the watch is the source.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Resolver>> r =
//       NewEtcdResolver(loop, "etcd://127.0.0.1:2379/services/kv");
//   (*r)->Start([](absl::StatusOr<std::vector<InetAddress>> backends) {...});
#ifndef MRPC_RPC_CLUSTER_ETCD_RESOLVER_H_
#define MRPC_RPC_CLUSTER_ETCD_RESOLVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "rpc/cluster/etcd_client.h"
#include "rpc/cluster/resolver.h"

namespace mrpc {

class EventLoop;

// A parsed "etcd://h1:p1[,h2:p2...]/path" target.
struct EtcdTarget {
  std::vector<InetAddress> endpoints;
  // "/services/kv": no trailing slash. Backends are the keys under
  // key_prefix() ("/services/kv/").
  std::string path;
  std::string key_prefix() const { return path + "/"; }
};

// INVALID_ARGUMENT, saying what is wrong, for anything else: another
// scheme, no endpoint, an endpoint that is not a numeric IP (or localhost)
// with a port (host names would need a blocking DNS lookup), a path that is
// empty or "/".
absl::StatusOr<EtcdTarget> ParseEtcdTarget(absl::string_view target);

// A registered backend's value, {"address":"127.0.0.1:9001",...}: its
// address. INVALID_ARGUMENT for anything else.
absl::StatusOr<InetAddress> ParseEtcdEndpointValue(absl::string_view value);

struct EtcdResolverOptions {
  // The etcd client's timeouts and caps.
  EtcdClientOptions client;
  // Retry after an outage: first delay, growth x2 up to the max, jitter.
  // Default: 100 ms, 5 s, 0.2.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double jitter = 0.2;
  // While watching, read the keys this often and compare: a watch whose
  // connection went silent (a partition, a proxy that dropped the stream)
  // or that lost an event is found out and started again, and the keys
  // read are reported. Zero: never. Default: 30 s.
  absl::Duration check_interval = absl::Seconds(30);
};

// A resolver for `target` on `loop` (not owned; must outlive it). Fails only
// for a bad target; etcd is not contacted until Start(). Loop only.
absl::StatusOr<std::unique_ptr<Resolver>> NewEtcdResolver(
    EventLoop* loop, absl::string_view target,
    EtcdResolverOptions options = {});

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_ETCD_RESOLVER_H_
