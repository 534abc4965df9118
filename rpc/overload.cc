#include "rpc/overload.h"

#include <memory>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

ConcurrencyLimiter* LimiterFor(LoopHandle* handle, const ServerMethod& method) {
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

}  // namespace

ConcurrencyLimiter* AdmitCall(LoopHandle* handle, const ServerMethod& method,
                              const ServerOptions& options,
                              absl::Duration remaining, absl::Status* refusal) {
  if (!options.overload_protection) return nullptr;
  ConcurrencyLimiter* limiter = LimiterFor(handle, method);
  if (method.options.shed_by_deadline &&
      remaining != absl::InfiniteDuration()) {
    // 0 until a few calls were served: never shed on no evidence.
    const int64_t recent_ns = limiter->recent_latency_ns();
    if (recent_ns > 0 && remaining < absl::Nanoseconds(recent_ns)) {
      LoopCounters::Add(handle->counters.shed);
      *refusal = absl::ResourceExhaustedError(absl::StrCat(
          "method ", method.service, ".", method.name, ": the deadline of ",
          absl::FormatDuration(absl::Trunc(remaining, absl::Microseconds(1))),
          " cannot cover the method's recent latency of ",
          absl::FormatDuration(absl::Trunc(absl::Nanoseconds(recent_ns),
                                           absl::Microseconds(1))),
          "; refused at once (deadline-aware shedding)"));
      return nullptr;
    }
  }
  if (!limiter->TryAcquire()) {
    LoopCounters::Add(handle->counters.limited);
    *refusal = absl::ResourceExhaustedError(absl::StrCat(
        "method ", method.service, ".", method.name,
        " is at its concurrency limit of ", limiter->limit(),
        method.options.max_concurrency > 0 ? " (fixed" : " (adaptive",
        ", per I/O loop); retry later"));
    return nullptr;
  }
  return limiter;
}

void ReleaseCall(ConcurrencyLimiter* limiter, int64_t admitted_ns,
                 const absl::Status& sent, int64_t now_ns) {
  if (limiter == nullptr) return;
  // The server gave up on these (or the client did, usually on a timeout):
  // they count against the limit. Any other status was the handler's
  // answer, a served call.
  ConcurrencyLimiter::Outcome outcome = ConcurrencyLimiter::kOk;
  switch (sent.code()) {
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kInternal:
      outcome = ConcurrencyLimiter::kFailed;
      break;
    default:
      break;
  }
  limiter->Release(now_ns - admitted_ns, outcome, now_ns);
}

}  // namespace mrpc
