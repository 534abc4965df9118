#include "rpc/server_context.h"

#include <utility>

namespace mrpc {

void ServerContext::NotifyOnCancel(absl::AnyInvocable<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    if (!IsCancelled()) {
      on_cancel_ = std::move(callback);
      has_cancel_callback_.store(true, std::memory_order_release);
      return;
    }
  }
  callback();  // Already cancelled: MarkCancelled() has run its callback.
}

bool ServerContext::MarkCancelled() {
  absl::AnyInvocable<void()> callback;
  {
    std::lock_guard<std::mutex> lock(cancel_mutex_);
    if (cancelled_.exchange(true, std::memory_order_acq_rel)) return false;
    callback = std::move(on_cancel_);
  }
  if (callback) callback();
  return true;
}

void ServerContext::DropCancelCallback() {
  if (!has_cancel_callback_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(cancel_mutex_);
  on_cancel_ = nullptr;
}

absl::Status ServerContext::AddResponseMetadata(absl::string_view key,
                                                absl::string_view value) {
  absl::Status status = ValidateUserMetadataKey(key);
  if (!status.ok()) return status;
  response_metadata_.emplace_back(std::string(key), std::string(value));
  return absl::OkStatus();
}

const TraceContext& ServerContext::trace() const {
  if (!trace_.has_value()) {
    absl::optional<absl::string_view> header =
        FindMetadata(metadata_, kTraceparentKey);
    if (header.has_value()) trace_ = TraceContext::Parse(*header);
    if (!trace_.has_value()) trace_ = TraceContext::NewRoot();
  }
  return *trace_;
}

}  // namespace mrpc
