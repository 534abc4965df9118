// ConcurrencyLimiter: how many calls of one method may be in flight at once,
// adapted to the latency and throughput it measures (after brpc's
// auto_concurrency_limiter), plus the method's recent latency for
// deadline-aware shedding.
//
// Internal to the server (rpc/overload.h owns one per loop per method).
// Not thread-safe, by design: each connection loop keeps its own limiter
// per method and touches it only on that loop, so the hot path takes no
// lock and writes no shared cache line. The clock is injected: every call
// that needs the time takes `now_ns` (the loop passes its cached clock),
// so tests drive a simulated server without sleeping.
//
// The adaptive limit, per window of samples (a window closes after
// min_samples answers once window_ns has passed, or after max_samples):
//   limit = max_qps * noload_latency * (1 + explore)        (Little's law)
// max_qps is the best successful throughput seen (follows rises at once,
// falls slowly); noload_latency the lowest window-mean latency seen (falls
// by EMA); explore (min_explore..max_explore) grows while latency stays
// near noload and shrinks when calls queue. Above capacity, calls queue and
// the limit settles just above the concurrency the server really has.
// Three guards make it fit to be on by default:
//   - The limit shrinks only under pressure (it refused calls in the
//     window, or more than twice the formula's concurrency is in flight)
//     and when latency shows queueing (mean > noload * (1 + max_explore)):
//     below capacity the formula sees only the offered load, and traffic
//     that does not queue must keep passing.
//   - Overload's onset: while under pressure and each 10 answers
//     average over 2x noload, it is cut at once to
//     limit * noload / mean * (1 + explore) (a gradient step, latency only),
//     instead of queueing calls for a whole window.
//   - Re-measure: noload_latency only falls, so under overload (binding
//     windows) it is re-measured from time to time: the limit is halved for
//     one window (the queue drains) whose mean replaces noload, up or down.
//     If the old limit had queued calls (its mean was 1.5x the new
//     noload or more) the formula applies and the next re-measure comes soon
//     (how a limit far too high converges); else the old limit is restored and
//     the interval doubles up to remeasure_max_ns. A higher noload scales
//     max_qps down so the limit does not grow with latency.
//
// Example (one loop, one method):
//   ConcurrencyLimiter limiter;
//   if (!limiter.TryAcquire()) { refuse RESOURCE_EXHAUSTED; }
//   ... later, when the call is answered:
//   limiter.Release(now_ns - admitted_ns, ConcurrencyLimiter::kOk, now_ns);
#ifndef MRPC_RPC_CONCURRENCY_LIMITER_H_
#define MRPC_RPC_CONCURRENCY_LIMITER_H_

#include <cstddef>
#include <cstdint>

namespace mrpc {

struct ConcurrencyLimiterOptions {
  // > 0: a fixed limit (no adaptation); < 0: no limit (latency is still
  // tracked); 0: adaptive. Default: 0.
  int fixed_limit = 0;
  // The adaptive limit until overload brings it down (it shrinks only when
  // it refused calls and they queue): high, so that healthy traffic with
  // many calls open at once (timers, chained calls) is never refused; a
  // server overloaded from a cold start queues up to this many calls for
  // the first few windows. Default: 1000.
  int initial_limit = 1000;
  // The adaptive limit never goes below this (nor above max_limit).
  // Default: 2, 100000.
  int min_limit = 2;
  int max_limit = 100000;
  // A window closes after min_samples answers once window_ns has passed,
  // or after max_samples answers; one with fewer than min_samples after
  // 4 x window_ns is dropped (too little traffic to judge).
  // Default: 50, 200, 100 ms.
  int min_samples = 50;
  int max_samples = 200;
  int64_t window_ns = 100'000'000;
  // Headroom over the measured concurrency. Default: 0.06 .. 0.3, moving
  // 0.02 per window.
  double min_explore = 0.06;
  double max_explore = 0.3;
  double explore_step = 0.02;
  // A failed answer's latency counts this many times against the window's
  // mean (brpc's fail punish). Default: 1.
  double fail_punish = 1.0;
  // Re-measure noload latency this soon after a big correction, doubling
  // to at most remeasure_max_ns. Default: 100 ms, 10 s.
  int64_t remeasure_min_ns = 100'000'000;
  int64_t remeasure_max_ns = 10'000'000'000;
};

class ConcurrencyLimiter {
 public:
  enum Outcome {
    kOk,      // Served (any status the handler chose counts as served).
    kFailed,  // Timed out, cancelled, server-side failure: punished.
  };

