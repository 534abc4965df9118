// LoopWatchdog: notices an EventLoop that has not come back to epoll_wait
// within a threshold (a handler or callback blocking it), says once per
// stall what holds it, and keeps per-loop stall counts for /metrics and
// /status.
//
// Internal. Thread-safe, all of it. One thread of its own checks every
// watched loop each `period`: a loop whose current iteration began more than
// `threshold` ago is stalled. For each stall it logs one WARNING (the loop's
// name, how long so far, and what holds it: the innermost
// EventLoop::ScopedTask label, else the loop's phase, "an I/O callback",
// "a timer" or "a queued task"), and one INFO line once the iteration ends,
// with the whole duration. Detection takes at most threshold + period.
//
// Threading: each loop writes its own accounting (net/event_loop.h, plain
// atomic stores); this class only reads it, from its thread and from
// Snapshot(). A loop is touched only while watched: Unwatch() returns once
// the watchdog is done with it, so the loop may then be destroyed.
//
// Example:
//   LoopWatchdog watchdog;                       // 100 ms threshold
//   CHECK_OK(watchdog.Start());
//   watchdog.Watch(loop, "mrpc-io-0");
//   ...
//   for (const LoopStallStats& s : watchdog.Snapshot()) ...   // /status
//   watchdog.Unwatch(loop);                      // before the loop dies
#ifndef MRPC_NET_LOOP_WATCHDOG_H_
#define MRPC_NET_LOOP_WATCHDOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/event_loop.h"
#include "net/sync.h"

namespace mrpc {

// One loop's stall record, as of a Snapshot(). A value type.
struct LoopStallStats {
  std::string name;
  // Stalls seen (each counted when detected, as its WARNING is logged).
  uint64_t stalls = 0;
  // Total duration of the stalls that have ended, each from the start of
  // its loop iteration to its end.
  uint64_t stalled_ns = 0;
  // The loop's own accounting: time outside epoll_wait, and iterations.
  uint64_t busy_ns = 0;
  uint64_t iterations = 0;
  // The stall in progress: how long so far, and what holds it; 0 and empty
  // if none.
  int64_t current_stall_ns = 0;
  std::string holder;
  // The longest stall that has ended, and what held it; 0 and empty if none.
  uint64_t slowest_stall_ns = 0;
  std::string slowest_holder;
};

struct LoopWatchdogOptions {
  // An iteration out of epoll_wait longer than this is a stall. Must be
  // positive. Default: 100 ms.
  absl::Duration threshold = absl::Milliseconds(100);
  // How often the loops are checked. Zero: threshold / 4, at least 5 ms.
  // Default: zero.
  absl::Duration period = absl::ZeroDuration();
};

class LoopWatchdog {
 public:
  explicit LoopWatchdog(LoopWatchdogOptions options = {});
  // Stops and joins the thread (promptly: it waits on a condition variable,
  // not in a sleep). Loops still watched are simply dropped.
  ~LoopWatchdog();
  LoopWatchdog(const LoopWatchdog&) = delete;
  LoopWatchdog& operator=(const LoopWatchdog&) = delete;

  // Starts the checking thread; idempotent. RESOURCE_EXHAUSTED if the
  // thread cannot be created.
  absl::Status Start();
  // Watches `loop` (not owned; must stay alive until Unwatch() returns or
  // this object is destroyed) under `name`, for logs and Snapshot(). Starts
  // the thread if Start() has not (a failure is logged; call Start() first
  // to get it as a Status). Watching a watched loop again renames it.
  void Watch(EventLoop* loop, std::string name);
  // Stops watching `loop`; when it returns, the watchdog no longer touches
  // it. Its stalls still count in total_stalls(). No-op if not watched.
  void Unwatch(EventLoop* loop);

  // The watched loops, in the order they were first watched.
  std::vector<LoopStallStats> Snapshot() const;
  // Stalls seen on every loop ever watched, unwatched ones included.
  uint64_t total_stalls() const;

  absl::Duration threshold() const { return absl::Nanoseconds(threshold_ns_); }
  absl::Duration period() const { return period_; }

 private:
  struct Watched;

  void ThreadMain();
  // Checks every loop at `now_ns`.
  void CheckAll(int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void Check(Watched* w, int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The stall tracked in `w` has ended (its iteration is over).
  void EndStall(Watched* w, int64_t now_ns)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const int64_t threshold_ns_;
  const absl::Duration period_;

  mutable Mutex mutex_;
  CondVar wake_;  // Stop, or a loop to watch.
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::unique_ptr<Watched>> watched_ ABSL_GUARDED_BY(mutex_);
  uint64_t unwatched_stalls_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc

#endif  // MRPC_NET_LOOP_WATCHDOG_H_
