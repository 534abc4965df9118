#include "rpc/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <vector>

namespace mrpc {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1'000 * kMs;

// A simulated server in virtual time: `workers` workers, each call taking
// `service_ns` of one, FIFO queue in front, fed open-loop at `qps`. No
// sleeps: the limiter gets the simulated clock.
class SimServer {
 public:
  SimServer(ConcurrencyLimiter* limiter, int workers, int64_t service_ns)
      : limiter_(limiter), free_workers_(workers), service_ns_(service_ns) {}

  void set_service_ns(int64_t ns) { service_ns_ = ns; }

  struct Stats {
    int64_t offered = 0, admitted = 0, refused = 0, completed = 0;
    int64_t latency_total_ns = 0, latency_max_ns = 0;
    int max_limit = 0, min_limit = 1 << 30;
    double mean_latency_ns() const {
      return completed ? static_cast<double>(latency_total_ns) / completed : 0;
    }
  };

  // Runs `duration_ns` of arrivals at `qps` and returns what happened.
  // With `burst` > 1, arrivals come `burst` at a time (same mean rate).
  Stats Run(double qps, int64_t duration_ns, int burst = 1) {
    Stats stats;
    const int64_t end = now_ + duration_ns;
    const double gap = 1e9 / qps;
    int in_burst = 0;
    double next_arrival = static_cast<double>(now_);
    while (true) {
      const int64_t arrival = static_cast<int64_t>(next_arrival);
      const bool completion_first =
          !completions_.empty() && completions_.top().at <= arrival;
      const int64_t t = completion_first ? completions_.top().at : arrival;
      if (t >= end) break;
      now_ = t;
      if (completion_first) {
        const Completion c = completions_.top();
        completions_.pop();
        const int64_t latency = now_ - c.admitted;
        limiter_->Release(latency, ConcurrencyLimiter::kOk, now_);
        ++stats.completed;
        stats.latency_total_ns += latency;
        stats.latency_max_ns = std::max(stats.latency_max_ns, latency);
        ++free_workers_;
        StartQueued();
      } else {
        if (++in_burst == burst) {
          in_burst = 0;
          next_arrival += gap * burst;
        }
        ++stats.offered;
        if (!limiter_->TryAcquire()) {
          ++stats.refused;
        } else {
          ++stats.admitted;
          queue_.push_back(now_);
          StartQueued();
        }
      }
      stats.max_limit = std::max(stats.max_limit, limiter_->limit());
      stats.min_limit = std::min(stats.min_limit, limiter_->limit());
    }
    now_ = end;
    return stats;
  }

 private:
  struct Completion {
    int64_t at, admitted;
    bool operator>(const Completion& o) const { return at > o.at; }
  };
  void StartQueued() {
    while (free_workers_ > 0 && !queue_.empty()) {
      --free_workers_;
      completions_.push({now_ + service_ns_, queue_.front()});
      queue_.pop_front();
    }
  }

