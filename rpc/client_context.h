// ClientContext: per-call options and controls on the client side: the
// deadline, request metadata and trace, best-effort cancellation, and what
// is known about the call afterwards (peer, status, response metadata).
//
// Public. Set the deadline, metadata and parent before starting the call;
// keep the context alive until the call completes; one context per call.
// TryCancel() and IsCancelled() are thread-safe; status(), peer() and
// response_metadata() are valid once the call has completed.
//
// Example:
//   ClientContext ctx;
//   ctx.set_timeout(absl::Milliseconds(200));
//   CHECK(ctx.AddMetadata("x-request-id", "42").ok());
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
#include "absl/types/optional.h"
#include "net/sync.h"
#include "rpc/metadata.h"
#include "rpc/trace.h"

namespace mrpc {

class ServerContext;

// Per-call options for the generated stubs' blocking and future forms.
// Value type.
struct CallOptions {
  // Fail with DEADLINE_EXCEEDED after this long. Zero: no timeout.
  // Default: zero.
  absl::Duration timeout = absl::ZeroDuration();
  // An absolute deadline; the earlier of this and `timeout` applies.
  // Default: none.
  absl::Time deadline = absl::InfiniteFuture();
  // Request metadata (keys as ValidateUserMetadataKey allows; a bad key
  // fails the call with INVALID_ARGUMENT). Default: none.
  Metadata metadata;
  // The handler context this call is made for (ClientContext::set_parent).
  // Not owned; must outlive the call's start. Default: none.
  const ServerContext* parent = nullptr;
  // ClientContext::set_hash_key. Default: none.
  std::string hash_key;
  // ClientContext::set_idempotent. Default: false.
  bool idempotent = false;
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
  // Applies `options`: the deadline (the earlier of its two limits),
  // metadata and parent. A bad metadata key fails the call, when it
  // starts, with INVALID_ARGUMENT.
  void ApplyOptions(const CallOptions& options);

  // Appends request metadata. INVALID_ARGUMENT (and nothing added) for a
  // malformed key or one with the reserved "mrpc-" prefix.
  absl::Status AddMetadata(absl::string_view key, absl::string_view value);
  const Metadata& metadata() const { return metadata_; }

  // Makes this call part of the work of the handler whose context is
  // `parent`: the deadline becomes the earlier of the two, and the call
  // carries the parent's trace with a new span id (W3C traceparent). Call
  // on the handler's thread, before starting the call.
  void set_parent(const ServerContext& parent);
  // Sends `trace` with the call (as traceparent metadata).
  void set_trace(const TraceContext& trace) { trace_ = trace; }
  // The trace the call carries, if any.
  const absl::optional<TraceContext>& trace() const { return trace_; }

  // With the consistent_hash policy, calls with the same key go to the
  // same server while it is up. Default: none (round robin).
  void set_hash_key(std::string key) { hash_key_ = std::move(key); }
  const std::string& hash_key() const { return hash_key_; }
  // This call is safe to retry after UNAVAILABLE and to send twice (backup
  // requests), whatever its method. Default: what the method says.
  void set_idempotent(bool idempotent) { idempotent_ = idempotent; }
  bool idempotent() const { return idempotent_; }

  // Completes the call with CANCELLED if it has not completed yet, and tells
  // the server (a CANCEL frame) so it can stop working on it. Best effort:
  // the call may complete with another status first. Thread-safe.
  void TryCancel();
  // True after TryCancel(). Thread-safe.
  bool IsCancelled() const;

  // After completion: the call's status, the server that answered it (or
  // its last attempt went to) ("127.0.0.1:9000"; empty if it never left
  // the client), and the
  // server's response metadata (empty if none came).
  const absl::Status& status() const { return status_; }
  const std::string& peer() const { return peer_; }
  const Metadata& response_metadata() const { return response_metadata_; }

  // For the channel: how to cancel the call in flight (null when done), and
  // the outcome. Thread-safe.
  void SetCancelHook(std::function<void()> hook);
  void SetOutcome(const absl::Status& status, std::string peer,
                  Metadata response_metadata = {});
  // For the channel: the first error from AddMetadata/ApplyOptions, which
  // fails the call.
  const absl::Status& metadata_error() const { return metadata_error_; }

 private:
  absl::Time deadline_ = absl::InfiniteFuture();
  Metadata metadata_;
  absl::Status metadata_error_;
  absl::optional<TraceContext> trace_;
  std::string hash_key_;
  bool idempotent_ = false;
  absl::Status status_;
  std::string peer_;
  Metadata response_metadata_;
  mutable Mutex mutex_;
  bool cancelled_ ABSL_GUARDED_BY(mutex_) = false;
  std::function<void()> cancel_hook_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLIENT_CONTEXT_H_
