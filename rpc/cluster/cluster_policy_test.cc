#include <gtest/gtest.h>

#include "rpc/cluster/outlier_detector.h"
#include "rpc/cluster/retry_budget.h"

namespace mrpc {
namespace {

TEST(RetryBudgetTest, StartsWithTheBurstThenEarnsARatioPerCall) {
  RetryBudget budget(0.1, 10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(budget.TrySpend()) << i;
  EXPECT_FALSE(budget.TrySpend());
  // 1000 calls that all fail: at most 10% of them are retried.
  int retried = 0;
  for (int i = 0; i < 1000; ++i) {
    budget.OnCall();
    if (budget.TrySpend()) ++retried;
  }
  EXPECT_GE(retried, 99);
  EXPECT_LE(retried, 100);
}

TEST(RetryBudgetTest, SavesAtMostTheBurst) {
  RetryBudget budget(0.1, 10);
  for (int i = 0; i < 100000; ++i) budget.OnCall();
  EXPECT_EQ(budget.tokens(), 10);
}

TEST(OutlierDetectorTest, EjectsAfterConsecutiveFailuresWithExponentialBackIn) {
  OutlierOptions options;
  options.consecutive_failures = 3;
  options.base_ejection_time = absl::Seconds(1);
  options.max_ejection_time = absl::Seconds(4);
  OutlierDetector detector(options);
  BackendHealth h;
  EXPECT_FALSE(detector.OnFailure(&h, 0, 0, 3));
  EXPECT_FALSE(detector.OnFailure(&h, 0, 0, 3));
  detector.OnSuccess(&h);  // A success breaks the run.
  EXPECT_FALSE(detector.OnFailure(&h, 0, 0, 3));
  EXPECT_FALSE(detector.OnFailure(&h, 0, 0, 3));
  EXPECT_TRUE(detector.OnFailure(&h, 0, 0, 3));
  EXPECT_TRUE(h.ejected(999));
  EXPECT_FALSE(h.ejected(1000));
  // Back in rotation: one more failure ejects it for twice as long.
  EXPECT_TRUE(detector.OnFailure(&h, 1000, 0, 3));
  EXPECT_EQ(h.ejected_until_ms, 3000);
  EXPECT_TRUE(detector.OnFailure(&h, 3000, 0, 3));
  EXPECT_EQ(h.ejected_until_ms, 7000);
  EXPECT_TRUE(detector.OnFailure(&h, 7000, 0, 3));
  EXPECT_EQ(h.ejected_until_ms, 11000);  // Capped at 4 s.
  // While ejected, failures do not extend it.
  EXPECT_FALSE(detector.OnFailure(&h, 8000, 0, 3));
  EXPECT_EQ(h.ejected_until_ms, 11000);
}

TEST(OutlierDetectorTest, NeverEjectsMoreThanTheAllowedShare) {
  OutlierOptions options;
  options.consecutive_failures = 1;
  options.max_ejection_percent = 50;
  OutlierDetector detector(options);
  BackendHealth a, b;
  EXPECT_TRUE(detector.OnFailure(&a, 0, 0, 4));
  EXPECT_TRUE(detector.OnFailure(&b, 0, 1, 4));
  BackendHealth c;
  EXPECT_FALSE(detector.OnFailure(&c, 0, 2, 4));  // 2 of 4 out already.
  // One of one may be ejected (the channel still uses it if it is all).
  BackendHealth only;
  EXPECT_TRUE(detector.OnFailure(&only, 0, 0, 1));
}

TEST(OutlierDetectorTest, ZeroDisablesEjection) {
  OutlierOptions options;
  options.consecutive_failures = 0;
  OutlierDetector detector(options);
  BackendHealth h;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(detector.OnFailure(&h, 0, 0, 3));
}

}  // namespace
}  // namespace mrpc
