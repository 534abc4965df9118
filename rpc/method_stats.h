// Per-method call statistics: calls answered, answers by status code and
// a latency histogram, kept per loop and summed when read. They feed
// /metrics (Prometheus histograms), /status (QPS and percentiles over the
// last minute) and Server::method_stats().
//
// Internal to the server. Threading: MethodStats is written by one loop
// (relaxed load + store, no locked instruction) and read by any thread;
// MethodSnapshot and LatencyBuckets are plain values.
#ifndef MRPC_RPC_METHOD_STATS_H_
#define MRPC_RPC_METHOD_STATS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "net/sync.h"

namespace mrpc {

// The histogram's bucket bounds, in microseconds: 1, 2, 5, then nine per
// decade (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k) from 10 us to 80 s; every
// 1-2.5-5 bound a Prometheus histogram exports is among them, and a
// percentile read from them is off by at most the bucket's width (50%).
// A last bucket takes everything slower.
struct LatencyBuckets {
  static constexpr int kBounded = 3 + 9 * 7;  // Bounds up to 80 s.
  static constexpr int kCount = kBounded + 1;
  // Upper bound of bucket `i` in microseconds (inclusive); INT64_MAX for
  // the last.
  static int64_t UpperBoundUs(int i);
  // The bucket of a latency in nanoseconds.
  static int IndexOf(int64_t latency_ns);
};

// Plain totals of one method (or of one method over a window: the
// difference of two snapshots).
struct MethodSnapshot {
  std::string service;
  std::string method;
  std::array<uint64_t, 17> codes{};  // Answers by absl::StatusCode (0..16).
  std::array<uint64_t, LatencyBuckets::kCount> buckets{};
  uint64_t latency_sum_ns = 0;

  // Calls answered (every status), and those not OK.
  uint64_t calls() const;
  uint64_t errors() const { return calls() - codes[0]; }
  // The latency under which a fraction `q` (0..1) of the calls finished,
  // in microseconds, interpolated within its bucket; 0 with no calls.
  double PercentileUs(double q) const;
  // this - earlier, field by field (earlier must be an older snapshot of
  // the same method).
  MethodSnapshot Minus(const MethodSnapshot& earlier) const;
  void Add(const MethodSnapshot& other);
};

// One loop's statistics of one method.
struct alignas(64) MethodStats {
  using Counter = std::atomic<uint64_t>;
  // Loop only.
  void Record(absl::StatusCode code, int64_t latency_ns) {
    const int c = static_cast<int>(code);
    SingleWriterAdd(codes[c >= 0 && c < 17 ? c : 2], uint64_t{1});
    SingleWriterAdd(buckets[LatencyBuckets::IndexOf(latency_ns)], uint64_t{1});
    SingleWriterAdd(latency_sum_ns,
                    static_cast<uint64_t>(latency_ns > 0 ? latency_ns : 0));
  }
  // Adds this loop's totals to `out`. Any thread.
  void AddTo(MethodSnapshot* out) const;

  std::array<Counter, 17> codes{};
  std::array<Counter, LatencyBuckets::kCount> buckets{};
  Counter latency_sum_ns{0};
};

}  // namespace mrpc

#endif  // MRPC_RPC_METHOD_STATS_H_
