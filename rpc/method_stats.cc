#include "rpc/method_stats.h"

#include <algorithm>
#include <cstdint>

namespace mrpc {
namespace {

// The bounds in nanoseconds, and for each power of two the first bucket
// whose bound reaches it: IndexOf starts there and steps at most a few
// buckets (no bound is more than 2.5x the one before), instead of a binary
// search over all of them. Built at compile time.
struct Table {
  int64_t bound_ns[LatencyBuckets::kCount] = {};
  uint8_t first[64] = {};
};

constexpr Table MakeTable() {
  Table t;
  constexpr int kPerDecade[9] = {10, 15, 20, 25, 30, 40, 50, 60, 80};
  int i = 0;
  t.bound_ns[i++] = 1000;
  t.bound_ns[i++] = 2000;
  t.bound_ns[i++] = 5000;
  int64_t decade = 1000;  // x10 per step: 10 us .. 80 s.
  for (int d = 0; d < 7; ++d) {
    for (int m : kPerDecade) t.bound_ns[i++] = m * decade;
    decade *= 10;
  }
  t.bound_ns[i] = INT64_MAX;
  for (int k = 0; k < 64; ++k) {
    const uint64_t power = uint64_t{1} << k;
    int j = 0;
    while (j < LatencyBuckets::kBounded &&
           static_cast<uint64_t>(t.bound_ns[j]) < power) {
      ++j;
    }
    t.first[k] = static_cast<uint8_t>(j);
  }
  return t;
}

constexpr Table kTable = MakeTable();

}  // namespace

int64_t LatencyBuckets::UpperBoundUs(int i) {
  return i == kBounded ? INT64_MAX : kTable.bound_ns[i] / 1000;
}

int LatencyBuckets::IndexOf(int64_t latency_ns) {
  // A bound is inclusive ("le"), in whole microseconds rounded up: 1000 ns
  // is in the 1 us bucket, 1001 ns in the next.
  if (latency_ns <= 1000) return 0;
  int i = kTable.first[63 - __builtin_clzll(static_cast<uint64_t>(latency_ns))];
  while (kTable.bound_ns[i] < latency_ns) ++i;
  return i;
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
