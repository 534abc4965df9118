// MemoryBudget: a byte count that a whole server's connections and calls
// charge what they hold (input and output buffers, requests waiting for or
// held by a handler) against one limit, so that no set of peers can make the
// process hold more than the limit, whatever they send or fail to read.
//
// Internal (net/ charges buffers, rpc/ charges calls and decides what to
// refuse). Thread-safe: every loop charges and reads it. Charges are
// relaxed atomic adds; the count is a bound for admission decisions, not a
// synchronization point.
//
// The budget does not allocate or refuse anything itself: holders charge
// what they hold (Charge with a positive delta, and the negative delta when
// they let go), and admission points ask Room() before taking on more.
//
// Example:
//   MemoryBudget budget(256 << 20);
//   if (body_size > budget.Room()) refuse();
//   budget.Charge(body_size);  ...  budget.Charge(-body_size);
#ifndef MRPC_NET_MEMORY_BUDGET_H_
#define MRPC_NET_MEMORY_BUDGET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace mrpc {

class EventLoop;

// Freed memory goes back to the OS soon after large blocks (>= 1 MiB) are
// freed: malloc keeps freed memory for reuse, so without this an idle
// server keeps the RSS of its largest burst. At most one malloc_trim per
// loop per 100 ms, run from `loop`'s timer. Loop thread only.
void TrimFreedMemorySoon(EventLoop* loop);
inline constexpr size_t kTrimAfterFreeing = size_t{1} << 20;

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // A default for a server on this machine: an eighth of physical memory,
  // clamped to [256 MiB, 4 GiB].
  static size_t DefaultLimit();

  // Adds `delta` bytes (negative: released).
  void Charge(int64_t delta) {
    const int64_t now =
        used_.fetch_add(delta, std::memory_order_relaxed) + delta;
    int64_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak &&
           !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }
  // Bytes still free (0 when at or past the limit).
  size_t Room() const {
    const int64_t used = used_.load(std::memory_order_relaxed);
    return used >= static_cast<int64_t>(limit_)
               ? 0
               : limit_ - static_cast<size_t>(used);
  }
  bool Exhausted() const { return Room() == 0; }
  size_t limit() const { return limit_; }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }
  // The most ever charged at once.
  int64_t peak() const { return peak_.load(std::memory_order_relaxed); }

 private:
  const size_t limit_;
  std::atomic<int64_t> used_{0};
  std::atomic<int64_t> peak_{0};
};

}  // namespace mrpc

#endif  // MRPC_NET_MEMORY_BUDGET_H_
