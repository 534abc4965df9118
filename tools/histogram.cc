#include "tools/histogram.h"

#include <algorithm>
#include <cmath>

namespace mrpc {

// Values below 64 map one-to-one; above, a value with its top bit at
// position b (b >= 6) lands in group b - 5, sub-bucket = its next 6 bits.
int Histogram::IndexOf(uint64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  const int top = 63 - __builtin_clzll(value);
  const int group = top - kSubBits + 1;
  const int sub =
      static_cast<int>((value >> (top - kSubBits)) & (kSubBuckets - 1));
  return group * kSubBuckets + sub;
}

uint64_t Histogram::UpperEdge(int index) {
  const int group = index / kSubBuckets;
  const uint64_t sub = index % kSubBuckets;
  if (group == 0) return sub;
  const int shift = group - 1;
  // Group g covers [64 << (g-1), 128 << (g-1)) in steps of 1 << (g-1).
  const uint64_t lower = (uint64_t{kSubBuckets} + sub) << shift;
  return lower + ((uint64_t{1} << shift) - 1);
}

void Histogram::Record(int64_t value) {
  if (value < 0) value = 0;
  ++counts_[IndexOf(static_cast<uint64_t>(value))];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::Clear() { *this = Histogram(); }

int64_t Histogram::Percentile(double percent) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(percent, 0.0, 100.0);
  // The rank of the wanted value, 1-based: at least the first.
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(clamped / 100.0 * count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min<int64_t>(
          static_cast<int64_t>(UpperEdge(static_cast<int>(i))), max_);
    }
  }
  return max_;
}

}  // namespace mrpc
