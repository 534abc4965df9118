#include "tools/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace mrpc {
namespace {

TEST(HistogramTest, EmptyIsAllZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.Percentile(50), 0);
  EXPECT_EQ(h.max(), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(50), 25);
  EXPECT_EQ(h.Percentile(100), 50);
  EXPECT_EQ(h.min(), 1);
  EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(HistogramTest, PercentilesWithinRelativeErrorOfExact) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> latency(10.0, 1.5);  // ~22 us median.
  std::vector<int64_t> values;
  Histogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<int64_t>(latency(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const int64_t exact =
        values[static_cast<size_t>(std::ceil(p / 100 * values.size())) - 1];
    const int64_t reported = h.Percentile(p);
    EXPECT_GE(reported, exact) << "p" << p;  // An upper edge: never optimistic.
    EXPECT_LE(reported, exact + exact / 32 + 1) << "p" << p;
  }
  EXPECT_EQ(h.Percentile(100), values.back());
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  for (int i = 0; i < 1000; ++i) {
    a.Record(i * 7);
    all.Record(i * 7);
    b.Record(i * 1000003);
    all.Record(i * 1000003);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double p : {1.0, 50.0, 99.0, 99.99})
    EXPECT_EQ(a.Percentile(p), all.Percentile(p));
  EXPECT_EQ(a.max(), all.max());
}

TEST(HistogramTest, HugeValuesDoNotOverflow) {
  Histogram h;
  h.Record(INT64_MAX);
  h.Record(-5);  // Clamped to zero.
  EXPECT_EQ(h.Percentile(100), INT64_MAX);
  EXPECT_EQ(h.Percentile(50), 0);
}

}  // namespace
}  // namespace mrpc
