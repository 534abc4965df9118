#include "rpc/client_context.h"

#include <algorithm>
#include <utility>

#include "rpc/server_context.h"

namespace mrpc {

void ClientContext::ApplyOptions(const CallOptions& options) {
  absl::Time deadline = options.deadline;
  if (options.timeout > absl::ZeroDuration()) {
    deadline = std::min(deadline, absl::Now() + options.timeout);
  }
  deadline_ = deadline;
  if (options.parent != nullptr) set_parent(*options.parent);
  if (!options.hash_key.empty()) hash_key_ = options.hash_key;
  if (options.idempotent) idempotent_ = true;
  for (const auto& [key, value] : options.metadata) {
    AddMetadata(key, value).IgnoreError();  // Kept in metadata_error_.
  }
}

absl::Status ClientContext::AddMetadata(absl::string_view key,
                                        absl::string_view value) {
  absl::Status status = ValidateUserMetadataKey(key);
  if (!status.ok()) {
    if (metadata_error_.ok()) metadata_error_ = status;
    return status;
  }
  metadata_.emplace_back(std::string(key), std::string(value));
  return absl::OkStatus();
}

void ClientContext::set_parent(const ServerContext& parent) {
  deadline_ = std::min(deadline_, parent.deadline());
  trace_ = parent.trace().NewChild();
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

void ClientContext::SetOutcome(const absl::Status& status, std::string peer,
                               Metadata response_metadata) {
  status_ = status;
  peer_ = std::move(peer);
  response_metadata_ = std::move(response_metadata);
  MutexLock lock(&mutex_);
  cancel_hook_ = nullptr;
}

}  // namespace mrpc