  ConcurrencyLimiter* const limiter_;
  int free_workers_;
  int64_t service_ns_;
  int64_t now_ = kSec;         // Not 0: 0 means "unset" to the limiter.
  std::deque<int64_t> queue_;  // Admission times of waiting calls.
  std::priority_queue<Completion, std::vector<Completion>,
                      std::greater<Completion>>
      completions_;
};

constexpr int kWorkers = 4;
constexpr int64_t kService = 2 * kMs;
constexpr double kCapacity = 1e9 * kWorkers / kService;  // 2000 qps.

TEST(ConcurrencyLimiterTest, ConvergesNearTrueConcurrencyUnderOverload) {
  ConcurrencyLimiter limiter;
  SimServer server(&limiter, kWorkers, kService);
  server.Run(kCapacity / 5, kSec);      // Serving normally: noload is known.
  EXPECT_EQ(limiter.limit(), 1000);     // Nothing refused, nothing to cut.
  server.Run(2 * kCapacity, 3 * kSec);  // Converge.
  SimServer::Stats s = server.Run(2 * kCapacity, 5 * kSec);
  // Near the 4 workers: enough to keep them busy, not enough to queue much.
  EXPECT_GE(limiter.limit(), kWorkers);
  EXPECT_LE(limiter.limit(), 2 * kWorkers);
  EXPECT_GE(s.min_limit, 2);
  EXPECT_LE(s.max_limit, 2 * kWorkers);
  // Goodput at least 90% of capacity; latency of admitted calls within 2x
  // the service time; the excess refused.
  EXPECT_GE(s.completed, 0.9 * kCapacity * 5);
  EXPECT_LT(s.mean_latency_ns(), 1.6 * kService);
  EXPECT_LE(s.latency_max_ns, 2 * kService + kMs);
  EXPECT_GT(s.refused, s.offered / 3);
  EXPECT_NEAR(limiter.noload_latency_ns(), kService, kService / 5);
  EXPECT_NEAR(limiter.max_qps(), kCapacity, kCapacity / 10);
}

TEST(ConcurrencyLimiterTest, ShrinksFromTooHighALimitWhenLatencyRises) {
  ConcurrencyLimiterOptions options;
  options.initial_limit = 200;  // 50x the true concurrency: calls queue.
  ConcurrencyLimiter limiter(options);
  SimServer server(&limiter, kWorkers, kService);
  SimServer::Stats first = server.Run(2 * kCapacity, 200 * kMs);
  EXPECT_GT(first.mean_latency_ns(), 5 * kService);  // Queueing at first.
  server.Run(2 * kCapacity, kSec);  // Converged within a second.
  SimServer::Stats s = server.Run(2 * kCapacity, 2 * kSec);
  EXPECT_LE(limiter.limit(), 2 * kWorkers);
  EXPECT_LT(s.mean_latency_ns(), 1.6 * kService);
  EXPECT_GE(s.completed, 0.9 * kCapacity * 2);
}

TEST(ConcurrencyLimiterTest, ShrinksWhenTheServiceSlowsDownAndRecovers) {
  ConcurrencyLimiter limiter;
  SimServer server(&limiter, kWorkers, kService);
  server.Run(kCapacity / 5, kSec);
  server.Run(2 * kCapacity, 3 * kSec);
  const int before = limiter.limit();
  // The service turns 4x slower (capacity / 4): latency of admitted calls
  // rises; the limit must not grow with it, and admitted calls must not
  // queue without bound.
  server.set_service_ns(4 * kService);
  server.Run(2 * kCapacity, 5 * kSec);
  SimServer::Stats slow = server.Run(2 * kCapacity, 3 * kSec);
  EXPECT_LE(slow.max_limit, before);
  EXPECT_LT(slow.mean_latency_ns(), 2 * 4 * kService);
  EXPECT_GE(slow.completed, 0.8 * kCapacity / 4 * 3);
  // Service back to normal, load drops to half the capacity: nothing is
  // refused, and latency is the bare service time.
  server.set_service_ns(kService);
  server.Run(kCapacity / 2, 3 * kSec);
  SimServer::Stats calm = server.Run(kCapacity / 2, 2 * kSec);
  EXPECT_EQ(calm.refused, 0);
  EXPECT_LE(calm.latency_max_ns, kService + kMs);
  // Overload again: back near the true concurrency with full goodput.
  server.Run(2 * kCapacity, 3 * kSec);
  SimServer::Stats again = server.Run(2 * kCapacity, 2 * kSec);
  EXPECT_GE(limiter.limit(), kWorkers);
  EXPECT_LE(limiter.limit(), 2 * kWorkers);
  EXPECT_GE(again.completed, 0.9 * kCapacity * 2);
}

TEST(ConcurrencyLimiterTest, BelowCapacityBurstsAreNotRefused) {
  ConcurrencyLimiter limiter;
  SimServer server(&limiter, kWorkers, kService);
  // Half the capacity, in bursts as wide as the workers: no call queues,
  // though the mean concurrency (1) is far below the burst (4). The limit
  // must not shrink to the mean: there is no sign of queueing.
  SimServer::Stats s = server.Run(kCapacity / 2, 20 * kSec, kWorkers);
  EXPECT_EQ(s.refused, 0);
  EXPECT_GE(limiter.limit(), kWorkers);
  EXPECT_NEAR(limiter.noload_latency_ns(), kService, kService / 10);
  // Bursts of 40 at a fifth of the capacity queue (up to 10x noload):
  // those the limiter may cut, but it must still serve the offered load.
  SimServer::Stats bursts = server.Run(kCapacity / 5, 20 * kSec, 40);
  EXPECT_GE(bursts.completed, 0.5 * bursts.offered);
  // Then an overload: the limit comes down to the workers within a second.
  server.Run(2 * kCapacity, kSec);
  SimServer::Stats over = server.Run(2 * kCapacity, 2 * kSec);
  EXPECT_LE(over.max_limit, 2 * kWorkers);
  EXPECT_LT(over.mean_latency_ns(), 1.6 * kService);
  EXPECT_GE(over.completed, 0.9 * kCapacity * 2);
}

TEST(ConcurrencyLimiterTest, ColdStartIntoOverloadConverges) {
  // Overloaded from its first call: the first window's latency is all
  // queueing (up to the initial 1000 in flight); re-measures halve the
  // limit until it fits the workers.
  ConcurrencyLimiter limiter;
  SimServer server(&limiter, kWorkers, kService);
  server.Run(2 * kCapacity, 3 * kSec);
  SimServer::Stats s = server.Run(2 * kCapacity, 2 * kSec);
  EXPECT_LE(s.max_limit, 2 * kWorkers);
  EXPECT_LT(s.mean_latency_ns(), 1.6 * kService);
  EXPECT_GE(s.completed, 0.9 * kCapacity * 2);
}

TEST(ConcurrencyLimiterTest, NeverGoesBelowTheFloor) {
  ConcurrencyLimiterOptions options;
  options.min_limit = 3;
  ConcurrencyLimiter limiter(options);
  int64_t now = kSec;
  // Every call fails slowly: the limit halves window after window.
  for (int i = 0; i < 100000; ++i) {
    if (limiter.TryAcquire()) {
      now += kMs;
      limiter.Release(100 * kMs, ConcurrencyLimiter::kFailed, now);
    }
    ASSERT_GE(limiter.limit(), 3);
  }
  EXPECT_EQ(limiter.limit(), 3);
  // A 1-worker server with 50 ms calls at 10x capacity: floor, not below.
  SimServer server(&limiter, 1, 50 * kMs);
  SimServer::Stats s = server.Run(200, 10 * kSec);
  EXPECT_GE(s.min_limit, 3);
}

TEST(ConcurrencyLimiterTest, InlineCallsAreNeverRefused) {
  ConcurrencyLimiter limiter;
  int64_t now = kSec;
  // Answered in the iteration that admitted them: latency 0, in flight 0.
  for (int i = 0; i < 100000; ++i) {
    if (i % 64 == 0) now += 10'000;  // A new loop iteration.
    ASSERT_TRUE(limiter.TryAcquire()) << i;
    limiter.Release(0, ConcurrencyLimiter::kOk, now);
  }
  EXPECT_GE(limiter.limit(), 1);
  EXPECT_EQ(limiter.in_flight(), 0);
  EXPECT_EQ(limiter.recent_latency_ns(), 0);
}

TEST(ConcurrencyLimiterTest, AtTheLimitLightCallersGetAQuarterMore) {
  ConcurrencyLimiterOptions options;
  options.initial_limit = 16;
  ConcurrencyLimiter limiter(options);
  ASSERT_EQ(limiter.limit(), 16);
  // One heavy caller takes the whole limit and is refused past it.
  for (size_t i = 0; i < 16; ++i) ASSERT_TRUE(limiter.TryAcquire(i));
  EXPECT_FALSE(limiter.TryAcquire(16));
  // Callers holding an eighth of the limit or less get in, up to 16 + 4.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limiter.TryAcquire(1)) << i;
  EXPECT_FALSE(limiter.TryAcquire(0));
  EXPECT_FALSE(limiter.TryAcquire(3));  // Over an eighth: heavy.
  EXPECT_EQ(limiter.in_flight(), 21);
}

// The limit falls under a caller that holds more than the new limit (the
// service slowed down): light callers keep their own quarter instead of
// waiting until the heavy caller's calls drain (the bug: a flood on a
// slow, loaded machine locked every other connection out).
TEST(ConcurrencyLimiterTest, LightCallersKeepTheirQuarterWhenTheLimitFalls) {
  ConcurrencyLimiterOptions options;
  options.initial_limit = 64;
  ConcurrencyLimiter limiter(options);
  int64_t now = kSec;
  int heavy = 0;  // The heavy caller's calls in flight.
  for (; heavy < 64; ++heavy) ASSERT_TRUE(limiter.TryAcquire(heavy));
  // Fast calls first (1 ms), then 50x slower; the heavy caller sends a new
  // call after each answer, and holds fewer only when refused.
  for (int i = 0;
       i < 20000 && limiter.limit() + limiter.limit() / 4 + 1 >= heavy; ++i) {
    now += 100'000;
    limiter.Release(i < 5000 ? kMs : 50 * kMs, ConcurrencyLimiter::kOk, now);
    --heavy;
    if (limiter.TryAcquire(heavy)) ++heavy;
  }
  const int limit = limiter.limit();
  ASSERT_GE(heavy, limit + limit / 4 + 1) << "the limit did not fall enough";
  ASSERT_EQ(limiter.in_flight(), heavy);
  EXPECT_FALSE(limiter.TryAcquire(heavy));
  // A light caller still gets in, up to a quarter of the limit plus one.
  std::vector<bool> light(limit / 4 + 1, false);
  for (size_t i = 0; i < light.size(); ++i) {
    bool admitted_light = false;
    EXPECT_TRUE(limiter.TryAcquire(0, &admitted_light)) << i;
    EXPECT_TRUE(admitted_light);
    light[i] = admitted_light;
  }
  EXPECT_FALSE(limiter.TryAcquire(0));
  // One answered, one more in: the quarter is counted by light calls.
  limiter.Release(kMs, ConcurrencyLimiter::kOk, now, /*light=*/true);
  EXPECT_TRUE(limiter.TryAcquire(0));
}

TEST(ConcurrencyLimiterTest, InlineOnlyUntilACallGoesAsynchronous) {
  ConcurrencyLimiter limiter;
  EXPECT_TRUE(limiter.inline_only());
  EXPECT_EQ(limiter.in_flight(), 0);
  limiter.EndInlineOnly();  // That call is in flight now.
  EXPECT_FALSE(limiter.inline_only());
  EXPECT_EQ(limiter.in_flight(), 1);
  limiter.Release(kMs, ConcurrencyLimiter::kOk, kSec);
  EXPECT_EQ(limiter.in_flight(), 0);
}

TEST(ConcurrencyLimiterTest, FixedAndUnlimited) {
  ConcurrencyLimiterOptions fixed;
  fixed.fixed_limit = 3;
  ConcurrencyLimiter limiter(fixed);
  EXPECT_TRUE(limiter.TryAcquire());
  EXPECT_TRUE(limiter.TryAcquire());
  EXPECT_TRUE(limiter.TryAcquire());
  EXPECT_FALSE(limiter.TryAcquire());
  limiter.Release(kMs, ConcurrencyLimiter::kOk, kSec);
  EXPECT_TRUE(limiter.TryAcquire());
  EXPECT_EQ(limiter.limit(), 3);

  ConcurrencyLimiterOptions none;
  none.fixed_limit = -1;
  ConcurrencyLimiter unlimited(none);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(unlimited.TryAcquire());
  EXPECT_EQ(unlimited.limit(), -1);
}

TEST(ConcurrencyLimiterTest, RecentLatencyFollowsServedCalls) {
  ConcurrencyLimiter limiter;
  int64_t now = kSec;
  for (int i = 0; i < ConcurrencyLimiter::kMinRecentSamples - 1; ++i) {
    ASSERT_TRUE(limiter.TryAcquire());
    limiter.Release(5 * kMs, ConcurrencyLimiter::kOk, now += kMs);
  }
  EXPECT_EQ(limiter.recent_latency_ns(), 0);  // Too few to judge.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.TryAcquire());
    limiter.Release(5 * kMs, ConcurrencyLimiter::kOk, now += kMs);
  }
  EXPECT_EQ(limiter.recent_latency_ns(), 5 * kMs);
  // Failures (timeouts, cancels) do not move it.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.TryAcquire());
    limiter.Release(500 * kMs, ConcurrencyLimiter::kFailed, now += kMs);
  }
  EXPECT_EQ(limiter.recent_latency_ns(), 5 * kMs);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(limiter.TryAcquire());
    limiter.Release(kMs, ConcurrencyLimiter::kOk, now += kMs);
  }
  EXPECT_NEAR(limiter.recent_latency_ns(), kMs, kMs / 10);
}

}  // namespace
}  // namespace mrpc
