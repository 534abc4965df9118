#include "tools/proc_stat.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace mrpc {
namespace {

TEST(ProcStatTest, CpuTimeGrowsWithWork) {
  const double before = ProcessCpuSeconds(getpid());
  ASSERT_GE(before, 0);
  // Burn ~50 ms of CPU (clock ticks are 10 ms).
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  volatile unsigned long spin = 0;
  while (std::chrono::steady_clock::now() < end) spin = spin + 1;
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
