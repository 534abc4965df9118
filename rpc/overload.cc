#include "rpc/overload.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace mrpc {
namespace overload_internal {

ConcurrencyLimiter* MakeLimiter(LoopHandle* handle, const ServerMethod& method) {
  auto& limiters = handle->limiters;
  if (static_cast<size_t>(method.index) >= limiters.size()) {
    limiters.resize(method.index + 1);
  }
  std::unique_ptr<ConcurrencyLimiter>& limiter = limiters[method.index];
  if (limiter == nullptr) {
    ConcurrencyLimiterOptions options;
    options.fixed_limit = method.options.max_concurrency;
    limiter = std::make_unique<ConcurrencyLimiter>(options);
  }
  return limiter.get();
}

absl::Status Shed(LoopHandle* handle, const ServerMethod& method,
                  uint64_t timeout_us, int64_t recent_ns) {
  LoopCounters::Add(handle->counters.shed);
  return absl::ResourceExhaustedError(absl::StrCat(
      "method ", method.service, ".", method.name, ": the deadline of ",
      absl::FormatDuration(absl::Microseconds(static_cast<int64_t>(timeout_us))),
      " cannot cover the method's recent latency of ",
      absl::FormatDuration(
          absl::Trunc(absl::Nanoseconds(recent_ns), absl::Microseconds(1))),
      "; refused at once (deadline-aware shedding)"));
}

absl::Status Limited(LoopHandle* handle, const ServerMethod& method,
                     const ConcurrencyLimiter& limiter) {
  LoopCounters::Add(handle->counters.limited);
  return absl::ResourceExhaustedError(absl::StrCat(
      "method ", method.service, ".", method.name,
      " is at its concurrency limit of ", limiter.limit(),
      method.options.max_concurrency > 0 ? " (fixed" : " (adaptive",
      ", per I/O loop); retry later"));
}

ConcurrencyLimiter::Outcome OutcomeOf(const absl::Status& sent) {
  // The server gave up on these (or the client did, usually on a timeout):
  // they count against the limit. Any other status was the handler's
  // answer, a served call.
  switch (sent.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInternal:
      return ConcurrencyLimiter::kFailed;
    default:
      return ConcurrencyLimiter::kOk;
  }
}

}  // namespace overload_internal
}  // namespace mrpc
