#include "rpc/cluster/load_balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

TEST(LbPolicyTest, ParsesTheThreeNames) {
  EXPECT_EQ(*ParseLbPolicy("round_robin"), LbPolicy::kRoundRobin);
  EXPECT_EQ(*ParseLbPolicy("p2c"), LbPolicy::kPowerOfTwoChoices);
  EXPECT_EQ(*ParseLbPolicy("consistent_hash"), LbPolicy::kConsistentHash);
  absl::StatusOr<LbPolicy> bad = ParseLbPolicy("random");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("random"), std::string::npos);
}

TEST(StableHashTest, IsFixedAcrossBuilds) {
  // Clients in different processes (and versions) must map keys alike.
  EXPECT_EQ(StableHash(""), StableHash(""));
  EXPECT_NE(StableHash("a"), StableHash("b"));
  // FNV-1a 64 then splitmix64's finalizer, computed apart (in Python).
  EXPECT_EQ(StableHash("user-42"), 0x7a1596f0e94b5793ull);
}

std::vector<std::string> Names(int n, int first = 0) {
  std::vector<std::string> names;
  for (int i = first; i < first + n; ++i) {
    names.push_back(absl::StrCat("10.0.0.", i, ":9000"));
  }
  return names;
}

// Where each of `keys` keys goes on a ring of `names`.
std::vector<std::string> Map(const std::vector<std::string>& names, int keys) {
  HashRing ring;
  ring.Build(names);
  std::vector<std::string> where;
  for (int k = 0; k < keys; ++k) {
    const int i = ring.Find(StableHash(absl::StrCat("key-", k)),
                            [](int) { return true; });
    where.push_back(names[i]);
  }
  return where;
}

TEST(HashRingTest, SpreadsKeysEvenly) {
  const std::vector<std::string> names = Names(10);
  const std::vector<std::string> where = Map(names, 100000);
  for (const std::string& name : names) {
    const long n = std::count(where.begin(), where.end(), name);
    // 10% each, within a fifth of it.
    EXPECT_GT(n, 8000) << name;
    EXPECT_LT(n, 12000) << name;
  }
}

TEST(HashRingTest, RemovingOneOfNMovesAboutOneNthOfKeys) {
  const int kKeys = 100000;
  std::vector<std::string> names = Names(10);
  const std::vector<std::string> before = Map(names, kKeys);
  const std::string gone = names[3];
  names.erase(names.begin() + 3);
  const std::vector<std::string> after = Map(names, kKeys);
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] != after[k]) {
      ++moved;
      // Only the removed server's keys move.
      EXPECT_EQ(before[k], gone) << k;
    }
  }
  EXPECT_GT(moved, kKeys / 10 * 8 / 10);
  EXPECT_LT(moved, kKeys / 10 * 12 / 10);
  std::printf("removing 1 of 10 servers moved %d of %d keys (%.2f%%)\n", moved,
              kKeys, 100.0 * moved / kKeys);
}

TEST(HashRingTest, AddingOneMovesAboutOneNthOfKeysToIt) {
  const int kKeys = 100000;
  std::vector<std::string> names = Names(10);
  const std::vector<std::string> before = Map(names, kKeys);
  names.push_back("10.0.0.99:9000");
  const std::vector<std::string> after = Map(names, kKeys);
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    if (before[k] != after[k]) {
      ++moved;
      EXPECT_EQ(after[k], "10.0.0.99:9000") << k;
    }
  }
  EXPECT_GT(moved, kKeys / 11 * 8 / 10);
  EXPECT_LT(moved, kKeys / 11 * 12 / 10);
  std::printf("adding an 11th server moved %d of %d keys (%.2f%%)\n", moved,
              kKeys, 100.0 * moved / kKeys);
}

TEST(HashRingTest, SkipsIneligibleBackendsAndReportsNone) {
  const std::vector<std::string> names = Names(3);
  HashRing ring;
  ring.Build(names);
  const uint64_t key = StableHash("k");
  const int home = ring.Find(key, [](int) { return true; });
  ASSERT_GE(home, 0);
  const int next = ring.Find(key, [&](int i) { return i != home; });
  EXPECT_GE(next, 0);
  EXPECT_NE(next, home);
  EXPECT_EQ(ring.Find(key, [](int) { return false; }), -1);
  HashRing empty;
  EXPECT_EQ(empty.Find(key, [](int) { return true; }), -1);
}

TEST(LatencyEwmaTest, FollowsSamplesAndDecaysWhenIdle) {
  LatencyEwma ewma;
  EXPECT_EQ(ewma.Get(0), 0);
  ewma.Add(1000, 0);
  EXPECT_EQ(ewma.Get(0), 1000);
  for (int i = 0; i < 50; ++i) ewma.Add(5000, 0);
  EXPECT_NEAR(ewma.Get(0), 5000, 1);
  // One half-life idle halves it: a slow backend is tried again later.
  EXPECT_NEAR(ewma.Get(1000), 2500, 1);
  EXPECT_LT(ewma.Get(10000), 10);
}

TEST(P2cLoadTest, PrefersFewerInFlightAndLowerLatency) {
  EXPECT_LT(P2cLoad(0, 100), P2cLoad(1, 100));
  EXPECT_LT(P2cLoad(3, 100), P2cLoad(0, 5000));
}

}  // namespace
}  // namespace mrpc
