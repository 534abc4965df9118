#include "rpc/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "net/sync.h"

namespace mrpc {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskOnAWorker) {
  std::atomic<int> ran{0};
  const std::thread::id main_thread = std::this_thread::get_id();
  {
    ThreadPool pool("test-pool", 3, 0);
    CountDownLatch done(100);
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(pool.TrySchedule([&] {
        EXPECT_NE(std::this_thread::get_id(), main_thread);
        ++ran;
        done.CountDown();
      }));
    }
    EXPECT_TRUE(done.WaitWithTimeout(absl::Seconds(30)));
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPoolTest, FullQueueRefusesWithoutRunning) {
  ThreadPool pool("test-pool", 1, 2);
  Notification release;
  Notification started;
  ASSERT_TRUE(pool.TrySchedule([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // The worker is busy; the queue is empty.
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.TrySchedule([&] { ++ran; }));
  EXPECT_TRUE(pool.TrySchedule([&] { ++ran; }));
  EXPECT_FALSE(pool.TrySchedule([&] { ++ran; }));  // Queue limit 2.
  EXPECT_EQ(pool.queue_size(), 2u);
  release.Notify();
}

// With one worker held, source A queues a backlog, then B queues one task:
// B's task runs second, not after A's whole backlog; each source's own
// tasks keep their order.
TEST(ThreadPoolTest, SourcesAreServedRoundRobinEachInOrder) {
  ThreadPool pool("test-pool", 1, 0);
  Notification release;
  Notification started;
  int a = 0, b = 0;  // Addresses only: the sources.
  ASSERT_TRUE(pool.TrySchedule(&a, 0, [&] {
                    started.Notify();
                    release.WaitForNotification();
                  })
                  .ok());
  started.WaitForNotification();
  Mutex mu;
  std::vector<std::string> order;
  CountDownLatch done(7);
  auto record = [&](std::string name) {
    return [&, name] {
      {
        MutexLock lock(&mu);
        order.push_back(name);
      }
      done.CountDown();
    };
  };
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.TrySchedule(&a, 0, record("a" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(pool.TrySchedule(&b, 0, record("b0")).ok());
  ASSERT_TRUE(pool.TrySchedule(&b, 0, record("b1")).ok());
  release.Notify();
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(30)));
  MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2",
                                             "a3", "a4"}));
}

TEST(ThreadPoolTest, ByteBoundRefusesAndRemovalReleasesAtOnce) {
  ThreadPool pool("test-pool", 1, 0, /*max_queue_bytes=*/1000);
  Notification release;
  Notification started;
  int conn = 0;
  ASSERT_TRUE(pool.TrySchedule(&conn, 0, [&] {
                    started.Notify();
                    release.WaitForNotification();
                  })
                  .ok());
  started.WaitForNotification();
  std::atomic<int> ran{0};
  absl::StatusOr<ThreadPool::TaskId> first =
      pool.TrySchedule(&conn, 600, [&] { ++ran; });
  ASSERT_TRUE(first.ok());
  absl::StatusOr<ThreadPool::TaskId> second =
      pool.TrySchedule(&conn, 600, [&] { ++ran; });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted)
      << second.status();
  EXPECT_EQ(pool.queued_bytes(), 600u);
  // Removing the queued task frees its bytes now, not when a worker
  // would have reached it; the task itself is destroyed, never run.
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> watch = token;
  absl::StatusOr<ThreadPool::TaskId> third =
      pool.TrySchedule(&conn, 300, [&ran, token] { ++ran; });
  ASSERT_TRUE(third.ok());
  token.reset();
  EXPECT_TRUE(pool.Remove(&conn, *third));
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(pool.Remove(&conn, *third));
  EXPECT_TRUE(pool.Remove(&conn, *first));
  EXPECT_EQ(pool.queued_bytes(), 0u);
  EXPECT_EQ(pool.queue_size(), 0u);
  // An empty queue takes one task however large.
  EXPECT_TRUE(pool.TrySchedule(&conn, 5000, [&] { ++ran; }).ok());
  EXPECT_FALSE(pool.TrySchedule(&conn, 1, [&] { ++ran; }).ok());
  release.Notify();
  EXPECT_EQ(pool.Stop(absl::InfiniteFuture()), 0);
  EXPECT_EQ(ran.load(), 1);
}

// A worker stuck in its task past Stop()'s deadline is detached, not
// joined; it may finish later, after the pool is gone, safely.
TEST(ThreadPoolTest, StopDetachesAWorkerStuckPastTheDeadline) {
  auto release = std::make_shared<Notification>();
  auto finished = std::make_shared<Notification>();
  auto started = std::make_shared<Notification>();
  std::atomic<int> ran{0};
  {
    ThreadPool pool("test-pool", 2, 0);
    ASSERT_TRUE(pool.TrySchedule([release, finished, started] {
      started->Notify();
      release->WaitForNotification();
      finished->Notify();
    }));
    started->WaitForNotification();
    int source = 0;
    // Queued behind nothing: the free worker runs it before stopping.
    ASSERT_TRUE(pool.TrySchedule(&source, 0, [&] { ++ran; }).ok());
    const absl::Time start = absl::Now();
    EXPECT_EQ(pool.Stop(absl::Now() + absl::Milliseconds(200)), 1);
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    EXPECT_FALSE(pool.TrySchedule([] {}));
  }
  EXPECT_EQ(ran.load(), 1);
  release->Notify();
  EXPECT_TRUE(finished->WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(ThreadPoolTest, DestructorRunsQueuedTasks) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool("test-pool", 1, 0);
    for (int i = 0; i < 50; ++i) pool.TrySchedule([&] { ++ran; });
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace mrpc
