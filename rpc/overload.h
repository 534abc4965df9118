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

// Decides whether a call of `method` arriving on `handle`'s loop with
// `remaining` time to its deadline (InfiniteDuration: none) may run. On
// refusal returns null and sets `*refusal` (RESOURCE_EXHAUSTED; counted as
// `shed` or `limited`). Else returns the limiter that admitted it (null if
// protection is off), to be passed to ReleaseCall when it is answered.
ConcurrencyLimiter* AdmitCall(LoopHandle* handle, const ServerMethod& method,
                              const ServerOptions& options,
                              absl::Duration remaining, absl::Status* refusal);

// An admitted call was answered with `sent`: `admitted_ns` and `now_ns`
// are the loop's cached clock at admission and answer.
void ReleaseCall(ConcurrencyLimiter* limiter, int64_t admitted_ns,
                 const absl::Status& sent, int64_t now_ns);

}  // namespace mrpc

#endif  // MRPC_RPC_OVERLOAD_H_
