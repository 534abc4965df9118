// EventLoop: one reactor, run by exactly one thread. It owns an epoll
// instance, an eventfd for cross-thread wake-ups, and a timer wheel driven by
// a timerfd. Everything for a connection happens on its loop.
//
// Internal. Threading: the thread that creates a loop owns it (at most one
// loop per thread; a second is a CHECK failure) and must be the one to call
// Loop(). Methods marked "Thread-safe." may be called from any thread; all
// others run on the loop thread only (asserted).
//
// Creation needs three fds (eventfd, timerfd, epoll), so it can fail when the
// process is out of them: Create() returns RESOURCE_EXHAUSTED then, rather
// than aborting, and leaves nothing open.
//
// Example:
//   // On the thread that will run it:
//   absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
//   if (!loop.ok()) return loop.status();
//   (*loop)->RunAfter(absl::Milliseconds(5), [&] { (*loop)->Quit(); });
//   (*loop)->Loop();                      // returns after Quit()
//
// From another thread:
//   loop->RunInLoop([conn] { conn->...; });   // runs on the loop thread
//
// Accounting, for LoopWatchdog (net/loop_watchdog.h) and /metrics: the loop
// publishes, in atomics that it alone writes and any thread reads,
// its busy time (time outside epoll_wait), its iterations, when the current
// iteration began (0 while it waits in epoll_wait), what it is doing (a
// Phase) and a label that code on the loop may set around a piece of work:
//   {
//     EventLoop::ScopedTask task(loop, "mrpc.kv.KvService/Get");
//     handler(...);   // a watchdog seeing the loop stuck here names it
//   }
// Cost: one clock read per iteration besides the one CachedNowNs() makes,
// and a few plain loads and stores (relaxed, or release: the same
// instruction on x86); no locks, no read-modify-write.
#ifndef MRPC_NET_EVENT_LOOP_H_
#define MRPC_NET_EVENT_LOOP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/callbacks.h"
#include "net/sync.h"

namespace mrpc {

class IoChannel;
class Poller;
class TimerWheel;

// Monotonic clock, in nanoseconds and milliseconds (CLOCK_MONOTONIC).
int64_t MonotonicNanos();
inline int64_t MonotonicMillis() { return MonotonicNanos() / 1000000; }

class EventLoop {
 public:
  // What the loop is doing, as the loop last said (the watchdog's fallback
  // when no ScopedTask names the work).
  enum class Phase : uint8_t {
    kIo,      // I/O callbacks (connections, acceptor, wake-ups).
    kTimers,  // Timer callbacks.
    kTasks,   // Queued functors (RunInLoop / QueueInLoop).
  };
  // "an I/O callback", "a timer", "a queued task".
  static const char* PhaseName(Phase phase);

  // Labels the loop's work while it lives: a watchdog that finds the loop
  // stuck names `what`. Nested scopes restore the outer label. Loop thread
  // only; a null `loop` makes it a no-op (for code that may run off a loop).
  // `what` is read by the watchdog's thread, possibly just after this scope
  // ends: it must stay valid as long as the loop lives (a literal, or a
  // string owned by something that outlives the loop, e.g. a registered
  // method's name).
  class ScopedTask {
   public:
    ScopedTask(EventLoop* loop, const char* what)
        : loop_(loop),
          previous_(loop == nullptr ? nullptr
                                    : loop->task_label_.load(
                                          std::memory_order_relaxed)) {
      if (loop_ == nullptr) return;
#ifndef NDEBUG
      if (!loop_->IsInLoopThread()) ScopedTaskOffLoop(loop_);
#endif
      // Release: the watchdog reads the characters behind the pointer.
      loop_->task_label_.store(what, std::memory_order_release);
    }
    ~ScopedTask() {
      if (loop_ != nullptr) {
        loop_->task_label_.store(previous_, std::memory_order_release);
      }
    }
    ScopedTask(const ScopedTask&) = delete;
    ScopedTask& operator=(const ScopedTask&) = delete;

   private:
    EventLoop* const loop_;
    const char* const previous_;
  };

  // Creates a loop owned by the calling thread. Out of fds or memory
  // (EMFILE, ENFILE, ENOMEM): RESOURCE_EXHAUSTED, naming the fd that could
  // not be made (eventfd, timerfd or epoll) with the errno text; other errnos
  // map to their canonical codes. On failure nothing stays open.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  // Runs the tasks still queued (on this thread), then releases the loop's
  // fds. Must run on the loop thread, after Loop() has returned.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Waits for events and dispatches them until Quit(). Loop thread only.
  void Loop();
  // Makes Loop() return after the current iteration. Thread-safe.
  void Quit();

  // Runs `task` now if called on the loop thread, else queues it.
  // Thread-safe.
  void RunInLoop(Functor task);
  // Queues `task` to run on the loop thread after the current events are
  // handled; tasks run in the order they were queued. Thread-safe.
  void QueueInLoop(Functor task);

