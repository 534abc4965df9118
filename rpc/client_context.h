// ClientContext: per-call options and controls on the client side: the
// deadline, best-effort cancellation, and what is known about the call
// afterwards (peer, status).
//
// Public. Set the deadline before starting the call; keep the context alive
// until the call completes. TryCancel() and IsCancelled() are thread-safe;
// status() and peer() are valid once the call has completed.
//
// Example:
//   ClientContext ctx;
//   ctx.set_timeout(absl::Milliseconds(200));
//   absl::Status s = channel->CallMethodBlocking("pkg.Svc", "Get", req, &resp,
//   &ctx);
#ifndef MRPC_RPC_CLIENT_CONTEXT_H_
#define MRPC_RPC_CLIENT_CONTEXT_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/sync.h"

namespace mrpc {

// Per-call options for the generated stubs' blocking and future forms.
// Value type.
struct CallOptions {
  // Fail with DEADLINE_EXCEEDED after this long. Zero: no timeout.
  // Default: zero.
  absl::Duration timeout = absl::ZeroDuration();
  // An absolute deadline; the earlier of this and `timeout` applies.
  // Default: none.
  absl::Time deadline = absl::InfiniteFuture();
};

class ClientContext {
 public:
  ClientContext() = default;
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // The call fails with DEADLINE_EXCEEDED if it has not completed by then.
  // Default: none (heartbeats still fail a call whose server goes silent).
  void set_deadline(absl::Time deadline) { deadline_ = deadline; }
  // Deadline = now + timeout.
  void set_timeout(absl::Duration timeout) {
    deadline_ = absl::Now() + timeout;
  }
  absl::Time deadline() const { return deadline_; }
  // Sets the deadline from `options` (the earlier of its two limits).
  void ApplyOptions(const CallOptions& options);

  // Completes the call with CANCELLED if it has not completed yet, and tells
  // the server (a CANCEL frame) so it can stop working on it. Best effort:
  // the call may complete with another status first. Thread-safe.
  void TryCancel();
  // True after TryCancel(). Thread-safe.
  bool IsCancelled() const;

  // After completion: the call's status, and the server it went to
  // ("127.0.0.1:9000"; empty if it never left the client).
  const absl::Status& status() const { return status_; }
  const std::string& peer() const { return peer_; }

  // For the channel: how to cancel the call in flight (null when done), and
  // the outcome. Thread-safe.
  void SetCancelHook(std::function<void()> hook);
  void SetOutcome(const absl::Status& status, std::string peer);

 private:
  absl::Time deadline_ = absl::InfiniteFuture();
  absl::Status status_;
  std::string peer_;
  mutable Mutex mutex_;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  std::function<void()> cancel_hook_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLIENT_CONTEXT_H_
