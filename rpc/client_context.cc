#include "rpc/client_context.h"

#include <algorithm>
#include <utility>

namespace mrpc {

void ClientContext::ApplyOptions(const CallOptions& options) {
  absl::Time deadline = options.deadline;
  if (options.timeout > absl::ZeroDuration()) {
    deadline = std::min(deadline, absl::Now() + options.timeout);
  }
  deadline_ = deadline;
}

void ClientContext::TryCancel() {
  std::function<void()> hook;
  {
    MutexLock lock(&mutex_);
    cancelled_ = true;
    hook = cancel_hook_;
  }
  if (hook) hook();  // Outside the lock: it queues work on the channel's loop.
}

bool ClientContext::IsCancelled() const {
  MutexLock lock(&mutex_);
  return cancelled_;
}

void ClientContext::SetCancelHook(std::function<void()> hook) {
  bool cancel_now;
  {
    MutexLock lock(&mutex_);
    cancel_hook_ = hook;
    cancel_now = cancelled_ && hook;
  }
  if (cancel_now) hook();  // Cancelled before the call got going.
}

void ClientContext::SetOutcome(const absl::Status& status, std::string peer) {
  status_ = status;
  peer_ = std::move(peer);
  MutexLock lock(&mutex_);
  cancel_hook_ = nullptr;
}

}  // namespace mrpc
