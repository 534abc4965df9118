// Overload protection at a call's arrival: deadline-aware shedding and the
// method's concurrency limit on the loop that received it. The policy
// lives in ConcurrencyLimiter (rpc/concurrency_limiter.h); this is the
// server's glue: which limiter, what to say when refusing, what counts as
// a failed call.
//
// Internal to the server. Loop only: a loop's limiters (LoopHandle::limiters)
// are touched by that loop alone, so admission takes no lock.
#ifndef MRPC_RPC_OVERLOAD_H_
#define MRPC_RPC_OVERLOAD_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rpc/concurrency_limiter.h"
#include "rpc/server_shared.h"

namespace mrpc {

namespace overload_internal {
// The cold paths: a method's first call on a loop, and refusals.
ConcurrencyLimiter* MakeLimiter(LoopHandle* handle, const ServerMethod& method);
absl::Status Shed(LoopHandle* handle, const ServerMethod& method,
                  uint64_t timeout_us, int64_t recent_ns);
absl::Status Limited(LoopHandle* handle, const ServerMethod& method,
                     const ConcurrencyLimiter& limiter);
ConcurrencyLimiter::Outcome OutcomeOf(const absl::Status& sent);
}  // namespace overload_internal

// Decides whether a call of `method` arriving on `handle`'s loop with a
// timeout of `timeout_us` (the wire's: 0 is none), on a connection with
// `caller_in_flight` calls in flight, may run. On refusal
// returns null and sets `*refusal` (RESOURCE_EXHAUSTED; counted as `shed`
// or `limited`). Else returns the limiter that admitted it (null if
// protection is off), to be passed to ReleaseCall when it is answered; if
// the limiter is inline_only() the call was not counted: if it is not
// answered by the end of its start, call EndInlineOnly() and pass it then.
// `*light` is set when the call was admitted as a light caller's
// (ConcurrencyLimiter::TryAcquire); pass it to ReleaseCall.
// Inline: every call passes here.
inline ConcurrencyLimiter* AdmitCall(LoopHandle* handle,
                                     const ServerMethod& method,
                                     const ServerOptions& options,
                                     uint64_t timeout_us,
                                     size_t caller_in_flight,
                                     absl::Status* refusal, bool* light) {
  if (!options.overload_protection) return nullptr;
  const auto& limiters = handle->limiters;
  ConcurrencyLimiter* limiter =
      static_cast<size_t>(method.index) < limiters.size()
          ? limiters[method.index].get()
          : nullptr;
  if (limiter == nullptr) {
    limiter = overload_internal::MakeLimiter(handle, method);
  }
  // A method whose calls have all been answered inline has nothing in
  // flight to limit (see ConcurrencyLimiter::inline_only()).
  if (limiter->inline_only()) return limiter;
  // At arrival the time left is the timeout. recent_latency_ns() is 0 until
  // a few calls were served: never shed on no evidence.
  if (timeout_us != 0 && method.options.shed_by_deadline) {
    const int64_t recent_ns = limiter->recent_latency_ns();
    if (timeout_us < static_cast<uint64_t>(recent_ns) / 1000) {
      *refusal = overload_internal::Shed(handle, method, timeout_us, recent_ns);
      return nullptr;
    }
  }
  if (!limiter->TryAcquire(caller_in_flight, light)) {
    *refusal = overload_internal::Limited(handle, method, *limiter);
    return nullptr;
  }
  return limiter;
}

// An admitted call was answered with `sent`: `admitted_ns` and `now_ns`
// are the loop's cached clock at admission and answer.
inline void ReleaseCall(ConcurrencyLimiter* limiter, int64_t admitted_ns,
                        bool light, const absl::Status& sent, int64_t now_ns) {
  if (limiter == nullptr) return;
  limiter->Release(
      now_ns - admitted_ns,
      sent.ok() ? ConcurrencyLimiter::kOk : overload_internal::OutcomeOf(sent),
      now_ns, light);
}

}  // namespace mrpc

#endif  // MRPC_RPC_OVERLOAD_H_
