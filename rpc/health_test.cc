#include "rpc/health.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace mrpc {
namespace {

using State = HealthStatus::State;

TEST(HealthStatusTest, WholeServerStartsServing) {
  HealthStatus health;
  EXPECT_EQ(health.Get(""), State::kServing);
  EXPECT_EQ(health.Get("a.B"), State::kUnknown);
}

TEST(HealthStatusTest, SetAndAdd) {
  HealthStatus health;
  health.AddService("a.B");
  EXPECT_EQ(health.Get("a.B"), State::kServing);
  health.Set("a.B", false);
  EXPECT_EQ(health.Get("a.B"), State::kNotServing);
  EXPECT_EQ(health.Get(""), State::kServing);
  // Registering later keeps what the application set.
  health.Set("c.D", false);
  health.AddService("c.D");
  EXPECT_EQ(health.Get("c.D"), State::kNotServing);
  health.Set("", false);
  EXPECT_EQ(health.Get(""), State::kNotServing);
  health.Set("", true);
  EXPECT_EQ(health.Get(""), State::kServing);
}

TEST(HealthStatusTest, ConcurrentSetAndGet) {
  HealthStatus health;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&health, t] {
      for (int i = 0; i < 1000; ++i) {
        health.Set(t % 2 ? "" : "x.Y", i % 2 == 0);
        EXPECT_NE(health.Get(""), State::kUnknown);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Each writer's last Set was i = 999: not serving.
  EXPECT_EQ(health.Get(""), State::kNotServing);
  EXPECT_EQ(health.Get("x.Y"), State::kNotServing);
}

}  // namespace
}  // namespace mrpc
