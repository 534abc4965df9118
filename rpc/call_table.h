// CallTable: a channel's calls in flight, by id, for the path every call
// takes twice (filed when it starts, found and taken out when its answer
// comes).
//
// A channel hands out ids in increasing order and most calls end soon after
// they start, so a call sits in a ring of slots at its id modulo the ring's
// size and is found with one compare, no hash. A call whose slot still
// holds an older call goes to an overflow hash map instead; the ring
// doubles when it is half full, so the overflow keeps only the few calls
// that collide with long-lived ones, and memory stays proportional to the
// calls in flight. Each call's T is an object of its own, made and freed
// through FreeListAllocator: filing and taking out a call move a pointer,
// never the T.
//
// Thread-compatible: the channel's loop owns the table. A Taken call owns
// its T and does not refer to the table, so it may outlive it (a callback
// run from a Taken call may destroy the channel).
#ifndef MRPC_RPC_CALL_TABLE_H_
#define MRPC_RPC_CALL_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "rpc/free_list_allocator.h"

namespace mrpc {

template <typename T>
class CallTable {
 public:
  struct Free {
    void operator()(T* p) const {
      p->~T();
      FreeListAllocator<T>().deallocate(p, 1);
    }
  };
  // A call taken out of the table (null: there was none).
  using Taken = std::unique_ptr<T, Free>;

  CallTable() : ring_(kMinRing) {}
  ~CallTable() {
    for (Slot& slot : ring_) {
      if (slot.call != nullptr) Free()(slot.call);
    }
    for (auto& [id, call] : overflow_) Free()(call);
  }
  CallTable(const CallTable&) = delete;
  CallTable& operator=(const CallTable&) = delete;

  // Files a new, value-initialized call under `id` (not 0, not in the
  // table) and returns it. The reference stays valid until the call is
  // taken out.
  T& Insert(uint64_t id) {
    T* call = new (FreeListAllocator<T>().allocate(1)) T();
    Place(id, call);
    ++size_;
    return *call;
  }

  // The call filed under `id`, or null.
  T* Find(uint64_t id) const {
    const Slot& slot = ring_[id & (ring_.size() - 1)];
    if (slot.id == id) return slot.call;  // Null for id 0: a free slot.
    if (overflow_.empty()) return nullptr;
    auto it = overflow_.find(id);
    return it == overflow_.end() ? nullptr : it->second;
  }
  bool contains(uint64_t id) const { return Find(id) != nullptr; }

  // Takes the call filed under `id` out of the table (null if none).
  Taken Extract(uint64_t id) {
    Slot& slot = ring_[id & (ring_.size() - 1)];
    T* call = nullptr;
    if (slot.id == id && slot.call != nullptr) {
      call = slot.call;
      slot = Slot();
    } else if (!overflow_.empty()) {
      auto it = overflow_.find(id);
      if (it != overflow_.end()) {
        call = it->second;
        overflow_.erase(it);
      }
    }
    if (call != nullptr) --size_;
    return Taken(call);
  }

  // Takes every call out, in no particular order, with its id.
  std::vector<std::pair<uint64_t, Taken>> TakeAll() {
    std::vector<std::pair<uint64_t, Taken>> all;
    all.reserve(size_);
    for (Slot& slot : ring_) {
      if (slot.call != nullptr) all.emplace_back(slot.id, Taken(slot.call));
      slot = Slot();
    }
    for (auto& [id, call] : overflow_) all.emplace_back(id, Taken(call));
    overflow_.clear();
    size_ = 0;
    return all;
  }

  // Calls f(id, T&) for each call, in no particular order. `f` must not
  // file or take out calls.
  template <typename F>
  void ForEach(F&& f) {
    for (Slot& slot : ring_) {
      if (slot.call != nullptr) f(slot.id, *slot.call);
    }
    for (auto& [id, call] : overflow_) f(id, *call);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // For tests: the ring's slots, and the calls in the overflow map.
  size_t ring_size() const { return ring_.size(); }
  size_t overflow_size() const { return overflow_.size(); }

 private:
  static constexpr size_t kMinRing = 16;  // A power of two.

  struct Slot {
    uint64_t id = 0;
    T* call = nullptr;
  };

  // Its slot, else the overflow map; a collision in a ring half full
  // doubles the ring first.
  void Place(uint64_t id, T* call) {
    if (ring_[id & (ring_.size() - 1)].call != nullptr &&
        size_ >= ring_.size() / 2) {
      Grow();
    }
    PlaceNoGrow(id, call);
  }

  // Doubles the ring, placing every call again; those of the overflow
  // move into the ring where their new slot is free.
  void Grow() {
    std::vector<Slot> old(ring_.size() * 2);
    old.swap(ring_);
    absl::flat_hash_map<uint64_t, T*> overflow;
    overflow.swap(overflow_);
    for (const Slot& slot : old) {
      if (slot.call != nullptr) PlaceNoGrow(slot.id, slot.call);
    }
    for (const auto& [id, call] : overflow) PlaceNoGrow(id, call);
  }
  void PlaceNoGrow(uint64_t id, T* call) {
    Slot& slot = ring_[id & (ring_.size() - 1)];
    if (slot.call == nullptr) {
      slot = Slot{id, call};
    } else {
      overflow_.emplace(id, call);
    }
  }

  std::vector<Slot> ring_;  // Size a power of two.
  absl::flat_hash_map<uint64_t, T*> overflow_;
  size_t size_ = 0;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CALL_TABLE_H_
