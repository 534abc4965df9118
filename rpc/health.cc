#include "rpc/health.h"

namespace mrpc {

HealthStatus::HealthStatus() {
  MutexLock lock(&mutex_);
  serving_[""] = true;
}

void HealthStatus::Set(absl::string_view service, bool serving) {
  MutexLock lock(&mutex_);
  serving_[service] = serving;
}

void HealthStatus::AddService(absl::string_view service) {
  MutexLock lock(&mutex_);
  serving_.try_emplace(service, true);
}

HealthStatus::State HealthStatus::Get(absl::string_view service) const {
  MutexLock lock(&mutex_);
  auto it = serving_.find(service);
  if (it == serving_.end()) return State::kUnknown;
  return it->second ? State::kServing : State::kNotServing;
}

}  // namespace mrpc
