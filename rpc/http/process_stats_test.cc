#include "rpc/http/process_stats.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace mrpc {
namespace {

TEST(ProcessStatsTest, ReadsThisProcess) {
  const ProcessStats stats = ReadProcessStats();
  EXPECT_GE(stats.cpu_seconds, 0);
  EXPECT_GT(stats.resident_memory_bytes, 1 << 20);
  EXPECT_GE(stats.virtual_memory_bytes, stats.resident_memory_bytes);
  EXPECT_GE(stats.threads, 1);
  // Started within the last hour, not in the future (1 s for rounding).
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(stats.start_time_seconds, now + 1);
  EXPECT_GT(stats.start_time_seconds, now - 3600);
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(stats.max_fds, static_cast<int64_t>(limit.rlim_cur));
  EXPECT_GE(stats.open_fds, 3);
  EXPECT_LE(stats.open_fds, stats.max_fds);
}

TEST(ProcessStatsTest, CountsFdsAndThreads) {
  // A first thread may bring runtime threads of its own (TSan starts one
  // on the first pthread_create): have them running before counting.
  std::thread([] {}).join();
  const ProcessStats before = ReadProcessStats();
  const int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  absl::Notification stop;
  std::thread thread([&] { stop.WaitForNotification(); });
  const ProcessStats during = ReadProcessStats();
  stop.Notify();
  thread.join();
  ::close(fd);
  EXPECT_EQ(during.open_fds, before.open_fds + 1);
  EXPECT_EQ(during.threads, before.threads + 1);
}

}  // namespace
}  // namespace mrpc
