#include "rpc/deadline_queue.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/time/time.h"
#include "net/event_loop.h"

namespace mrpc {

DeadlineQueue::DeadlineQueue(EventLoop* loop,
                             absl::AnyInvocable<bool(uint64_t)> live,
                             absl::AnyInvocable<void(uint64_t)> expire)
    : loop_(loop), live_(std::move(live)), expire_(std::move(expire)) {}

DeadlineQueue::~DeadlineQueue() {
  if (timer_.valid()) {
    loop_->AssertInLoopThread();
    loop_->Cancel(timer_);
  }
}

bool DeadlineQueue::Add(uint64_t id, int64_t deadline_ns) {
  loop_->AssertInLoopThread();
  // Later entries of calls already over go first: a finished call with a
  // longer timeout (a connection check with 10 s before calls of 1 s) must
  // not push every later call out of the queue.
  while (!entries_.empty() && deadline_ns < entries_.back().deadline_ns) {
    if (live_(entries_.back().id)) return false;
    entries_.pop_back();
  }
  if (entries_.size() >= compact_at_) Compact();
  entries_.push_back(Entry{deadline_ns, id});
  if (entries_.size() == 1) {
    // The timer may still be armed for an entry dropped above, later than
    // this one.
    if (timer_.valid()) loop_->Cancel(timer_);
    Arm();
  }
  return true;
}

void DeadlineQueue::Clear() {
  loop_->AssertInLoopThread();
  entries_.clear();
  compact_at_ = kMinCompactAt;
  if (timer_.valid()) loop_->Cancel(timer_);
  timer_ = TimerId();
}

void DeadlineQueue::Arm() {
  // The same timer a call would arm for its own deadline.
  const int64_t delay_ns =
      std::max<int64_t>(entries_.front().deadline_ns - MonotonicNanos(), 0);
  timer_ = loop_->RunAfter(absl::Nanoseconds(delay_ns), [this] { OnTimer(); });
}

void DeadlineQueue::OnTimer() {
  timer_ = TimerId();
  // The timer fires on the first millisecond tick at or after the front's
  // deadline: what is due by the end of this tick expires now.
  const int64_t now_ns = MonotonicNanos();
  while (!entries_.empty() && entries_.front().deadline_ns <= now_ns) {
    const uint64_t id = entries_.front().id;
    entries_.pop_front();  // First: expire_ may add entries.
    if (live_(id)) expire_(id);
  }
  // expire_ may have armed the timer (an Add to an empty queue).
  if (!entries_.empty() && !timer_.valid()) Arm();
}

void DeadlineQueue::Compact() {
  // Keeps the live entries in order; the front's deadline may move later,
  // and the armed timer then fires early and re-arms: harmless.
  entries_.erase(
      std::remove_if(entries_.begin(), entries_.end(),
                     [this](const Entry& e) { return !live_(e.id); }),
      entries_.end());
  compact_at_ = std::max(kMinCompactAt, 2 * entries_.size());
}

}  // namespace mrpc
