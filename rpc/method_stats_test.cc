#include "rpc/method_stats.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>

namespace mrpc {
namespace {

// The bucket by definition: the first whose bound (whole microseconds,
// inclusive) is at least the latency rounded up to a microsecond.
int SlowIndexOf(int64_t ns) {
  const int64_t us = ns <= 0 ? 0 : (ns + 999) / 1000;
  int i = 0;
  while (i < LatencyBuckets::kBounded && LatencyBuckets::UpperBoundUs(i) < us) {
    ++i;
  }
  return i;
}

TEST(LatencyBucketsTest, BoundsAreOneTwoFiveThenNinePerDecade) {
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(0), 1);
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(1), 2);
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(2), 5);
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(3), 10);
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(4), 15);
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(LatencyBuckets::kBounded - 1),
            80'000'000);
  EXPECT_EQ(LatencyBuckets::UpperBoundUs(LatencyBuckets::kBounded), INT64_MAX);
  for (int i = 1; i < LatencyBuckets::kBounded; ++i) {
    EXPECT_LT(LatencyBuckets::UpperBoundUs(i - 1),
              LatencyBuckets::UpperBoundUs(i));
  }
}

TEST(LatencyBucketsTest, IndexOfMatchesTheDefinitionAtEveryBoundAndBetween) {
  for (int i = 0; i < LatencyBuckets::kBounded; ++i) {
    const int64_t b = LatencyBuckets::UpperBoundUs(i) * 1000;
    for (int64_t ns : {b - 1, b, b + 1}) {
      EXPECT_EQ(LatencyBuckets::IndexOf(ns), SlowIndexOf(ns)) << ns;
    }
  }
  EXPECT_EQ(LatencyBuckets::IndexOf(-5), 0);
  EXPECT_EQ(LatencyBuckets::IndexOf(0), 0);
  EXPECT_EQ(LatencyBuckets::IndexOf(INT64_MAX), LatencyBuckets::kBounded);
  std::mt19937_64 rng(7);
  for (int n = 0; n < 200000; ++n) {
    const int64_t ns = static_cast<int64_t>(rng() >> (rng() % 64));
    ASSERT_EQ(LatencyBuckets::IndexOf(ns), SlowIndexOf(ns)) << ns;
  }
}

TEST(MethodSnapshotTest, PercentilesWindowsAndCodes) {
  // On the heap, as the server keeps them: 64-byte aligned (a stack
  // object under ASan's fake stack may not be).
  auto owned = std::make_unique<MethodStats>();
  MethodStats& stats = *owned;
  // 90 calls at 100 us, 10 at 40 ms (NOT_FOUND).
  for (int i = 0; i < 90; ++i) stats.Record(absl::StatusCode::kOk, 100'000);
  for (int i = 0; i < 10; ++i) {
    stats.Record(absl::StatusCode::kNotFound, 40'000'000);
  }
  MethodSnapshot before;
  stats.AddTo(&before);
  EXPECT_EQ(before.calls(), 100u);
  EXPECT_EQ(before.errors(), 10u);
  EXPECT_EQ(before.codes[5], 10u);
  EXPECT_EQ(before.latency_sum_ns, 90u * 100'000 + 10u * 40'000'000);
  // p50 is in (80, 100] us; p99 in (30, 40] ms.
  EXPECT_GT(before.PercentileUs(0.5), 80);
  EXPECT_LE(before.PercentileUs(0.5), 100);
  EXPECT_GT(before.PercentileUs(0.99), 30'000);
  EXPECT_LE(before.PercentileUs(0.99), 40'000);

  stats.Record(absl::StatusCode::kUnavailable, 3'000);
  MethodSnapshot after;
  stats.AddTo(&after);
  const MethodSnapshot window = after.Minus(before);
  EXPECT_EQ(window.calls(), 1u);
  EXPECT_EQ(window.codes[14], 1u);
  EXPECT_EQ(window.latency_sum_ns, 3'000u);
  EXPECT_EQ(MethodSnapshot().PercentileUs(0.5), 0);
}

}  // namespace
}  // namespace mrpc