  // Timers (see TimerWheel): millisecond precision, never early. The
  // callback runs on the loop thread. Thread-safe. A time more than 100
  // years off (absl::InfiniteFuture()) is clamped to 100 years.
  TimerId RunAt(absl::Time when, TimerCallback callback);
  TimerId RunAfter(absl::Duration delay, TimerCallback callback);
  // Repeats every `interval`, first after one interval.
  TimerId RunEvery(absl::Duration interval, TimerCallback callback);
  // Stops a timer; a no-op if it already fired or is invalid. Thread-safe;
  // from another thread it takes effect once the loop runs the request.
  void Cancel(TimerId id);

  bool IsInLoopThread() const { return CurrentThreadLoop() == this; }
  void AssertInLoopThread() const;
  // The loop running on (or owned by) the calling thread, or null.
  static EventLoop* CurrentThreadLoop();

  // Monotonic milliseconds as of the last poll return: free to read, and
  // what idle tracking uses. Loop thread only.
  int64_t CachedNowMs() const { return now_ms_; }
  // The same instant in nanoseconds: when this iteration's events (or
  // tasks) were taken up. Loop thread only.
  int64_t CachedNowNs() const { return now_ns_; }
  // Loop iterations so far (each poll return is one). Thread-safe; tests use
  // it to check the loop is not spinning.
  uint64_t iterations() const {
    return iterations_.load(std::memory_order_relaxed);
  }
  // Nanoseconds spent outside epoll_wait (handling events, timers and
  // tasks), counted when each iteration ends. Thread-safe.
  int64_t busy_ns() const { return busy_ns_.load(std::memory_order_relaxed); }
  // When the current iteration began (MonotonicNanos(), the same instant as
  // CachedNowNs()), or 0 while the loop waits in epoll_wait (or is not
  // looping). Thread-safe. Once a reader sees an iteration's start replaced
  // (by 0 or a later start), busy_ns() includes that iteration.
  int64_t iteration_start_ns() const {
    return iteration_start_ns_.load(std::memory_order_acquire);
  }
  // What the current iteration is doing; meaningless while
  // iteration_start_ns() is 0. Thread-safe.
  Phase phase() const { return phase_.load(std::memory_order_relaxed); }
  // The innermost ScopedTask's label, or null. Thread-safe; the characters
  // are valid while the loop lives (see ScopedTask).
  const char* task_label() const {
    return task_label_.load(std::memory_order_acquire);
  }
  // Timers in the wheel. Loop thread only.
  size_t num_timers() const;

  // For IoChannel.
  void UpdateChannel(IoChannel* channel);
  void RemoveChannel(IoChannel* channel);

 private:
  // Takes ownership of the fds and the poller.
  EventLoop(int wakeup_fd, int timer_fd, std::unique_ptr<Poller> poller);
  void Wakeup();
  void HandleWakeup();
  void HandleTimerFd();
  void RunPendingTasks();
  // The callback is taken by reference down to the wheel's node: one
  // move per timer, not one per layer.
  TimerId AddTimer(int64_t expiry_ms, int64_t interval_ms,
                   TimerCallback&& callback);
  // Files the timer under `id`, or, if `id` is not valid, under an id the
  // wheel makes (TimerWheel::TryAddWithOwnId); returns the id used.
  TimerId AddTimerInLoop(TimerId id, int64_t expiry_ms, int64_t interval_ms,
                         TimerCallback&& callback);
  void ArmTimerFd();
  // Dies: a ScopedTask off its loop's thread. Out of line so that the
  // header needs no glog.
  [[noreturn]] static void ScopedTaskOffLoop(const EventLoop* loop);

  const int wakeup_fd_;
  const int timer_fd_;
  std::atomic<bool> quit_{false};
  std::atomic<bool> looping_{false};
  // Accounting: written by the loop thread only (SingleWriterAdd, plain
  // stores), read by any thread.
  std::atomic<uint64_t> iterations_{0};
  std::atomic<int64_t> busy_ns_{0};
  std::atomic<int64_t> iteration_start_ns_{0};  // 0: in epoll_wait.
  std::atomic<Phase> phase_{Phase::kIo};
  std::atomic<const char*> task_label_{nullptr};
  std::atomic<uint64_t> next_timer_id_{1};
  bool dispatching_ = false;  // Handling poll events; tasks run right after.
  int64_t now_ns_;
  int64_t now_ms_;
  int64_t armed_ms_;  // When the timerfd fires next; TimerWheel::kNever if off.
  std::unique_ptr<Poller> poller_;
  std::unique_ptr<TimerWheel> timers_;
  std::unique_ptr<IoChannel> wakeup_channel_;
  std::unique_ptr<IoChannel> timer_channel_;
  std::vector<IoChannel*> active_channels_;

  Mutex mutex_;
  std::vector<Functor> pending_ ABSL_GUARDED_BY(mutex_);
};

// Runs `task` on `loop` and returns when it has run. On the loop thread it
// runs inline. The loop must be running (or about to run) Loop().
void RunInLoopAndWait(EventLoop* loop, Functor task);

}  // namespace mrpc

#endif  // MRPC_NET_EVENT_LOOP_H_
