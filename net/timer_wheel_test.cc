#include "net/timer_wheel.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <vector>

#include "absl/random/random.h"

namespace mrpc {
namespace {

// Tests drive the wheel with a fake millisecond clock: the `now` passed to
// Advance() is the only time the wheel knows.
class TimerWheelTest : public ::testing::Test {
 protected:
  TimerId Add(int64_t expiry, int64_t interval = 0) {
    const TimerId id{next_id_++};
    wheel_.Add(id, expiry, interval,
               [this, id] { fired_.push_back(id.value); });
    return id;
  }

  TimerWheel wheel_{1000};  // Arbitrary non-zero epoch.
  uint64_t next_id_ = 1;
  std::vector<uint64_t> fired_;
};

TEST_F(TimerWheelTest, FiresAtItsMillisecondAndNotBefore) {
  const TimerId id = Add(1010);
  EXPECT_EQ(wheel_.NextExpiry(), 1010);
  EXPECT_EQ(wheel_.Advance(1009), 0u);
  EXPECT_TRUE(fired_.empty());
  EXPECT_EQ(wheel_.Advance(1010), 1u);
  EXPECT_EQ(fired_, std::vector<uint64_t>{id.value});
  EXPECT_EQ(wheel_.size(), 0u);
  EXPECT_EQ(wheel_.NextExpiry(), TimerWheel::kNever);
}

TEST_F(TimerWheelTest, PastDueFiresOnNextAdvance) {
  Add(5);  // Long before the wheel's "now".
  EXPECT_EQ(wheel_.NextExpiry(), 1000);
  EXPECT_EQ(wheel_.Advance(1000), 1u);
}

TEST_F(TimerWheelTest, FiresInDeadlineOrderAcrossLevels) {
  // Delays spanning level 0 (ms), level 1 (s), level 2 (min), level 3 (h).
  const std::vector<int64_t> delays = {3600000, 5,     20000, 300, 255,
                                       256,     16384, 70000, 1};
  std::map<uint64_t, int64_t> expiry_of;
  for (int64_t delay : delays)
    expiry_of[Add(1000 + delay).value] = 1000 + delay;
  wheel_.Advance(1000 + 3600000);
  ASSERT_EQ(fired_.size(), delays.size());
  for (size_t i = 1; i < fired_.size(); ++i) {
    EXPECT_LT(expiry_of[fired_[i - 1]], expiry_of[fired_[i]]);
  }
}

TEST_F(TimerWheelTest, CancelPreventsFiring) {
  const TimerId a = Add(1100);
  const TimerId b = Add(1100);
  const TimerId far = Add(1000 + 500000);
  EXPECT_TRUE(wheel_.Cancel(a));
  EXPECT_FALSE(wheel_.Cancel(a));  // Second cancel: unknown.
  EXPECT_TRUE(wheel_.Cancel(far));
  EXPECT_EQ(wheel_.size(), 1u);
  wheel_.Advance(2000000);
  EXPECT_EQ(fired_, std::vector<uint64_t>{b.value});
  EXPECT_FALSE(wheel_.Cancel(b));  // Already fired.
}

TEST_F(TimerWheelTest, RefreshMovesTheDeadline) {
  const TimerId id = Add(1050);
  wheel_.Advance(1040);
  EXPECT_TRUE(wheel_.Refresh(id, 1090));  // An idle timer seeing traffic.
  wheel_.Advance(1089);
  EXPECT_TRUE(fired_.empty());
  wheel_.Advance(1090);
  EXPECT_EQ(fired_.size(), 1u);
  EXPECT_FALSE(wheel_.Refresh(id, 2000));  // Gone.
}

TEST_F(TimerWheelTest, RefreshEarlierAcrossLevels) {
  const TimerId id = Add(1000 + 100000);  // In level 2.
  EXPECT_TRUE(wheel_.Refresh(id, 1003));  // Now in level 0.
  EXPECT_EQ(wheel_.NextExpiry(), 1003);
  wheel_.Advance(1003);
  EXPECT_EQ(fired_.size(), 1u);
}

TEST_F(TimerWheelTest, RepeatingTimerKeepsItsCadence) {
  const TimerId id = Add(1010, 10);
  for (int64_t now = 1001; now <= 1035; ++now) wheel_.Advance(now);
  EXPECT_EQ(fired_.size(), 3u);  // At 1010, 1020, 1030.
  EXPECT_EQ(wheel_.NextExpiry(), 1040);
  EXPECT_TRUE(wheel_.Cancel(id));
  wheel_.Advance(5000);
  EXPECT_EQ(fired_.size(), 3u);
}

TEST_F(TimerWheelTest, RepeatingTimerSkipsMissedBeatsAfterAStall) {
  Add(1010, 10);
  // One Advance long after several beats were due (a stalled loop): the
  // timer fires once, not once per missed beat, and resumes its interval
  // from now.
  wheel_.Advance(1055);
  EXPECT_EQ(fired_.size(), 1u);
  EXPECT_EQ(wheel_.NextExpiry(), 1065);
}

TEST_F(TimerWheelTest, RepeatingTimerCancelsItselfFromItsCallback) {
  int runs = 0;
  const TimerId id{next_id_++};
  wheel_.Add(id, 1001, 1, [&] {
    if (++runs == 3) wheel_.Cancel(id);
  });
  for (int64_t now = 1001; now <= 1100; ++now) wheel_.Advance(now);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(TimerWheelTest, RefreshFromOwnCallbackWins) {
  // An idle timer that, when it fires, finds recent traffic and re-arms
  // itself for later than its interval would.
  int runs = 0;
  const TimerId id{next_id_++};
  wheel_.Add(id, 1010, 10, [&] {
    ++runs;
    if (runs == 1) wheel_.Refresh(id, 1100);
  });
  wheel_.Advance(1099);
  EXPECT_EQ(runs, 1);
  wheel_.Advance(1100);
  EXPECT_EQ(runs, 2);
}

TEST_F(TimerWheelTest, CallbackMayCancelAnotherTimerDueInTheSameTick) {
  TimerId victim;
  const TimerId killer{next_id_++};
  wheel_.Add(killer, 1005, 0, [&] { wheel_.Cancel(victim); });
  victim = Add(1005);
  wheel_.Advance(1005);
  // Same-millisecond order is unspecified: either the victim ran first, or
  // it was cancelled and never ran. Never both, never a crash.
  EXPECT_LE(fired_.size(), 1u);
  EXPECT_EQ(wheel_.size(), 0u);
}

TEST_F(TimerWheelTest, ZeroDelayTimerAddedByCallbackDoesNotLoopForever) {
  int runs = 0;
  std::function<void()> rearm = [&] {
    ++runs;
    wheel_.Add(TimerId{next_id_++}, 0, 0, rearm);  // "As soon as possible".
  };
  wheel_.Add(TimerId{next_id_++}, 1001, 0, rearm);
  wheel_.Advance(1001);
  EXPECT_EQ(runs, 1);  // The re-added timer waits for the next tick.
  wheel_.Advance(1003);
  EXPECT_EQ(runs, 3);
}

TEST_F(TimerWheelTest, FarFutureTimerIsParkedAndFiresOnTime) {
  const int64_t sixty_days = int64_t{60} * 24 * 3600 * 1000;
  Add(1000 + sixty_days);
  EXPECT_LE(wheel_.NextExpiry(), 1000 + sixty_days);
  wheel_.Advance(1000 + sixty_days - 1);
  EXPECT_TRUE(fired_.empty());
  wheel_.Advance(1000 + sixty_days);
  EXPECT_EQ(fired_.size(), 1u);
}

TEST_F(TimerWheelTest, NextExpiryIsExactWithinLevelZeroAndALowerBoundBeyond) {
  Add(1000 + 100);
  EXPECT_EQ(wheel_.NextExpiry(), 1100);
  TimerWheel wheel(0);
  wheel.Add(TimerId{1}, 10000, 0, [] {});  // Level 1.
  const int64_t next = wheel.NextExpiry();
  EXPECT_LE(next, 10000);
  EXPECT_GT(next, 9000);  // Its slot's cascade point, 9984.
}

// Regression: a level's current slot can hold timers for its next lap; the
// next cascade is then a later slot of this lap, not a whole lap away.
TEST_F(TimerWheelTest, NextExpirySeesPastANextLapSlot) {
  TimerWheel wheel(600);  // Level-1 slot 2, already cascaded this lap.
  wheel.Add(TimerId{1}, 16900, 0, [] {});  // Level-1 slot 2, next lap.
  wheel.Add(TimerId{2}, 1300, 0, [] {});   // Level-1 slot 5, this lap.
  EXPECT_EQ(wheel.NextExpiry(), 1280);     // Slot 5 cascades at 5 * 256.
}

TEST_F(TimerWheelTest, EmptyWheelCatchesUpWithoutWalkingEveryTick) {
  TimerWheel wheel(0);
  wheel.Advance(int64_t{1} << 40);  // Returns at once: nothing to walk.
  wheel.Add(TimerId{1}, (int64_t{1} << 40) + 5, 0, [] {});
  EXPECT_EQ(wheel.NextExpiry(), (int64_t{1} << 40) + 5);
}

// Property test: random timers across all levels, random cancels, advanced
// in random steps. Every surviving timer fires exactly once, at the first
// Advance whose `now` reaches its expiry, and NextExpiry never overshoots
// the earliest pending expiry.
TEST(TimerWheelPropertyTest, RandomScheduleFiresEachTimerOnTime) {
  absl::BitGen rng;
  TimerWheel wheel(0);
  std::map<int, int64_t> pending;  // timer number -> expiry
  std::map<int, int64_t> fired_at;
  std::map<int, uint64_t> ids_by_slot;
  int64_t now = 0;
  uint64_t next_id = 1;
  for (int i = 0; i < 4000; ++i) {
    const int64_t delay = absl::Uniform<int>(rng, 0, 4) == 0
                              ? absl::Uniform<int64_t>(rng, 0, 300)
                              : absl::Uniform<int64_t>(rng, 0, 3000000);
    // Half the timers take the wheel's own ids, half the caller's.
    uint64_t id = 0;
    TimerCallback record = [&, slot = i] { fired_at[slot] = now; };
    if (absl::Uniform<int>(rng, 0, 2) == 0) {
      id = wheel.TryAddWithOwnId(now + delay, 0, record).value;
      ASSERT_NE(id, 0u);
    } else {
      id = next_id++;
      wheel.Add(TimerId{id}, now + delay, 0, std::move(record));
    }
    ids_by_slot[i] = id;
    pending[i] = now + delay;
    if (absl::Uniform<int>(rng, 0, 5) == 0) {
      ASSERT_TRUE(wheel.Cancel(TimerId{id}));
      ASSERT_FALSE(wheel.Cancel(TimerId{id}));
      pending.erase(i);
    }
    // A stale id (a timer that fired or was cancelled) cancels nothing,
    // even when its node now holds another timer.
    if (i > 0 && absl::Uniform<int>(rng, 0, 7) == 0) {
      const int old = absl::Uniform<int>(rng, 0, i);
      const bool live = pending.count(old) && !fired_at.count(old);
      ASSERT_EQ(wheel.Contains(TimerId{ids_by_slot[old]}), live);
    }
    if (i % 10 == 0) {
      int64_t earliest = TimerWheel::kNever;
      for (const auto& [unused, expiry] : pending) {
        if (!fired_at.count(unused)) earliest = std::min(earliest, expiry);
      }
      if (earliest != TimerWheel::kNever) {
        // A timer added for a time the wheel has passed is due next tick.
        ASSERT_LE(wheel.NextExpiry(), std::max(earliest, now + 1));
      }
      now += absl::Uniform<int64_t>(rng, 0, 5000);
      wheel.Advance(now);
      for (const auto& [id2, expiry] : pending) {
        if (expiry <= now) {
          ASSERT_TRUE(fired_at.count(id2))
              << "timer due at " << expiry << " not fired by " << now;
        }
      }
    }
  }
  now += 4000000;
  wheel.Advance(now);
  EXPECT_EQ(fired_at.size(), pending.size());
  for (const auto& [id, expiry] : pending) {
    ASSERT_TRUE(fired_at.count(id));
    EXPECT_GE(fired_at[id], expiry) << "fired early";
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST_F(TimerWheelTest, OwnIdsNameTheirTimerAndAreNotReused) {
  TimerCallback first = [this] { fired_.push_back(1); };
  const TimerId a = wheel_.TryAddWithOwnId(1010, 0, first);
  ASSERT_TRUE(a.valid());
  EXPECT_EQ(first, nullptr);  // Taken.
  EXPECT_EQ(wheel_.size(), 1u);
  EXPECT_TRUE(wheel_.Cancel(a));
  EXPECT_EQ(wheel_.size(), 0u);
  // The freed node is reused by the next timer, under a new id: the old
  // id neither cancels nor refreshes it.
  TimerCallback second = [this] { fired_.push_back(2); };
  const TimerId b = wheel_.TryAddWithOwnId(1020, 0, second);
  ASSERT_TRUE(b.valid());
  EXPECT_NE(a.value, b.value);
  EXPECT_FALSE(wheel_.Cancel(a));
  EXPECT_FALSE(wheel_.Refresh(a, 1005));
  EXPECT_FALSE(wheel_.Contains(a));
  // Own ids and the caller's live side by side.
  const TimerId c = Add(1015);
  EXPECT_EQ(wheel_.size(), 2u);
  EXPECT_TRUE(wheel_.Refresh(b, 1012));
  wheel_.Advance(1030);
  EXPECT_EQ(fired_, (std::vector<uint64_t>{2, c.value}));
  EXPECT_EQ(wheel_.size(), 0u);
  EXPECT_FALSE(wheel_.Cancel(b));  // Fired.
}

TEST_F(TimerWheelTest, RepeatingTimerWithOwnIdCancelsItself) {
  TimerId id;
  int runs = 0;
  TimerCallback tick = [&] {
    if (++runs == 3) {
      EXPECT_TRUE(wheel_.Cancel(id));
    }
  };
  id = wheel_.TryAddWithOwnId(1001, 1, tick);
  for (int64_t now = 1001; now <= 1010; ++now) wheel_.Advance(now);
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(wheel_.size(), 0u);
}

}  // namespace
}  // namespace mrpc