  explicit ConcurrencyLimiter(const ConcurrencyLimiterOptions& options = {});
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // Admits one call if fewer than limit() are in flight. A call that is
  // answered before the next is admitted (an inline handler) leaves
  // in_flight() at 0, so it is never refused: the limit is at least 1.
  // `caller_in_flight` is what the caller (a connection) already has in
  // flight: at an adaptive limit, a light caller (an eighth of the limit or
  // less) is still admitted, with up to a quarter of the limit (plus one)
  // of such calls in flight beyond it, so that one connection holding the
  // whole limit cannot lock the others out; the heavy callers are refused
  // first. The light calls' quarter is their own: it stays open when the
  // limit falls below what a heavy caller already holds. Sets `*light`
  // (if not null) when the call was admitted that way; pass it to
  // Release(). A fixed limit is exact.
  bool TryAcquire(size_t caller_in_flight = SIZE_MAX, bool* light = nullptr) {
    if (limit_ >= 0 && in_flight_ >= limit_) {
      const bool admit_light =
          options_.fixed_limit == 0 &&
          caller_in_flight <= static_cast<size_t>(limit_ / 8) &&
          light_in_flight_ < limit_ / 4 + 1;
      if (!admit_light) {
        ++refused_;
        return false;
      }
      ++light_in_flight_;
      if (light != nullptr) *light = true;
    }
    ++in_flight_;
    return true;
  }
  // An admitted call was answered after `latency_ns`, at `now_ns`. `light`:
  // TryAcquire admitted it as a light caller's.
  void Release(int64_t latency_ns, Outcome outcome, int64_t now_ns,
               bool light = false);

  // A method is inline-only until one of its calls outlives its handler's
  // first run (answered later, or queued for a worker): until then no call
  // of it is ever in flight when the next arrives, so there is nothing to
  // limit, and its calls skip the limiter entirely (no count, no sample):
  // the binary path pays one test. Calls admitted while inline_only() are
  // not acquired; the first that goes asynchronous calls EndInlineOnly(),
  // which counts it in flight, and every call after it is limited.
  bool inline_only() const { return inline_only_; }
  void EndInlineOnly() {
    inline_only_ = false;
    ++in_flight_;
  }

  // The current limit; -1: unlimited.
  int limit() const { return limit_; }
  int in_flight() const { return in_flight_; }
  // The mean latency of recent served calls (an EWMA over about 8
  // answers); 0 until kMinRecentSamples answers were seen.
  int64_t recent_latency_ns() const {
    return recent_samples_ >= kMinRecentSamples ? recent_latency_ns_ : 0;
  }
  // The estimates behind the limit (for tests and stats).
  int64_t noload_latency_ns() const { return noload_latency_ns_; }
  double max_qps() const { return max_qps_; }
  double explore() const { return explore_; }

  static constexpr int kMinRecentSamples = 4;

 private:
  void CloseWindow(int64_t now_ns);
  void ResetWindow(int64_t now_ns);
  int Clamp(double limit) const;
  // The limit binds (it refused calls), or far more calls are in flight
  // than the last window's throughput and noload latency need: overload
  // under a limit still too high to refuse.
  bool UnderPressure() const {
    return refused_ > 0 || (needed_ > 0 && in_flight_ > 2 * needed_);
  }

  const ConcurrencyLimiterOptions options_;
  bool inline_only_ = true;
  int limit_;
  int in_flight_ = 0;
  int light_in_flight_ = 0;  // Of in_flight_, admitted as light callers'.
  // Deadline shedding's estimate.
  int64_t recent_latency_ns_ = 0;
  int recent_samples_ = 0;
  // The current window.
  int64_t window_start_ns_ = 0;  // 0: none open.
  int ok_count_ = 0;
  int failed_count_ = 0;
  int refused_ = 0;  // TryAcquire refusals: the limit was binding.
  int64_t ok_total_ns_ = 0;
  int64_t failed_total_ns_ = 0;
  // The estimates.
  int64_t noload_latency_ns_ = 0;  // 0: not measured yet.
  double max_qps_ = 0;
  double explore_;
  // Re-measuring: the window at the halved limit is under way.
  bool remeasuring_ = false;
  int64_t ignore_until_ns_ = 0;  // Samples before this are from the old limit.
  int64_t next_remeasure_ns_ = 0;  // 0: schedule once measured.
  int64_t last_mean_ns_ = 0;       // The last normal window's mean latency.
  int limit_before_remeasure_ = 0;
  int needed_ = 0;  // The formula's limit at the last window (0: none yet).
  // Overload's onset (see Release()): answers since the last cut.
  int quick_count_ = 0;
  int64_t quick_total_ns_ = 0;
  int64_t quick_ignore_until_ns_ = 0;
  int64_t remeasure_interval_ns_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CONCURRENCY_LIMITER_H_
