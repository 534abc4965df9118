// Registration: a server announcing itself in etcd, where etcd:// resolvers
// (rpc/cluster/etcd_resolver.h) find it. It writes
//   <path>/<host:port> = {"address":"host:port","pid":N}
// under a lease of `ttl`, renews the lease every ttl/3, and when the lease
// is lost (it expired while etcd was unreachable, etcd forgot it) grants a
// new one and writes the key again. If the process dies, the lease expires
// within ttl and etcd deletes the key. Deregister() revokes the lease, which
// deletes the key at once: how a server leaves before it stops serving.
//
// Internal (Server uses it for ServerOptions::registration). Threading:
// created, used and destroyed on its loop (not owned; must outlive it);
// callbacks run there, none after destruction. Destroying it without
// Deregister() leaves the key to expire with the lease.
//
// Example:
//   RegistrationOptions options;
//   options.target = "etcd://127.0.0.1:2379/services/kv";
//   options.advertise = "127.0.0.1:9001";
//   auto registration = Registration::Create(loop, options);   // validates
//   (*registration)->Start();
//   ...
//   (*registration)->Deregister(absl::Seconds(2), [](absl::Status) {...});
#ifndef MRPC_RPC_CLUSTER_REGISTRATION_H_
#define MRPC_RPC_CLUSTER_REGISTRATION_H_

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "rpc/cluster/etcd_client.h"

namespace mrpc {

class EventLoop;

struct RegistrationOptions {
  // "etcd://host:port[,host:port...]/services/<name>" (ParseEtcdTarget).
  // Required.
  std::string target;
  // The address to publish, "host:port" with a numeric IP (or localhost).
  // Required.
  std::string advertise;
  // The lease's TTL, whole seconds, at least 1 s. Default: 10 s.
  absl::Duration ttl = absl::Seconds(10);
  // The etcd client's timeouts and caps.
  EtcdClientOptions client;
  // Retry after a failure: first delay, x2 up to the max, jitter.
  // Default: 100 ms, 5 s, 0.2.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double jitter = 0.2;
};

class Registration {
 public:
  // INVALID_ARGUMENT for a bad target, advertise address or ttl. Does not
  // contact etcd. Loop only.
  static absl::StatusOr<std::unique_ptr<Registration>> Create(
      EventLoop* loop, const RegistrationOptions& options);
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  // Registers and keeps the registration alive, retrying (and logging,
  // rate-limited) while etcd is unreachable. Loop only; once.
  void Start();
  // Stops renewing and revokes the lease (deleting the key). `done` runs
  // once: with the revoke's status, or DEADLINE_EXCEEDED after `timeout`
  // (the key then expires with the lease). OK at once if nothing was
  // registered. Loop only.
  void Deregister(absl::Duration timeout,
                  absl::AnyInvocable<void(absl::Status)> done);

  // "<path>/<advertise>".
  const std::string& key() const;
  // The key is written under a live lease (as of the last renewal).
  bool registered() const;

  class Core;

 private:
  explicit Registration(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_REGISTRATION_H_
