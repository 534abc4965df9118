#include "net/timer_wheel.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

namespace mrpc {
namespace {

// Bits of the tick that index `level` (level 0: bits 0-7, level 1: 8-13, ...).
constexpr int Shift(int level) { return level == 0 ? 0 : 8 + 6 * (level - 1); }

// First set bit at or after `from` among `nbits` bits in `words`, wrapping;
// returns the distance from `from`, or -1 if no bit is set.
int DistanceToSetBit(const uint64_t* words, int nbits, int from) {
  for (int pos = from; pos < nbits;) {
    const uint64_t bits = words[pos >> 6] >> (pos & 63);
    if (bits != 0) return pos + __builtin_ctzll(bits) - from;
    pos = ((pos >> 6) + 1) << 6;
  }
  for (int pos = 0; pos < from;) {
    const uint64_t bits = words[pos >> 6] >> (pos & 63);
    if (bits != 0) {
      const int found = pos + __builtin_ctzll(bits);
      return found < from ? found + nbits - from : -1;
    }
    pos = ((pos >> 6) + 1) << 6;
  }
  return -1;
}

}  // namespace

TimerWheel::TimerWheel(int64_t now_ms) : current_(now_ms) {
  heads_.fill(kNil);
  tails_.fill(kNil);
}

int TimerWheel::SlotFor(int64_t expiry) const {
  const int64_t earliest = expiring_ ? current_ + 1 : current_;
  int64_t tick = std::max(expiry, earliest);
  int64_t delta = tick - current_;
  if (delta < kLevel0Slots) return static_cast<int>(tick & (kLevel0Slots - 1));
  constexpr int64_t kMaxDelta = (int64_t{1} << Shift(kLevels)) - 1;
  if (delta > kMaxDelta) {
    // Too far for the top level: park it at the top level's far end; it is
    // re-filed (and parked again if still too far) when that slot cascades.
    tick = current_ + kMaxDelta;
    delta = kMaxDelta;
  }
  for (int level = 1; level < kLevels; ++level) {
    if (delta < (int64_t{1} << Shift(level + 1))) {
      const int index =
          static_cast<int>((tick >> Shift(level)) & (kLevelSlots - 1));
      return kLevel0Slots + (level - 1) * kLevelSlots + index;
    }
  }
  LOG(FATAL) << "unreachable: delta " << delta;
}

void TimerWheel::Link(int32_t index) {
  Node& node = nodes_[index];
  const int slot = SlotFor(node.expiry);
  node.slot = static_cast<int16_t>(slot);
  node.state = State::kLinked;
  node.next = kNil;
  node.prev = tails_[slot];
  if (tails_[slot] != kNil) {
    nodes_[tails_[slot]].next = index;
  } else {
    heads_[slot] = index;
    occupied_[slot >> 6] |= uint64_t{1} << (slot & 63);
  }
  tails_[slot] = index;
}

void TimerWheel::Unlink(int32_t index) {
  Node& node = nodes_[index];
  DCHECK(node.state == State::kLinked);
  const int slot = node.slot;
  if (node.prev != kNil) {
    nodes_[node.prev].next = node.next;
  } else {
    heads_[slot] = node.next;
  }
  if (node.next != kNil) {
    nodes_[node.next].prev = node.prev;
  } else {
    tails_[slot] = node.prev;
  }
  if (heads_[slot] == kNil)
    occupied_[slot >> 6] &= ~(uint64_t{1} << (slot & 63));
  node.prev = node.next = kNil;
  node.slot = -1;
}

int32_t TimerWheel::Allocate() {
  if (!free_.empty()) {
    const int32_t index = free_.back();
    free_.pop_back();
    return index;
  }
  nodes_.emplace_back();
  return static_cast<int32_t>(nodes_.size() - 1);
}

void TimerWheel::Free(int32_t index) {
  Node& node = nodes_[index];
  if ((node.id & kOwnIdBit) == 0) ids_.erase(node.id);
  --size_;
  node.id = 0;
  node.state = State::kFree;
  node.refreshed_while_running = false;
  node.callback = nullptr;
  free_.push_back(index);
}

void TimerWheel::Add(TimerId id, int64_t expiry_ms, int64_t interval_ms,
                     TimerCallback callback) {
  CHECK(id.valid() && (id.value & kOwnIdBit) == 0) << id.value;
  const int32_t index = Allocate();
  const bool inserted = ids_.emplace(id.value, index).second;
  CHECK(inserted) << "timer id " << id.value << " reused";
  Start(index, id.value, expiry_ms, interval_ms, std::move(callback));
}

TimerId TimerWheel::TryAddWithOwnId(int64_t expiry_ms, int64_t interval_ms,
                                    TimerCallback& callback) {
  const int32_t index = Allocate();
  if (static_cast<uint64_t>(index) > kIndexMask) {  // 16M timers pending.
    free_.push_back(index);
    return TimerId();
  }
  const uint64_t sequence = own_sequence_++ & ((uint64_t{1} << 39) - 1);
  const uint64_t id =
      kOwnIdBit | sequence << kIndexBits | static_cast<uint64_t>(index);
  Start(index, id, expiry_ms, interval_ms, std::move(callback));
  return TimerId{id};
}

void TimerWheel::Start(int32_t index, uint64_t id, int64_t expiry_ms,
                       int64_t interval_ms, TimerCallback&& callback) {
  ++size_;
  Node& node = nodes_[index];
  node.id = id;
  node.expiry = expiry_ms;
  node.interval = std::max<int64_t>(interval_ms, 0);
  node.callback = std::move(callback);
  Link(index);
}

bool TimerWheel::Cancel(TimerId id) {
  const int32_t index = Find(id.value);
  if (index == kNil) return false;
  // A running (repeating) timer has its callback out on the stack; freeing
  // the node is enough for Expire() not to re-arm it.
  if (nodes_[index].state == State::kLinked) Unlink(index);
  Free(index);
  return true;
}

bool TimerWheel::Refresh(TimerId id, int64_t expiry_ms) {
  const int32_t index = Find(id.value);
  if (index == kNil) return false;
  Node& node = nodes_[index];
  node.expiry = expiry_ms;
  if (node.state == State::kRunning) {
    node.refreshed_while_running = true;
    return true;
  }
  Unlink(index);
  Link(index);
  return true;
}

void TimerWheel::Cascade(int level, int index) {
  const int slot = kLevel0Slots + (level - 1) * kLevelSlots + index;
  // Re-filing never puts a timer back into the slot being emptied: its timers
  // are all due within this slot's span, which now lies in lower levels.
  while (heads_[slot] != kNil) {
    const int32_t node = heads_[slot];
    Unlink(node);
    Link(node);
  }
}

void TimerWheel::Expire(int slot, int64_t now, size_t* ran) {
  expiring_ = true;
  // Pop one at a time: a callback may cancel a timer still in this slot.
  // New timers never land here (see SlotFor), so the loop ends.
  while (heads_[slot] != kNil) {
    const int32_t index = heads_[slot];
    Unlink(index);
    Node& node = nodes_[index];
    const uint64_t id = node.id;
    TimerCallback callback = std::move(node.callback);
    ++*ran;
    if (node.interval == 0) {
      Free(index);
      callback();
      continue;
    }
    const int64_t expiry = node.expiry;
    const int64_t interval = node.interval;
    node.state = State::kRunning;
    callback();  // May add timers: `node` may dangle after this.
    const int32_t still = Find(id);
    if (still == kNil) continue;  // Cancelled itself.
    Node& again = nodes_[still];
    again.callback = std::move(callback);
    if (!again.refreshed_while_running) {
      // Keep the cadence; after a long stall skip the missed beats rather
      // than firing them in a burst.
      again.expiry =
          expiry + interval > now ? expiry + interval : now + interval;
    }
    again.refreshed_while_running = false;
    Link(still);
  }
  expiring_ = false;
}

size_t TimerWheel::Advance(int64_t now_ms) {
  size_t ran = 0;
  if (size_ == 0) {
    current_ = std::max(current_, now_ms + 1);
    return 0;
  }
  while (current_ <= now_ms) {
    const int index = static_cast<int>(current_ & (kLevel0Slots - 1));
    if (index == 0) {
      // Level 0 wrapped: bring the next slot of level 1 down, and so on up
      // while each level wraps too.
      for (int level = 1; level < kLevels; ++level) {
        const int level_index =
            static_cast<int>((current_ >> Shift(level)) & (kLevelSlots - 1));
        Cascade(level, level_index);
        if (level_index != 0) break;
      }
    }
    if (heads_[index] != kNil) Expire(index, now_ms, &ran);
    // Jump over empty ticks, but never past a block start (cascade point).
    int next = kLevel0Slots;
    const int distance =
        index + 1 < kLevel0Slots
            ? DistanceToSetBit(occupied_.data(), kLevel0Slots, index + 1)
            : -1;
    if (distance >= 0 && index + 1 + distance < kLevel0Slots) {
      next = index + 1 + distance;
    }
    current_ = std::min(current_ + (next - index), now_ms + 1);
  }
  return ran;
}

int TimerWheel::DistanceToOccupied(int level, int from) const {
  if (level == 0) return DistanceToSetBit(occupied_.data(), kLevel0Slots, from);
  return DistanceToSetBit(&occupied_[3 + level], kLevelSlots, from);
}

int64_t TimerWheel::NextExpiry() const {
  if (size_ == 0) return kNever;
  int64_t best = kNever;
  const int index0 = static_cast<int>(current_ & (kLevel0Slots - 1));
  const int distance0 = DistanceToOccupied(0, index0);
  if (distance0 >= 0) best = current_ + distance0;
  for (int level = 1; level < kLevels; ++level) {
    const int shift = Shift(level);
    const int index = static_cast<int>((current_ >> shift) & (kLevelSlots - 1));
    // The current slot of this level cascades at `current_` only if
    // current_ is exactly at its start and not yet processed; otherwise it
    // already cascaded this lap and anything in it is for the next lap, so
    // the search starts one slot on (and reaches it last, at distance 64).
    const bool aligned = (current_ & ((int64_t{1} << shift) - 1)) == 0;
    int distance;
    if (aligned) {
      distance = DistanceToOccupied(level, index);
    } else {
      distance = DistanceToOccupied(level, (index + 1) & (kLevelSlots - 1));
      if (distance >= 0) ++distance;
    }
    if (distance < 0) continue;
    const int64_t cascade_at = ((current_ >> shift) + distance) << shift;
    best = std::min(best, cascade_at);
  }
  return best;
}

}  // namespace mrpc
