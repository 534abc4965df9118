// HealthStatus: each service's serving status, as the application sets it
// (Server::SetServingStatus) and /health and the mrpc.health.v1.Health
// service report it. "" is the whole server. "" and every registered
// service start SERVING; a service set before it is registered keeps what
// was set. Draining is not kept here: the readers combine it.
//
// Internal to the server. Thread-safe.
#ifndef MRPC_RPC_HEALTH_H_
#define MRPC_RPC_HEALTH_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "net/sync.h"

namespace mrpc {

class HealthStatus {
 public:
  enum class State { kServing, kNotServing, kUnknown };

  HealthStatus();
  HealthStatus(const HealthStatus&) = delete;
  HealthStatus& operator=(const HealthStatus&) = delete;

  // Sets `service`'s status (making it known if it was not).
  void Set(absl::string_view service, bool serving);
  // Makes `service` known, SERVING unless it was set before.
  void AddService(absl::string_view service);
  // kUnknown for a service neither registered nor set.
  State Get(absl::string_view service) const;

 private:
  mutable Mutex mutex_;
  absl::flat_hash_map<std::string, bool> serving_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc

#endif  // MRPC_RPC_HEALTH_H_
