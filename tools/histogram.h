// Histogram: a log-linear latency histogram (HdrHistogram's layout): values
// are bucketed by power of two, and each power of two is split into 64
// linear sub-buckets, so any recorded value is reported within 1/64 (1.6%)
// of itself, from nanoseconds to hours, in 8 KiB of counters.
//
// Used by the load testers. Thread-compatible: one per thread, Merge() at
// the end.
//
// Example:
//   Histogram h;
//   h.Record(latency_ns);
//   int64_t p99 = h.Percentile(99.0);
#ifndef MRPC_TOOLS_HISTOGRAM_H_
#define MRPC_TOOLS_HISTOGRAM_H_

#include <array>
#include <cstdint>
#include <string>

namespace mrpc {

class Histogram {
 public:
  Histogram() { counts_.fill(0); }

  // Records one value (negative values count as 0).
  void Record(int64_t value);
  void Merge(const Histogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  double mean() const {
    return count_ ? static_cast<double>(sum_) / count_ : 0;
  }
  // The value below which `percent` % of the recorded values fall, reported
  // as the upper edge of its bucket (never below the true value) and capped
  // at max(). 0 when empty.
  int64_t Percentile(double percent) const;

 private:
  static constexpr int kSubBits = 6;
  static constexpr int kSubBuckets = 1 << kSubBits;  // 64
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSubBuckets;

  static int IndexOf(uint64_t value);
  static uint64_t UpperEdge(int index);

  std::array<uint64_t, kBuckets> counts_;
  uint64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  __int128 sum_ = 0;
};

}  // namespace mrpc

#endif  // MRPC_TOOLS_HISTOGRAM_H_
