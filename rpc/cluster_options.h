// ClusterOptions: how a channel spreads calls over the backends its target
// names, steps around failing ones, and retries (docs/guide.md, "Targets,
// load balancing and retries").
//
// Public (a field of ChannelOptions). Value types.
#ifndef MRPC_RPC_CLUSTER_OPTIONS_H_
#define MRPC_RPC_CLUSTER_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "rpc/tls_options.h"

namespace mrpc {

struct OutlierOptions {
  // Failures in a row (UNAVAILABLE, a lost connection, a failed connection
  // attempt) that take a backend out of rotation. Zero: never. Default: 5.
  int consecutive_failures = 5;
  // How long: base_ejection_time, doubling with each ejection in a row, up
  // to max_ejection_time. Default: 1 s and 30 s.
  absl::Duration base_ejection_time = absl::Seconds(1);
  absl::Duration max_ejection_time = absl::Seconds(30);
  // At most this share of the backends is out at once (at least one may
  // always be). Default: 50.
  int max_ejection_percent = 50;
};

struct RetryOptions {
  // Attempts per call, the first included. Retries go to another backend
  // where there is one, and all attempts share the call's deadline.
  // Retried: a call the server refused before its method started (any
  // method), and, for idempotent methods only, a call that failed with
  // UNAVAILABLE (its connection lost, its server gone). 1: never retry.
  // Default: 3.
  int max_attempts = 3;
  // Idempotent methods only: when the first attempt has not answered after
  // this long, a backup request goes to a second backend; the first answer
  // wins and the other attempt is cancelled. Zero: no backup requests.
  // Default: zero.
  absl::Duration backup_request_delay = absl::ZeroDuration();
  // The retry budget: each call that could be retried (the target names
  // more than one server) earns `budget_ratio` of a token, each retry or
  // backup request spends one, at most `budget_burst` are saved. So retries
  // add at most about 10% load to a failing fleet. Default: 0.1, 10.
  double budget_ratio = 0.1;
  double budget_burst = 10;
};

struct ClusterOptions {
  // "round_robin", "p2c" (power of two choices on calls in flight and
  // latency) or "consistent_hash" (on ClientContext::set_hash_key; calls
  // without a key go round robin). Default: "round_robin".
  std::string lb_policy = "round_robin";
  // Methods that may be retried after UNAVAILABLE and sent as backup
  // requests, besides those the .proto marks (idempotency_level IDEMPOTENT
  // or NO_SIDE_EFFECTS; generated stubs pass it) and calls whose context
  // says so: "pkg.Service/Method", or "pkg.Service/*" for all of a service.
  // Default: none.
  std::vector<std::string> idempotent_methods;
  RetryOptions retry;
  OutlierOptions outlier;
  // TLS to etcd, for etcd:// targets whose etcd serves https (and, with a
  // certificate, checks clients: --client-cert-auth). Default: off.
  ClientTlsOptions etcd_tls;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_OPTIONS_H_
