#include "tools/proc_stat.h"

#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace mrpc {
namespace {

TEST(ProcStatTest, CpuTimeGrowsWithWork) {
  const double before = ProcessCpuSeconds(getpid());
  ASSERT_GE(before, 0);
  // Burn 50 ms of this thread's CPU time (clock ticks are 10 ms), measured
  // by the thread's own CPU clock: on a busy machine wall time says nothing
  // about how much CPU we got. Capped at 30 s of wall time.
  auto thread_cpu = [] {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  };
  const double start = thread_cpu();
  const auto cap = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  volatile unsigned long spin = 0;
  while (thread_cpu() - start < 0.05 && std::chrono::steady_clock::now() < cap) {
    spin = spin + 1;
  }
  ASSERT_GE(thread_cpu() - start, 0.05);
  EXPECT_GT(ProcessCpuSeconds(getpid()), before);
}

TEST(ProcStatTest, RssSeesTouchedMemory) {
  const long long before = ProcessRssBytes(getpid());
  ASSERT_GT(before, 0);
  std::vector<char> block(64 << 20, 1);  // 64 MiB, touched.
  EXPECT_GE(ProcessRssBytes(getpid()), before + (32 << 20));
  EXPECT_EQ(block[12345], 1);
}

TEST(ProcStatTest, MissingProcessIsMinusOne) {
  EXPECT_EQ(ProcessCpuSeconds(-5), -1);
  EXPECT_EQ(ProcessRssBytes(-5), -1);
}

}  // namespace
}  // namespace mrpc
