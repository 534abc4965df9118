#include "rpc/method_stats.h"

#include <algorithm>
#include <limits>

namespace mrpc {
namespace {

constexpr int kPerDecade[9] = {10, 15, 20, 25, 30, 40, 50, 60, 80};

// Bounds in microseconds, built once.
struct Bounds {
  std::array<int64_t, LatencyBuckets::kCount> us{};
  Bounds() {
    int i = 0;
    us[i++] = 1;
    us[i++] = 2;
    us[i++] = 5;
    int64_t decade = 1;  // x10 per step: 10 us .. 80 s.
    for (int d = 0; d < 7; ++d) {
      for (int m : kPerDecade) us[i++] = m * decade;
      decade *= 10;
    }
    us[i] = std::numeric_limits<int64_t>::max();
  }
};

const Bounds& TheBounds() {
  static const Bounds* const bounds = new Bounds;
  return *bounds;
}

}  // namespace

int64_t LatencyBuckets::UpperBoundUs(int i) { return TheBounds().us[i]; }

int LatencyBuckets::IndexOf(int64_t latency_ns) {
  const auto& us = TheBounds().us;
  // Rounded up: a bound is inclusive ("le"), 1000 ns is in the 1 us bucket.
  const int64_t v = latency_ns <= 0 ? 0 : (latency_ns + 999) / 1000;
  return static_cast<int>(std::lower_bound(us.begin(), us.end(), v) -
                          us.begin());
}

uint64_t MethodSnapshot::calls() const {
  uint64_t total = 0;
  for (uint64_t c : codes) total += c;
  return total;
}

double MethodSnapshot::PercentileUs(double q) const {
  uint64_t total = 0;
  for (uint64_t b : buckets) total += b;
  if (total == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (int i = 0; i < LatencyBuckets::kCount; ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(seen + buckets[i]) >= rank) {
      const double lo = i == 0 ? 0 : LatencyBuckets::UpperBoundUs(i - 1);
      // The open last bucket is reported at its lower bound.
      if (i == LatencyBuckets::kBounded) return lo;
      const double hi = LatencyBuckets::UpperBoundUs(i);
      const double within =
          (rank - static_cast<double>(seen)) / static_cast<double>(buckets[i]);
      return lo + (hi - lo) * std::clamp(within, 0.0, 1.0);
    }
    seen += buckets[i];
  }
  return LatencyBuckets::UpperBoundUs(LatencyBuckets::kBounded - 1);
}

MethodSnapshot MethodSnapshot::Minus(const MethodSnapshot& earlier) const {
  MethodSnapshot d = *this;
  for (size_t i = 0; i < codes.size(); ++i) d.codes[i] -= earlier.codes[i];
  for (size_t i = 0; i < buckets.size(); ++i) {
    d.buckets[i] -= earlier.buckets[i];
  }
  d.latency_sum_ns -= earlier.latency_sum_ns;
  return d;
}

void MethodSnapshot::Add(const MethodSnapshot& other) {
  for (size_t i = 0; i < codes.size(); ++i) codes[i] += other.codes[i];
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  latency_sum_ns += other.latency_sum_ns;
}

void MethodStats::AddTo(MethodSnapshot* out) const {
  // Each field read once: a concurrent Record may make the histogram and
  // the codes disagree by a call or two, never by more.
  for (size_t i = 0; i < codes.size(); ++i) {
    out->codes[i] += codes[i].load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    out->buckets[i] += buckets[i].load(std::memory_order_relaxed);
  }
  out->latency_sum_ns += latency_sum_ns.load(std::memory_order_relaxed);
}

}  // namespace mrpc
