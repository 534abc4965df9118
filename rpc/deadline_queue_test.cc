#include "rpc/deadline_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"

namespace mrpc {
namespace {

constexpr int64_t Ms(int64_t ms) { return ms * 1000000; }

// A queue on a real loop; the calls it watches are a set of live ids, and
// each expiry is recorded with the loop's clock when it ran.
class DeadlineQueueTest : public ::testing::Test {
 protected:
  struct Expiry {
    uint64_t id;
    int64_t at_ns;
  };

  void SetUp() override {
    absl::StatusOr<EventLoop*> loop = thread_.Start();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = *loop;
    OnLoop([this] {
      queue_ = std::make_unique<DeadlineQueue>(
          loop_, [this](uint64_t id) { return live_.contains(id); },
          [this](uint64_t id) { Expired(id); });
    });
  }
  void TearDown() override {
    OnLoop([this] { queue_.reset(); });
    thread_.Stop();
  }
  void OnLoop(absl::AnyInvocable<void()> task) {
    RunInLoopAndWait(loop_, std::move(task));
  }
  // Files `id` as a live call due at `deadline_ns`; returns what Add() said.
  bool Add(uint64_t id, int64_t deadline_ns) {
    bool added = false;
    OnLoop([&] {
      live_.insert(id);
      added = queue_->Add(id, deadline_ns);
    });
    return added;
  }
  void Expired(uint64_t id) {
    live_.erase(id);  // As the channel completes the call.
    expired_.push_back(Expiry{id, MonotonicNanos()});
    if (on_expire_) on_expire_(id);
    if (expired_.size() == want_) done_.Notify();
  }
  // Waits for `n` expiries in all (set before the deadlines can pass).
  std::vector<Expiry> WaitFor(size_t n) {
    EXPECT_TRUE(done_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    std::vector<Expiry> out;
    OnLoop([&] { out = expired_; });
    EXPECT_EQ(out.size(), n);
    return out;
  }

  EventLoopThread thread_{"deadline-test"};
  EventLoop* loop_ = nullptr;
  std::unique_ptr<DeadlineQueue> queue_;
  // Loop only.
  absl::flat_hash_set<uint64_t> live_;
  std::vector<Expiry> expired_;
  absl::AnyInvocable<void(uint64_t)> on_expire_;
  size_t want_ = 0;  // Set before any deadline can pass.
  absl::Notification done_;
};

TEST_F(DeadlineQueueTest, DeadlinesExpireOnceInOrderAndNeverEarly) {
  want_ = 3;
  const int64_t now = MonotonicNanos();
  ASSERT_TRUE(Add(1, now + Ms(30)));
  ASSERT_TRUE(Add(2, now + Ms(30)));  // Equal deadlines are in order.
  ASSERT_TRUE(Add(3, now + Ms(60)));
  std::vector<Expiry> got = WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  const int64_t due[] = {now + Ms(30), now + Ms(30), now + Ms(60)};
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, i + 1);
    EXPECT_GE(got[i].at_ns, due[i]) << "id " << got[i].id << " came early";
    EXPECT_LT(got[i].at_ns, due[i] + Ms(2000)) << "id " << got[i].id;
  }
  OnLoop([&] { EXPECT_EQ(queue_->size(), 0u); });
}

TEST_F(DeadlineQueueTest, CompletedCallsAreSkipped) {
  want_ = 1;
  const int64_t now = MonotonicNanos();
  ASSERT_TRUE(Add(1, now + Ms(20)));
  ASSERT_TRUE(Add(2, now + Ms(40)));
  OnLoop([&] { live_.erase(1); });  // Answered before its deadline.
  std::vector<Expiry> got = WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 2u);
}

TEST_F(DeadlineQueueTest, AnEarlierDeadlineIsRefusedAndFilesNothing) {
  const int64_t now = MonotonicNanos();
  EXPECT_TRUE(Add(1, now + Ms(100000)));
  EXPECT_FALSE(Add(2, now + Ms(50000)));
  EXPECT_TRUE(Add(3, now + Ms(100000)));
  OnLoop([&] { EXPECT_EQ(queue_->size(), 2u); });
}

TEST_F(DeadlineQueueTest, AFinishedCallDueLaterDoesNotPushEarlierOnesOut) {
  // A channel's first call with a long timeout (mrpc_load's connection
  // check: 10 s) answered before calls of 1 s: they must still be filed,
  // and expire; while the long call is live they cannot be.
  want_ = 2;
  const int64_t now = MonotonicNanos();
  ASSERT_TRUE(Add(1, now + Ms(100000)));
  EXPECT_FALSE(Add(2, now + Ms(40)));  // 1 still waits: refused.
  OnLoop([&] { live_.erase(2); });     // (The caller timed it itself.)
  OnLoop([&] { live_.erase(1); });     // Answered.
  EXPECT_TRUE(Add(3, now + Ms(30)));
  EXPECT_TRUE(Add(4, now + Ms(40)));
  OnLoop([&] { EXPECT_EQ(queue_->size(), 2u); });  // 1's entry dropped.
  // Expire on time, though the timer was armed for id 1's 100 s.
  std::vector<Expiry> got = WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 3u);
  EXPECT_EQ(got[1].id, 4u);
  EXPECT_GE(got[0].at_ns, now + Ms(30));
  EXPECT_LT(got[1].at_ns, now + Ms(40) + Ms(2000));
}

TEST_F(DeadlineQueueTest, StaleEntriesStayBoundedByTheLiveOnes) {
  // 20,000 calls, one in 100 still waiting: the queue holds about twice
  // the live ones (and never less than its floor of 64) at any time.
  const int64_t far = MonotonicNanos() + Ms(3600 * 1000);
  size_t most = 0;
  OnLoop([&] {
    for (uint64_t id = 1; id <= 20000; ++id) {
      live_.insert(id);
      ASSERT_TRUE(queue_->Add(id, far));
      if (id % 100 != 0) live_.erase(id);  // Answered at once.
      most = std::max(most, queue_->size());
      ASSERT_LE(queue_->size(), 2 * live_.size() + 65) << "after " << id;
    }
  });
  EXPECT_GE(most, 200u);  // The live ones are all still there.
  OnLoop([&] {
    queue_->Clear();
    EXPECT_EQ(queue_->size(), 0u);
  });
}

TEST_F(DeadlineQueueTest, ExpiryMayFileAnotherCall) {
  want_ = 2;
  const int64_t now = MonotonicNanos();
  OnLoop([&] {
    on_expire_ = [this](uint64_t id) {
      if (id == 1) {
        live_.insert(2);
        EXPECT_TRUE(queue_->Add(2, MonotonicNanos() + Ms(20)));
      }
    };
  });
  ASSERT_TRUE(Add(1, now + Ms(20)));
  std::vector<Expiry> got = WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, 1u);
  EXPECT_EQ(got[1].id, 2u);
}

TEST_F(DeadlineQueueTest, ClearDropsEntriesAndTheirTimer) {
  want_ = 1;
  const int64_t now = MonotonicNanos();
  ASSERT_TRUE(Add(1, now + Ms(20)));
  OnLoop([&] { queue_->Clear(); });
  // A later call: once it has expired, id 1's deadline has long passed.
  ASSERT_TRUE(Add(2, now + Ms(80)));
  std::vector<Expiry> got = WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, 2u);
}

}  // namespace
}  // namespace mrpc
