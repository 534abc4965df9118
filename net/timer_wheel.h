// TimerWheel: a hierarchical timing wheel with 1 ms ticks. O(1) add, cancel
// and refresh, which is what per-call deadlines (one add and one cancel per
// RPC) and per-connection idle and heartbeat timers need at 10k+ connections.
//
// Internal. Not thread-safe: each EventLoop owns one and drives it from a
// timerfd (see EventLoop). The wheel itself knows no clock: callers pass
// "now" in milliseconds, which is how tests inject a fake clock.
//
// Layout (the classic kernel scheme): level 0 has 256 one-ms slots; levels
// 1-4 have 64 slots, each slot 64x wider than the level below (256 ms, 16.4 s,
// 17.5 min, 18.6 h). A timer goes in the level whose span covers its delay;
// when level 0 wraps, the next slot of level 1 is "cascaded" down (its timers
// re-filed by their now-shorter delays), and so on up. Delays beyond the
// top level (~49.7 days) are parked in the top level and re-filed when they
// come down. Each level 0 slot holds timers of exactly one millisecond.
//
// Ordering: timers due in different milliseconds fire in deadline order;
// timers due in the same millisecond fire in an unspecified order.
//
// Example (fake clock):
//   TimerWheel wheel(/*now_ms=*/0);
//   TimerId id = wheel.Add(/*expiry_ms=*/10, /*interval_ms=*/0, [] { ... });
//   wheel.Advance(9);    // nothing fires
//   wheel.Advance(10);   // the callback runs
#ifndef MRPC_NET_TIMER_WHEEL_H_
#define MRPC_NET_TIMER_WHEEL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "net/callbacks.h"

namespace mrpc {

class TimerWheel {
 public:
  // No timer is due: NextExpiry() returns this.
  static constexpr int64_t kNever = INT64_MAX;

  // `now_ms`: the current time on the caller's millisecond clock.
  explicit TimerWheel(int64_t now_ms);
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Adds a timer due at `expiry_ms` (a time the wheel has passed: due on its
  // next tick); if `interval_ms` > 0 it repeats every interval after that.
  // After a stall (an Advance past several beats) a repeating timer fires
  // once and resumes its interval from then: missed beats are skipped. `id`
  // must be new (EventLoop hands out unique ids).
  void Add(TimerId id, int64_t expiry_ms, int64_t interval_ms,
           TimerCallback callback);
  // The same, with an id the wheel makes: it names the timer's node, so
  // Cancel() and Refresh() find it without a hash lookup (a per-call
  // deadline is one add and one cancel). Such ids have the top bit set,
  // which EventLoop's counter never reaches, and are not reused for 2^39
  // adds. With 2^24 timers pending there is no room for more: returns an
  // invalid id and leaves `callback` alone (the caller uses Add()).
  TimerId TryAddWithOwnId(int64_t expiry_ms, int64_t interval_ms,
                          TimerCallback& callback);
  // Removes the timer; false if it is unknown, already fired or cancelled.
  // A repeating timer may cancel itself from its own callback.
  bool Cancel(TimerId id);
  // Moves the timer's next expiry to `expiry_ms`; false if unknown.
  bool Refresh(TimerId id, int64_t expiry_ms);

  // Runs every timer due at or before `now_ms`; returns how many ran.
  // Callbacks may Add, Cancel and Refresh timers, themselves included.
  size_t Advance(int64_t now_ms);

  // The earliest time Advance() may have work: exact for timers due within
  // 256 ms, otherwise when the next non-empty upper slot cascades down (never
  // later than the earliest expiry). kNever when empty.
  int64_t NextExpiry() const;

  size_t size() const { return size_; }
  bool Contains(TimerId id) const { return Find(id.value) != kNil; }

 private:
  static constexpr int kLevels = 5;
  static constexpr int kLevel0Bits = 8;
  static constexpr int kLevelBits = 6;
  static constexpr int kLevel0Slots = 1 << kLevel0Bits;  // 256
  static constexpr int kLevelSlots = 1 << kLevelBits;    // 64
  static constexpr int kSlots = kLevel0Slots + (kLevels - 1) * kLevelSlots;
  static constexpr int32_t kNil = -1;

  enum class State : uint8_t { kFree, kLinked, kRunning };

  struct Node {
    uint64_t id = 0;
    int64_t expiry = 0;
    int64_t interval = 0;
    int32_t prev = kNil;
    int32_t next = kNil;
    int16_t slot = -1;
    State state = State::kFree;
    bool refreshed_while_running = false;
    TimerCallback callback;
  };

  // Own ids: kOwnIdBit | sequence << kIndexBits | node index.
  static constexpr uint64_t kOwnIdBit = uint64_t{1} << 63;
  static constexpr int kIndexBits = 24;
  static constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;

  // The node of timer `id`, or kNil if it is not pending.
  int32_t Find(uint64_t id) const {
    if (id & kOwnIdBit) {
      const uint64_t index = id & kIndexMask;
      return index < nodes_.size() && nodes_[index].id == id
                 ? static_cast<int32_t>(index)
                 : kNil;
    }
    auto it = ids_.find(id);
    return it == ids_.end() ? kNil : it->second;
  }
  // Files a new timer in node `index` under `id`.
  void Start(int32_t index, uint64_t id, int64_t expiry_ms, int64_t interval_ms,
             TimerCallback&& callback);
  // The slot (0-511 across all levels) a timer due at `expiry` belongs in.
  int SlotFor(int64_t expiry) const;
  void Link(int32_t index);
  void Unlink(int32_t index);
  int32_t Allocate();
  void Free(int32_t index);
  // Re-files every timer of slot `index` of `level` (>= 1) by its expiry.
  void Cascade(int level, int index);
  // Runs the timers of level-0 slot `slot` (all due at tick current_).
  void Expire(int slot, int64_t now, size_t* ran);
  // Distance from `from` to the first non-empty slot of `level`, going
  // forward and wrapping around; -1 if the level is empty.
  int DistanceToOccupied(int level, int from) const;

  int64_t current_;  // The next tick to process; all earlier ones are done.
  bool expiring_ =
      false;  // Inside Expire(): past-due timers go to the next tick.
  std::vector<Node> nodes_;
  std::vector<int32_t> free_;
  absl::flat_hash_map<uint64_t, int32_t> ids_;  // EventLoop's ids only.
  size_t size_ = 0;            // Pending timers, by either kind of id.
  uint64_t own_sequence_ = 0;  // For AddWithOwnId().
  std::array<int32_t, kSlots> heads_;
  std::array<int32_t, kSlots> tails_;
  // One bit per slot: non-empty. Level 0 uses words 0-3; level L>0 word 3+L.
  std::array<uint64_t, 4 + kLevels - 1> occupied_ = {};
};

}  // namespace mrpc

#endif  // MRPC_NET_TIMER_WHEEL_H_
