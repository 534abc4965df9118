// The dns: resolver: a target naming every A and AAAA record of a host,
// kept current. gRPC's syntax:
//
//   dns:[//authority/]host:port
//
//   dns:///kv.internal:9001              the system resolver (getaddrinfo:
//                                        /etc/hosts, nsswitch, resolv.conf)
//   dns://10.0.0.53/kv.internal:9001     ask the DNS server 10.0.0.53:53
//   dns://[fd00::53]:5353/kv.internal:9001
//   dns:///10.1.2.3:9001, dns:///[::1]:9001
//                                        a literal IP: itself, no lookup
//
// The port is required (a service port has no sane default); an IPv6 host
// goes in brackets. The authority must be a numeric IP (port 53 if none).
//
// Behaviour:
// - The listener gets the full set (port applied, duplicates dropped,
//   sorted: IPv4 before IPv6, then by address) on the first result and
//   whenever the set changes; an unchanged refresh reports nothing.
// - It resolves again every `refresh_interval` (or at the answer's smallest
//   TTL, see `use_ttl`), and soon after Reresolve(), at most once per
//   `min_reresolve_interval`. A Reresolve() while a lookup is in flight is
//   dropped: that lookup's answer is the fresh one.
// - A failed resolution is reported as an error Status (each time), logged
//   rate-limited, and retried with exponential backoff. A name that no
//   longer exists (NXDOMAIN) or has no A/AAAA records is NOT_FOUND, an
//   error, and never an OK empty set: a DNS blip or a mistyped zone edit
//   must not empty the channel, which keeps serving the last good set.
// - With an authority: UDP to that server from a fresh connected socket
//   (random source port) per resolution, A and AAAA queries in parallel
//   with random ids; each waits `query_timeout` and is re-sent up to
//   `query_retries` times. Datagrams from another address or port, with an
//   unknown id, or too large are ignored (logged rate-limited) and the
//   query keeps waiting; a malformed answer with the right id fails its
//   query. A resolution succeeds only if both queries got an answer, so a
//   lost AAAA answer never shrinks the set. A truncated answer (TC bit) is
//   an error: there is no DNS over TCP here (keep fewer records per name,
//   or use the system resolver, whose libc does TCP).
// - Without an authority: getaddrinfo on one process-wide background thread,
//   started on first use and shared by every dns: resolver (lookups queue
//   behind a slow one; `system_lookup_timeout` bounds how long a resolver
//   waits). The result comes back to the loop only if the resolver still
//   exists.
//
// Internal (rpc/cluster). Threading: see Resolver. NewDnsResolver may be
// called on any thread; Start, Reresolve and destruction run on `loop`.
// The listener never runs inside Start() or Reresolve(), and never after
// the resolver is destroyed.
//
// Example (on the loop):
//   absl::StatusOr<std::unique_ptr<Resolver>> r =
//       NewDnsResolver(loop, "dns:///kv.internal:9001");
//   if (!r.ok()) return r.status();
//   (*r)->Start([](absl::StatusOr<std::vector<InetAddress>> backends) {...});
#ifndef MRPC_RPC_CLUSTER_DNS_RESOLVER_H_
#define MRPC_RPC_CLUSTER_DNS_RESOLVER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "rpc/cluster/resolver.h"

namespace mrpc {

class EventLoop;

struct DnsResolverOptions {
  // Resolve again this long after a good answer. Default: 30 s.
  absl::Duration refresh_interval = absl::Seconds(30);
  // With an authority: refresh when the answer's smallest TTL runs out,
  // kept within [min_refresh, refresh_interval]. Default: false.
  bool use_ttl = false;
  // The shortest refresh `use_ttl` may choose. Default: 5 s.
  absl::Duration min_refresh = absl::Seconds(5);
  // Reresolve() starts at most one resolution per this interval (counted
  // from the start of the last one). Default: 1 s.
  absl::Duration min_reresolve_interval = absl::Seconds(1);
  // After a failure, retry after `initial_backoff`, doubling with each
  // further failure up to `max_backoff`, each wait jittered by +-20%.
  // Default: 1 s and 30 s.
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(30);
  // With an authority: how long one UDP query waits for its answer before
  // it is sent again, and how many times it is sent again. Default: 1 s, 2.
  absl::Duration query_timeout = absl::Seconds(1);
  int query_retries = 2;
  // Also look up IPv6 addresses (AAAA; AF_UNSPEC for getaddrinfo).
  // Default: true.
  bool ipv6 = true;
  // Without an authority: a getaddrinfo call not back by then fails the
  // resolution (the call is not interrupted; its late answer is dropped).
  // Default: 10 s.
  absl::Duration system_lookup_timeout = absl::Seconds(10);
};

// A parsed dns: target.
struct DnsTarget {
  std::optional<InetAddress> authority;  // The DNS server; none: system.
  std::string host;                      // Without brackets.
  uint16_t port = 0;
  std::optional<InetAddress> literal;  // Set when the host is an IP.
};

// Parses and validates a dns: target (see the file comment).
// INVALID_ARGUMENT naming what is wrong and the form wanted.
absl::StatusOr<DnsTarget> ParseDnsTarget(absl::string_view target);

// A resolver for `target` (the full "dns:..." string) on `loop` (not owned;
// must outlive the resolver). INVALID_ARGUMENT for a bad target or options.
absl::StatusOr<std::unique_ptr<Resolver>> NewDnsResolver(
    EventLoop* loop, absl::string_view target, DnsResolverOptions options = {});

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_DNS_RESOLVER_H_
