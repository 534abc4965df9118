// DeadlineQueue: the deadlines of a channel's calls, kept as one timer.
//
// A per-call loop timer costs an add and a cancel on the timer wheel for
// every call (about 400 instructions of the channel's 3,500 per call, issue
// 17). But the calls on one channel mostly share one timeout (the channel's
// default, or the same deadline per call), so their deadlines arrive in
// order. Filed in order they need no timer of their own: a FIFO of
// (deadline, call id) and one loop timer for the earliest. A call that
// completes leaves its entry behind, with no cancel; an entry whose call is
// gone (`live` says so) is skipped when it comes due, and the queue is
// compacted when it has doubled since the last compaction, so it holds
// about twice the calls in flight at most and each call costs one or two
// `live` checks. A deadline earlier than the last one filed cannot go in
// order: Add() first drops the entries of finished calls from the back
// (so one long-timeout call that already ended does not push every later
// call out), and refuses it only if a call still waiting is due later; the
// caller then arms a timer of its own.
//
// Ids must never be reused while their entry may remain (the channel's call
// ids only grow). Loop only: every method on the loop's thread, where
// `live` and `expire` run too (`expire` may add entries); destroyed there,
// or anywhere after Clear() ran there.
#ifndef MRPC_RPC_DEADLINE_QUEUE_H_
#define MRPC_RPC_DEADLINE_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>

#include "absl/functional/any_invocable.h"
#include "net/callbacks.h"

namespace mrpc {

class EventLoop;

class DeadlineQueue {
 public:
  // `live(id)`: whether the call is still waiting; `expire(id)`: its
  // deadline passed (called only for a live id, once per Add).
  DeadlineQueue(EventLoop* loop, absl::AnyInvocable<bool(uint64_t)> live,
                absl::AnyInvocable<void(uint64_t)> expire);
  ~DeadlineQueue();
  DeadlineQueue(const DeadlineQueue&) = delete;
  DeadlineQueue& operator=(const DeadlineQueue&) = delete;

  // Files call `id` to expire at `deadline_ns` (MonotonicNanos()); false,
  // filing nothing, if that is earlier than the last deadline filed. It
  // expires when a timer for that time would (the loop's timers have
  // millisecond ticks, rounded up: never early).
  bool Add(uint64_t id, int64_t deadline_ns);
  // Drops every entry and the timer (a channel shutting down).
  void Clear();
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    int64_t deadline_ns;
    uint64_t id;
  };
  static constexpr size_t kMinCompactAt = 64;

  void Arm();
  void OnTimer();
  void Compact();

  EventLoop* const loop_;
  absl::AnyInvocable<bool(uint64_t)> live_;
  absl::AnyInvocable<void(uint64_t)> expire_;
  std::deque<Entry> entries_;  // Deadlines in order.
  size_t compact_at_ = kMinCompactAt;
  TimerId timer_;  // Armed for the front entry while there is one.
};

}  // namespace mrpc

#endif  // MRPC_RPC_DEADLINE_QUEUE_H_
