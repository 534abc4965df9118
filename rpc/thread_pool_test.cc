#include "rpc/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

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
