#include "rpc/call_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace mrpc {
namespace {

struct Call {
  uint64_t id = 0;
  std::string text;  // Owns memory: a leak or double free shows under ASan.
  int touched = 0;
};

TEST(CallTableTest, FilesFindsAndTakesOut) {
  CallTable<Call> table;
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Find(1), nullptr);
  EXPECT_EQ(table.Extract(1), nullptr);
  Call& a = table.Insert(1);
  EXPECT_EQ(a.id, 0u);  // Value-initialized.
  EXPECT_TRUE(a.text.empty());
  a.id = 1;
  a.text = std::string(100, 'a');
  table.Insert(2).id = 2;
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.Find(1), &a);
  EXPECT_TRUE(table.contains(2));
  EXPECT_FALSE(table.contains(3));
  // An id whose slot is taken by another: not found.
  EXPECT_EQ(table.Find(1 + table.ring_size()), nullptr);
  CallTable<Call>::Taken taken = table.Extract(1);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken.get(), &a);
  EXPECT_EQ(taken->text, std::string(100, 'a'));
  EXPECT_EQ(table.Find(1), nullptr);
  EXPECT_EQ(table.Extract(1), nullptr);
  EXPECT_EQ(table.size(), 1u);
}

TEST(CallTableTest, AReusedSlotStartsFresh) {
  // Taken-out calls are freed to the thread's free list; the next call made
  // from that memory must not see the old one's fields.
  CallTable<Call> table;
  for (uint64_t id = 1; id <= 1000; ++id) {
    Call& call = table.Insert(id);
    ASSERT_EQ(call.id, 0u) << id;
    ASSERT_TRUE(call.text.empty()) << id;
    ASSERT_EQ(call.touched, 0) << id;
    call.id = id;
    call.text = std::string(50, 'x');
    call.touched = 7;
    if (id > 8) ASSERT_EQ(table.Extract(id - 8)->id, id - 8);
  }
  EXPECT_EQ(table.size(), 8u);
  // Eight in flight fit the smallest ring with no overflow.
  EXPECT_EQ(table.ring_size(), 16u);
  EXPECT_EQ(table.overflow_size(), 0u);
}

TEST(CallTableTest, ALongLivedCallDoesNotGrowTheRingWithoutBound) {
  // Call 1 never ends while a million others pass through, eight at a
  // time: every lap of the ring collides with it once. Those few go to the
  // overflow map; the ring stays the size the calls in flight need.
  CallTable<Call> table;
  table.Insert(1).id = 1;
  size_t most_overflow = 0;
  for (uint64_t id = 2; id < 1000000; ++id) {
    table.Insert(id).id = id;
    if (id > 9) {
      CallTable<Call>::Taken done = table.Extract(id - 8);
      ASSERT_NE(done, nullptr) << id;
      ASSERT_EQ(done->id, id - 8);
    }
    most_overflow = std::max(most_overflow, table.overflow_size());
  }
  EXPECT_LE(table.ring_size(), 64u);
  EXPECT_LE(most_overflow, 2u);
  EXPECT_GT(most_overflow, 0u);  // The collisions did happen.
  ASSERT_NE(table.Find(1), nullptr);
  EXPECT_EQ(table.Find(1)->id, 1u);
  EXPECT_EQ(table.size(), 9u);
}

TEST(CallTableTest, AgreesWithAMapUnderRandomLifetimes) {
  // Calls start in id order and end in random order, some soon, some much
  // later; the table must agree with a plain map at every step.
  std::mt19937_64 rng(12345);
  CallTable<Call> table;
  std::map<uint64_t, int> model;  // id -> touched
  uint64_t next_id = 1;
  size_t most = 0;
  for (int step = 0; step < 200000; ++step) {
    const bool start = model.empty() || rng() % 100 < 52;
    if (start) {
      const uint64_t id = next_id++;
      Call& call = table.Insert(id);
      call.id = id;
      call.touched = static_cast<int>(rng() % 1000);
      model[id] = call.touched;
    } else {
      // Mostly an old call (the front), sometimes any.
      auto it = model.begin();
      if (rng() % 4 == 0) std::advance(it, rng() % model.size());
      const uint64_t id = it->first;
      CallTable<Call>::Taken call = table.Extract(id);
      ASSERT_NE(call, nullptr) << id;
      ASSERT_EQ(call->id, id);
      ASSERT_EQ(call->touched, it->second);
      model.erase(it);
      ASSERT_EQ(table.Extract(id), nullptr);
    }
    ASSERT_EQ(table.size(), model.size());
    most = std::max(most, model.size());
    if (step % 1000 == 0) {
      for (const auto& [id, touched] : model) {
        const Call* call = table.Find(id);
        ASSERT_NE(call, nullptr) << id;
        ASSERT_EQ(call->touched, touched);
      }
      ASSERT_EQ(table.Find(next_id), nullptr);
    }
  }
  // Memory in proportion to the most calls ever in flight.
  EXPECT_LE(table.ring_size(), std::max<size_t>(16, 4 * most));
  size_t seen = 0;
  table.ForEach([&](uint64_t id, Call& call) {
    ++seen;
    EXPECT_EQ(model.at(id), call.touched);
  });
  EXPECT_EQ(seen, model.size());
}

TEST(CallTableTest, TakeAllEmptiesTheTable) {
  CallTable<Call> table;
  table.Insert(1).id = 1;
  for (uint64_t id = 2; id < 200; ++id) {
    table.Insert(id).id = id;
    if (id % 3 != 0) table.Extract(id);
  }
  const size_t before = table.size();
  std::vector<std::pair<uint64_t, CallTable<Call>::Taken>> all =
      table.TakeAll();
  ASSERT_EQ(all.size(), before);
  for (const auto& [id, call] : all) EXPECT_EQ(call->id, id);
  EXPECT_TRUE(table.empty());
  EXPECT_EQ(table.Find(1), nullptr);
  table.Insert(500).id = 500;  // Usable after.
  EXPECT_EQ(table.Find(500)->id, 500u);
}

TEST(CallTableTest, ATakenCallOutlivesItsTable) {
  // A call's callback may destroy its channel, table and all: what was
  // taken out stays valid (ASan checks).
  CallTable<Call>::Taken kept;
  {
    CallTable<Call> table;
    table.Insert(7).text = std::string(64, 'k');
    table.Insert(8).text = std::string(64, 'l');  // Freed with the table.
    kept = table.Extract(7);
  }
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->text, std::string(64, 'k'));
}

}  // namespace
}  // namespace mrpc
