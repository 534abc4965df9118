#include "rpc/concurrency_limiter.h"

#include <algorithm>
#include <cmath>

namespace mrpc {
namespace {

// How fast noload latency follows a lower window mean, and max_qps a lower
// window throughput (brpc's 0.1 and 0.01; a little faster for qps because
// our windows are shorter).
constexpr double kLatencyEma = 0.1;
constexpr double kQpsEma = 0.02;
// The limit during a re-measure, as a fraction of the current one.
constexpr double kRemeasureRatio = 0.5;
// Samples enough for a cut at overload's onset.
constexpr int kQuickSamples = 10;
// A re-measure whose mean is this much below the window before it says
// the old limit let calls queue.
constexpr double kQueuedRatio = 1.5;

}  // namespace

ConcurrencyLimiter::ConcurrencyLimiter(const ConcurrencyLimiterOptions& options)
    : options_(options),
      limit_(options.fixed_limit > 0   ? options.fixed_limit
             : options.fixed_limit < 0 ? -1
                                       : Clamp(options.initial_limit)),
      explore_(options.max_explore),
      remeasure_interval_ns_(options.remeasure_min_ns) {}

int ConcurrencyLimiter::Clamp(double limit) const {
  // At least 1 whatever the options say: an inline call (in_flight 0 when
  // admitted) must always pass. !(x >= min) also catches NaN.
  const int floor = std::max(1, options_.min_limit);
  if (!(limit >= floor)) return floor;
  if (limit >= options_.max_limit) return std::max(floor, options_.max_limit);
  return static_cast<int>(std::ceil(limit));
}

void ConcurrencyLimiter::Release(int64_t latency_ns, Outcome outcome,
                                 int64_t now_ns, bool light) {
  if (in_flight_ > 0) --in_flight_;
  if (light && light_in_flight_ > 0) --light_in_flight_;
  if (latency_ns < 0) latency_ns = 0;
  if (outcome == kOk) {
    if (recent_samples_ == 0) {
      recent_latency_ns_ = latency_ns;
    } else {
      recent_latency_ns_ += (latency_ns - recent_latency_ns_) / 8;
    }
    if (recent_samples_ < kMinRecentSamples) ++recent_samples_;
  }
  if (options_.fixed_limit != 0) return;
  // Calls admitted under the limit before a re-measure say nothing about it.
  if (now_ns < ignore_until_ns_) return;

  if (window_start_ns_ == 0) window_start_ns_ = now_ns;
  if (outcome == kOk) {
    ++ok_count_;
    ok_total_ns_ += latency_ns;
  } else {
    ++failed_count_;
    failed_total_ns_ += latency_ns;
  }
  const int samples = ok_count_ + failed_count_;
  const int64_t elapsed = now_ns - window_start_ns_;
  // Overload's onset: the limit refuses and latency is already twice the
  // noload. Strong evidence needs fewer samples; every sample waited for
  // is a call queued behind too high a limit. A few samples say nothing
  // reliable about throughput (answers come in batches per loop
  // iteration), so this cut uses latency alone, as a gradient limiter
  // does: the concurrency that would have kept latency at noload is the
  // limit scaled by noload / mean. It repeats (on calls admitted after the
  // previous cut) until latency is under 2x noload or the limit at its
  // floor; the window is not reset, so a full window still judges.
  if (now_ns >= quick_ignore_until_ns_) {
    ++quick_count_;
    quick_total_ns_ += latency_ns;
  }
  if (UnderPressure() && !remeasuring_ && noload_latency_ns_ > 0 &&
      quick_count_ >= kQuickSamples) {
    const double quick_mean =
        static_cast<double>(quick_total_ns_) / quick_count_;
    quick_count_ = 0;
    quick_total_ns_ = 0;
    if (quick_mean > 2.0 * noload_latency_ns_ && limit_ > Clamp(0)) {
      limit_ = Clamp(std::min(limit_, in_flight_ + 1) * noload_latency_ns_ /
                     quick_mean * (1 + explore_));
      // Calls admitted before the cut are still queued behind it.
      quick_ignore_until_ns_ = now_ns + static_cast<int64_t>(quick_mean);
      // noload may be stale (learnt from bursts): check it soon.
      remeasure_interval_ns_ = options_.remeasure_min_ns;
      next_remeasure_ns_ =
          std::min(next_remeasure_ns_, now_ns + options_.remeasure_min_ns);
    }
  }
  if (samples < options_.min_samples) {
    if (elapsed >= 4 * options_.window_ns) ResetWindow(now_ns);
    return;
  }
  // A re-measure needs only a few samples: the limit is low meanwhile.
  if (!remeasuring_ && elapsed < options_.window_ns &&
      samples < options_.max_samples) {
    return;
  }
  CloseWindow(now_ns);
}

void ConcurrencyLimiter::ResetWindow(int64_t now_ns) {
  window_start_ns_ = now_ns;
  ok_count_ = failed_count_ = refused_ = 0;
  ok_total_ns_ = failed_total_ns_ = 0;
}

void ConcurrencyLimiter::CloseWindow(int64_t now_ns) {
  if (ok_count_ == 0) {  // Everything failed: back off hard.
    limit_ = Clamp(limit_ / 2.0);
    remeasuring_ = false;
    ResetWindow(now_ns);
    return;
  }
  // A window answered within one loop iteration has no length; 1 us keeps
  // the rate finite (its latency is ~0 anyway, so the limit is the floor).
  const int64_t elapsed = std::max<int64_t>(now_ns - window_start_ns_, 1000);
  const double qps = 1e9 * ok_count_ / static_cast<double>(elapsed);
  const int64_t mean = static_cast<int64_t>(
      (ok_total_ns_ + failed_total_ns_ * options_.fail_punish) / ok_count_);
  const bool binding = UnderPressure();
  ResetWindow(now_ns);

  if (remeasuring_) {
    // The queue drained at the halved limit: this is the latency with no
    // queueing (or less of it). It replaces the estimate, up or down.
    remeasuring_ = false;
    // Calls queued at the old limit if their latency was well above this.
    const bool queued = last_mean_ns_ > mean * kQueuedRatio;
    // Slower now: the throughput seen at the old latency is no longer
    // reachable. Assume the concurrency held, not the rate: scale max_qps
    // down so the limit does not grow with the latency.
    if (noload_latency_ns_ > 0 && mean > noload_latency_ns_) {
      max_qps_ *= static_cast<double>(noload_latency_ns_) / mean;
    }
    noload_latency_ns_ = mean;
    remeasure_interval_ns_ = queued ? options_.remeasure_min_ns
                                    : std::min(remeasure_interval_ns_ * 2,
                                               options_.remeasure_max_ns);
    next_remeasure_ns_ = now_ns + remeasure_interval_ns_;
    // This window's throughput was held down on purpose: max_qps keeps.
    const int next =
        Clamp(max_qps_ * noload_latency_ns_ * 1e-9 * (1 + explore_));
    // No sign the old limit let calls queue: restore it (the load may just
    // be below capacity, where the formula only sees the load).
    needed_ = next;
    limit_ = queued ? next : std::max(next, limit_before_remeasure_);
    return;
  }

  if (noload_latency_ns_ == 0 || mean < noload_latency_ns_) {
    noload_latency_ns_ =
        noload_latency_ns_ == 0
            ? mean
            : static_cast<int64_t>(mean * kLatencyEma +
                                   noload_latency_ns_ * (1 - kLatencyEma));
  }
  max_qps_ = qps >= max_qps_ ? qps : qps * kQpsEma + max_qps_ * (1 - kQpsEma);
  // Latency near noload (no queue), or throughput below the best (not
  // limit-bound): explore more headroom; else queueing: less.
  if (mean <= noload_latency_ns_ * (1 + options_.min_explore) ||
      qps <= max_qps_ / (1 + options_.min_explore)) {
    explore_ = std::min(options_.max_explore, explore_ + options_.explore_step);
  } else {
    explore_ = std::max(options_.min_explore, explore_ - options_.explore_step);
  }
  int next = Clamp(max_qps_ * static_cast<double>(noload_latency_ns_) * 1e-9 *
                   (1 + explore_));
  needed_ = next;
  // Shrink only when the limit was binding (it refused calls) and calls
  // queue (or fail) behind it: below capacity the formula sees only the
  // offered load, and a burst that queues briefly must still pass.
  const bool queueing = mean > noload_latency_ns_ * (1 + options_.max_explore);
  if (next < limit_ && !(queueing && binding)) next = limit_;
  last_mean_ns_ = mean;

  if (next_remeasure_ns_ == 0)
    next_remeasure_ns_ = now_ns + remeasure_interval_ns_;
  // Re-measure only under overload: it refuses calls, and below capacity
  // the windows measure noload latency by themselves.
  if (now_ns >= next_remeasure_ns_ && noload_latency_ns_ > 0 && binding) {
    // Halve the limit; answers to calls admitted before then (the next
    // ~2 mean latencies) are not counted; the window after is the measure.
    remeasuring_ = true;
    limit_before_remeasure_ = next;
    limit_ = Clamp(std::min(next, limit_) * kRemeasureRatio);
    ignore_until_ns_ = now_ns + 2 * mean;
    window_start_ns_ = 0;
    return;
  }
  limit_ = next;
}

}  // namespace mrpc
