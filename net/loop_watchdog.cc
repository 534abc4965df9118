#include "net/loop_watchdog.h"

#include <glog/logging.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

absl::Duration DefaultPeriod(absl::Duration threshold) {
  return std::max(threshold / 4, absl::Milliseconds(5));
}

// For logs: to 0.1 ms.
std::string Format(int64_t ns) {
  return absl::FormatDuration(
      absl::Trunc(absl::Nanoseconds(ns), absl::Microseconds(100)));
}

// What holds `loop` now: its task label, else its phase.
std::string HolderOf(const EventLoop* loop) {
  const char* label = loop->task_label();
  if (label != nullptr) return label;
  return EventLoop::PhaseName(loop->phase());
}

}  // namespace

struct LoopWatchdog::Watched {
  EventLoop* loop;
  std::string name;
  uint64_t stalls = 0;
  uint64_t stalled_ns = 0;
  uint64_t slowest_ns = 0;
  std::string slowest_holder;
  // The stall being tracked: its iteration's start (0: none), the loop's
  // busy time before that iteration, how long it had lasted at the last
  // check, and what held it when it was detected (the culprit; the loop may
  // move on to other work in the same iteration once it is unstuck).
  int64_t stall_start = 0;
  int64_t busy_before = 0;
  int64_t seen_ns = 0;
  std::string holder;
};

LoopWatchdog::LoopWatchdog(LoopWatchdogOptions options)
    : threshold_ns_(absl::ToInt64Nanoseconds(options.threshold)),
      period_(options.period > absl::ZeroDuration()
                  ? options.period
                  : DefaultPeriod(options.threshold)) {
  CHECK_GT(threshold_ns_, 0) << "LoopWatchdog: threshold must be positive";
}

LoopWatchdog::~LoopWatchdog() {
  std::thread thread;
  {
    MutexLock lock(&mutex_);
    stop_ = true;
    wake_.SignalAll();
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

absl::Status LoopWatchdog::Start() {
  MutexLock lock(&mutex_);
  if (thread_.joinable()) return absl::OkStatus();
  try {
    thread_ = std::thread([this] { ThreadMain(); });
  } catch (const std::system_error& e) {
    return absl::ResourceExhaustedError(
        absl::StrCat("LoopWatchdog: cannot create its thread: ", e.what()));
  }
  return absl::OkStatus();
}

void LoopWatchdog::Watch(EventLoop* loop, std::string name) {
  CHECK(loop != nullptr);
  {
    MutexLock lock(&mutex_);
    auto it = std::find_if(
        watched_.begin(), watched_.end(),
        [loop](const std::unique_ptr<Watched>& w) { return w->loop == loop; });
    if (it != watched_.end()) {
      (*it)->name = std::move(name);
      return;
    }
    auto w = std::make_unique<Watched>();
    w->loop = loop;
    w->name = std::move(name);
    watched_.push_back(std::move(w));
    wake_.SignalAll();
  }
  absl::Status started = Start();
  if (!started.ok()) LOG(ERROR) << started;
}

void LoopWatchdog::Unwatch(EventLoop* loop) {
  MutexLock lock(&mutex_);
  auto it = std::find_if(
      watched_.begin(), watched_.end(),
      [loop](const std::unique_ptr<Watched>& w) { return w->loop == loop; });
  if (it == watched_.end()) return;
  unwatched_stalls_ += (*it)->stalls;
  watched_.erase(it);
}

std::vector<LoopStallStats> LoopWatchdog::Snapshot() const {
  const int64_t now = MonotonicNanos();
  MutexLock lock(&mutex_);
  std::vector<LoopStallStats> stats;
  stats.reserve(watched_.size());
  for (const std::unique_ptr<Watched>& w : watched_) {
    LoopStallStats s;
    s.name = w->name;
    s.stalls = w->stalls;
    s.stalled_ns = w->stalled_ns;
    s.busy_ns = static_cast<uint64_t>(w->loop->busy_ns());
    s.iterations = w->loop->iterations();
    // Only a stall the checker has seen (and warned about): the numbers
    // agree with the log. It may have ended since the last check.
    if (w->stall_start != 0 &&
        w->loop->iteration_start_ns() == w->stall_start) {
      s.current_stall_ns = now - w->stall_start;
      s.holder = HolderOf(w->loop);
    }
    s.slowest_stall_ns = w->slowest_ns;
    s.slowest_holder = w->slowest_holder;
    stats.push_back(std::move(s));
  }
  return stats;
}

uint64_t LoopWatchdog::total_stalls() const {
  MutexLock lock(&mutex_);
  uint64_t total = unwatched_stalls_;
  for (const std::unique_ptr<Watched>& w : watched_) total += w->stalls;
  return total;
}

void LoopWatchdog::ThreadMain() {
  MutexLock lock(&mutex_);
  while (!stop_) {
    if (watched_.empty()) {
      wake_.Wait(&mutex_);  // Nothing to check until Watch() or stop.
      continue;
    }
    CheckAll(MonotonicNanos());
    wake_.WaitWithTimeout(&mutex_, period_);
  }
}

void LoopWatchdog::CheckAll(int64_t now_ns) {
  for (const std::unique_ptr<Watched>& w : watched_) Check(w.get(), now_ns);
}

void LoopWatchdog::Check(Watched* w, int64_t now_ns) {
  EventLoop* const loop = w->loop;
  // Acquire (see EventLoop::iteration_start_ns): a start other than the
  // tracked one means that iteration's busy time is in busy_ns() below.
  const int64_t start = loop->iteration_start_ns();
  if (w->stall_start != 0) {
    if (start == w->stall_start) {
      w->seen_ns = now_ns - start;
      return;
    }
    EndStall(w, now_ns);
  }
  if (start == 0 || now_ns - start <= threshold_ns_) return;
  // A new stall. busy_ns() read after seeing its start excludes it (unless
  // it ended in between; EndStall bounds the estimate for that).
  w->stall_start = start;
  w->busy_before = loop->busy_ns();
  w->seen_ns = now_ns - start;
  w->holder = HolderOf(loop);
  ++w->stalls;
  LOG(WARNING) << "event loop " << w->name << " stalled: "
               << Format(w->seen_ns)
               << " without returning to epoll_wait (threshold "
               << Format(threshold_ns_) << "), held by " << w->holder;
}

void LoopWatchdog::EndStall(Watched* w, int64_t now_ns) {
  // The loop's busy time since the stall began: the stalled iteration's
  // length, plus that of any iterations after it and before this check
  // (at most one period's worth). It is at least what was seen and at most
  // until now.
  const int64_t busy = w->loop->busy_ns() - w->busy_before;
  const int64_t duration =
      std::clamp(busy, w->seen_ns, now_ns - w->stall_start);
  w->stalled_ns += static_cast<uint64_t>(duration);
  if (static_cast<uint64_t>(duration) > w->slowest_ns) {
    w->slowest_ns = static_cast<uint64_t>(duration);
    w->slowest_holder = w->holder;
  }
  LOG(INFO) << "event loop " << w->name << " stall ended after "
            << Format(duration) << ", held by " << w->holder << " ("
            << w->stalls << " stall(s) on this loop)";
  w->stall_start = 0;
  w->holder.clear();
}

}  // namespace mrpc
