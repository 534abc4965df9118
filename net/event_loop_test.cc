#include "net/event_loop.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

// A loop for the calling thread; failing to make one fails the test binary
// (these tests are not about creation; loop_fd_exhaustion_test is).
std::unique_ptr<EventLoop> CreateLoop() {
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  CHECK(loop.ok()) << loop.status();
  return std::move(*loop);
}

TEST(EventLoopDeathTest, SecondLoopOnOneThreadIsACheckFailure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        absl::StatusOr<std::unique_ptr<EventLoop>> first = EventLoop::Create();
        absl::StatusOr<std::unique_ptr<EventLoop>> second = EventLoop::Create();
      },
      "a second EventLoop on this thread");
}

TEST(EventLoopDeathTest, LoopOnlyCallFromAnotherThreadIsACheckFailure) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        std::unique_ptr<EventLoop> loop = CreateLoop();
        std::thread other([&] { loop->AssertInLoopThread(); });
        other.join();
      },
      "used from a thread that does not own it");
}

TEST(EventLoopTest, CurrentThreadLoop) {
  EXPECT_EQ(EventLoop::CurrentThreadLoop(), nullptr);
  {
    std::unique_ptr<EventLoop> loop = CreateLoop();
    EXPECT_EQ(EventLoop::CurrentThreadLoop(), loop.get());
    EXPECT_TRUE(loop->IsInLoopThread());
  }
  EXPECT_EQ(EventLoop::CurrentThreadLoop(), nullptr);  // A new one may follow.
}

TEST(EventLoopTest, RunInLoopOnLoopThreadRunsInline) {
  std::unique_ptr<EventLoop> loop = CreateLoop();
  bool ran = false;
  loop->RunInLoop([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(EventLoopTest, TasksFromOtherThreadsRunOnTheLoopInOrder) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  constexpr int kPerThread = 2000;
  constexpr int kThreads = 4;
  std::vector<std::vector<int>> seen(kThreads);  // Touched on the loop only.
  CountDownLatch done(kThreads);
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop->RunInLoop([&, t, i] {
          EXPECT_TRUE(loop->IsInLoopThread());
          seen[t].push_back(i);
          if (i == kPerThread - 1) done.CountDown();
        });
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(30)));
  RunInLoopAndWait(loop, [&] {
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_EQ(seen[t].size(), static_cast<size_t>(kPerThread));
      for (int i = 0; i < kPerThread; ++i) EXPECT_EQ(seen[t][i], i);
    }
  });
}

TEST(EventLoopTest, TaskQueuedFromATaskRunsWithoutOutsideHelp) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  Notification done;
  loop->QueueInLoop([&] {
    loop->QueueInLoop([&] { loop->QueueInLoop([&] { done.Notify(); }); });
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(EventLoopTest, QuitFromAnotherThreadStopsLoop) {
  Notification looping;
  Notification exited;
  EventLoop* loop_ptr = nullptr;
  std::thread runner([&] {
    std::unique_ptr<EventLoop> loop = CreateLoop();
    loop_ptr = loop.get();
    loop->QueueInLoop([&] { looping.Notify(); });
    loop->Loop();
    exited.Notify();
  });
  looping.WaitForNotification();
  loop_ptr->Quit();
  EXPECT_TRUE(exited.WaitForNotificationWithTimeout(absl::Seconds(30)));
  runner.join();
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndNeverEarly) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  std::vector<int> order;  // Loop thread only.
  std::vector<int64_t> late_ns(3);
  CountDownLatch fired(3);
  const int64_t start = MonotonicNanos();
  const int delays_ms[] = {30, 10, 20};
  for (int i = 0; i < 3; ++i) {
    loop->RunAfter(absl::Milliseconds(delays_ms[i]), [&, i] {
      order.push_back(delays_ms[i]);
      late_ns[i] = MonotonicNanos() - start - delays_ms[i] * 1000000LL;
      fired.CountDown();
    });
  }
  ASSERT_TRUE(fired.WaitWithTimeout(absl::Seconds(30)));
  RunInLoopAndWait(loop, [&] {
    EXPECT_EQ(order, (std::vector<int>{10, 20, 30}));
  });
  for (int64_t late : late_ns) EXPECT_GE(late, 0) << "a timer fired early";
}

TEST(EventLoopTest, CancelFromAnotherThreadStopsATimer) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  std::atomic<bool> cancelled_ran{false};
  Notification later_ran;
  const TimerId id =
      loop->RunAfter(absl::Milliseconds(20), [&] { cancelled_ran = true; });
  loop->Cancel(id);  // From this (non-loop) thread.
  // Same loop, later deadline: by the time it runs, the cancelled one would
  // have run had it not been cancelled.
  loop->RunAfter(absl::Milliseconds(40), [&] { later_ran.Notify(); });
  ASSERT_TRUE(later_ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(cancelled_ran);
  RunInLoopAndWait(loop, [&] { EXPECT_EQ(loop->num_timers(), 0u); });
}

TEST(EventLoopTest, RunEveryRepeatsUntilCancelled) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  int runs = 0;  // Loop thread only.
  Notification done;
  TimerId id;
  Notification id_set;
  id = loop->RunEvery(absl::Milliseconds(2), [&] {
    id_set.WaitForNotification();
    if (++runs == 5) {
      loop->Cancel(id);
      done.Notify();
    }
  });
  id_set.Notify();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  RunInLoopAndWait(loop, [&] {
    EXPECT_EQ(runs, 5);
    EXPECT_EQ(loop->num_timers(), 0u);
  });
}

TEST(EventLoopTest, RunAtUsesWallClockDeadline) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  Notification fired;
  const absl::Time when = absl::Now() + absl::Milliseconds(15);
  absl::Time fired_at;
  loop->RunAt(when, [&] {
    fired_at = absl::Now();
    fired.Notify();
  });
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_GE(fired_at, when);
}

TEST(EventLoopTest, IdleLoopDoesNotSpin) {
  EventLoopThread thread("test-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  // A far timer: the timerfd is armed for it, but nothing should wake the
  // loop in the meantime.
  loop->RunAfter(absl::Hours(1), [] {});
  RunInLoopAndWait(loop, [] {});
  const uint64_t before = loop->iterations();
  absl::SleepFor(absl::Milliseconds(100));  // Measuring idleness, not syncing.
  EXPECT_LE(loop->iterations() - before, 2u);
}

TEST(EventLoopTest, DestructionRunsTasksStillQueued) {
  bool ran = false;
  {
    std::unique_ptr<EventLoop> loop = CreateLoop();
    loop->QueueInLoop([&] { ran = true; });
  }
  EXPECT_TRUE(ran);
}

}  // namespace
}  // namespace mrpc
