#include "rpc/rpcz.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

RpczCall CallNamed(const std::string& method) {
  RpczCall call;
  call.service = "svc";
  call.method = method;
  call.code = absl::StatusCode::kInternal;
  call.total_us = 7;
  return call;
}

TEST(RpczStoreTest, WantsSlowCallsAndErrors) {
  RpczStore store(true, absl::Milliseconds(100), true, 4);
  EXPECT_FALSE(store.Wants(99'999'999, true));
  EXPECT_TRUE(store.Wants(100'000'000, true));
  EXPECT_TRUE(store.Wants(0, false));
  RpczStore no_errors(true, absl::Milliseconds(100), false, 4);
  EXPECT_FALSE(no_errors.Wants(0, false));
  EXPECT_TRUE(no_errors.Wants(100'000'000, false));
}

TEST(RpczStoreTest, DisabledOrInfiniteKeepsNothingByLatency) {
  RpczStore off(false, absl::ZeroDuration(), true, 4);
  EXPECT_FALSE(off.Wants(int64_t{1} << 62, false));
  off.Add(CallNamed("a"));
  EXPECT_TRUE(off.Snapshot().empty());
  RpczStore errors_only(true, absl::InfiniteDuration(), true, 4);
  EXPECT_FALSE(errors_only.Wants(int64_t{1} << 62, true));
  EXPECT_TRUE(errors_only.Wants(0, false));
}

TEST(RpczStoreTest, KeepsTheNewestMaxCallsNewestFirst) {
  RpczStore store(true, absl::Milliseconds(1), true, 3);
  store.Add(CallNamed("m1"));
  store.Add(CallNamed("m2"));
  std::vector<RpczRecord> two = store.Snapshot();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].method, "m2");
  EXPECT_EQ(two[1].method, "m1");
  for (int i = 3; i <= 7; ++i) store.Add(CallNamed(absl::StrCat("m", i)));
  std::vector<RpczRecord> records = store.Snapshot();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].method, "m7");
  EXPECT_EQ(records[1].method, "m6");
  EXPECT_EQ(records[2].method, "m5");
  EXPECT_EQ(records[0].seq, 7u);
  EXPECT_EQ(store.added(), 7u);
}

TEST(RpczStoreTest, CapsTheMessageAtACharacterBoundary) {
  RpczStore store(true, absl::Milliseconds(1), true, 2);
  RpczCall call = CallNamed("m");
  // 300 bytes of two-byte characters: a cut at 253 would split one.
  std::string message;
  for (int i = 0; i < 150; ++i) message += "\xc3\xa9";
  call.message = message;
  store.Add(call);
  const std::string kept = store.Snapshot()[0].message;
  EXPECT_LE(kept.size(), RpczStore::kMaxMessageBytes);
  ASSERT_GT(kept.size(), 200u);
  EXPECT_EQ(kept.substr(kept.size() - 3), "...");
  EXPECT_EQ((kept.size() - 3) % 2, 0u);
  EXPECT_EQ(kept.substr(0, kept.size() - 3),
            message.substr(0, kept.size() - 3));
}

TEST(RpczStoreTest, TraceIdAsHex) {
  RpczStore store(true, absl::Milliseconds(1), true, 2);
  RpczCall call = CallNamed("m");
  std::array<uint8_t, 16> id{};
  id[0] = 0x4b;
  id[15] = 0x36;
  call.trace_id = &id;
  store.Add(call);
  store.Add(CallNamed("untraced"));
  std::vector<RpczRecord> records = store.Snapshot();
  EXPECT_EQ(records[0].TraceIdHex(), "");
  EXPECT_EQ(records[1].TraceIdHex(), "4b000000000000000000000000000036");
}

}  // namespace
}  // namespace mrpc
