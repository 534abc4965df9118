#include "net/event_loop.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/io_channel.h"
#include "net/poller.h"
#include "net/timer_wheel.h"

namespace mrpc {
namespace {

thread_local EventLoop* t_loop_in_this_thread = nullptr;

// absl::ErrnoToStatus maps EMFILE, ENFILE and ENOMEM to RESOURCE_EXHAUSTED.
absl::Status CreationError(int err, absl::string_view what) {
  return absl::ErrnoToStatus(err,
                             absl::StrCat("EventLoop: cannot create ", what));
}

// Timers further off than this fire at this delay (never, in practice).
constexpr int64_t kMaxDelayNs = int64_t{100} * 365 * 24 * 3600 * 1000000000;

// Milliseconds, rounded up: a timer never fires before its time.
int64_t CeilMillis(int64_t nanos) { return (nanos + 999999) / 1000000; }

}  // namespace

int64_t MonotonicNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  // Each failure closes what was made before it: a process short of fds
  // must not lose more to a loop that was never built.
  const int wakeup_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeup_fd < 0) return CreationError(errno, "its eventfd (wake-ups)");
  const int timer_fd =
      ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd < 0) {
    const int err = errno;
    ::close(wakeup_fd);
    return CreationError(err, "its timerfd (timers)");
  }
  absl::StatusOr<std::unique_ptr<Poller>> poller = Poller::Create();
  if (!poller.ok()) {
    ::close(wakeup_fd);
    ::close(timer_fd);
    return absl::Status(
        poller.status().code(),
        absl::StrCat("EventLoop: cannot create its epoll instance: ",
                     poller.status().message()));
  }
  return std::unique_ptr<EventLoop>(
      new EventLoop(wakeup_fd, timer_fd, std::move(*poller)));
}

EventLoop::EventLoop(int wakeup_fd, int timer_fd,
                     std::unique_ptr<Poller> poller)
    : wakeup_fd_(wakeup_fd),
      timer_fd_(timer_fd),
      now_ns_(MonotonicNanos()),
      now_ms_(now_ns_ / 1000000),
      armed_ms_(TimerWheel::kNever),
      poller_(std::move(poller)),
      timers_(std::make_unique<TimerWheel>(now_ms_)) {
  CHECK(t_loop_in_this_thread == nullptr)
      << "a second EventLoop on this thread (the first is at "
      << t_loop_in_this_thread << ")";
  t_loop_in_this_thread = this;
  wakeup_channel_ = std::make_unique<IoChannel>(this, wakeup_fd_);
  wakeup_channel_->SetReadCallback([this] { HandleWakeup(); });
  wakeup_channel_->EnableReading();
  timer_channel_ = std::make_unique<IoChannel>(this, timer_fd_);
  timer_channel_->SetReadCallback([this] { HandleTimerFd(); });
  timer_channel_->EnableReading();
}

EventLoop::~EventLoop() {
  AssertInLoopThread();
  CHECK(!looping_) << "EventLoop destroyed while Loop() runs";
  // Queued tasks may hold the only reference to a connection or a waiter's
  // notification: run them (and what they queue) rather than drop them.
  for (;;) {
    {
      MutexLock lock(&mutex_);
      if (pending_.empty()) break;
    }
    RunPendingTasks();
  }
  wakeup_channel_->Remove();
  timer_channel_->Remove();
  ::close(wakeup_fd_);
  ::close(timer_fd_);
  t_loop_in_this_thread = nullptr;
}

EventLoop* EventLoop::CurrentThreadLoop() { return t_loop_in_this_thread; }

const char* EventLoop::PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kIo:
      return "an I/O callback";
    case Phase::kTimers:
      return "a timer";
    case Phase::kTasks:
      return "a queued task";
  }
  return "an unknown phase";
}

void EventLoop::ScopedTaskOffLoop(const EventLoop* loop) {
  LOG(FATAL) << "EventLoop::ScopedTask on a thread that does not own loop "
             << loop;
  abort();  // LOG(FATAL) does not return; says so to the compiler.
}

void EventLoop::AssertInLoopThread() const {
  CHECK(IsInLoopThread()) << "EventLoop " << this
                          << " used from a thread that does not own it";
}

void EventLoop::Loop() {
  AssertInLoopThread();
  looping_ = true;
  while (!quit_.load(std::memory_order_acquire)) {
    active_channels_.clear();
    poller_->Poll(-1, &active_channels_);
    now_ns_ = MonotonicNanos();
    now_ms_ = now_ns_ / 1000000;
    // Accounting (see the header): plain stores, only this thread writes.
    SingleWriterAdd<uint64_t>(iterations_);
    iteration_start_ns_.store(now_ns_, std::memory_order_release);
    phase_.store(Phase::kIo, std::memory_order_relaxed);
    dispatching_ = true;
    for (IoChannel* channel : active_channels_) channel->HandleEvent();
    dispatching_ = false;
    phase_.store(Phase::kTasks, std::memory_order_relaxed);
    RunPendingTasks();
    // The iteration's one extra clock read: its end, for busy time.
    SingleWriterAdd<int64_t>(busy_ns_, MonotonicNanos() - now_ns_);
    // Release (a plain store on x86, as is acquire's load): whoever sees
    // this iteration over sees its busy time counted.
    iteration_start_ns_.store(0, std::memory_order_release);
  }
  looping_ = false;
  quit_ = false;  // Loop() may be called again.
}

void EventLoop::Quit() {
  quit_.store(true, std::memory_order_release);
  if (!IsInLoopThread()) Wakeup();
}

void EventLoop::RunInLoop(Functor task) {
  if (IsInLoopThread()) {
    task();
  } else {
    QueueInLoop(std::move(task));
  }
}

void EventLoop::QueueInLoop(Functor task) {
  bool was_empty;
  {
    MutexLock lock(&mutex_);
    was_empty = pending_.empty();
    pending_.push_back(std::move(task));
  }
  // One wake-up per batch: a non-empty queue has one on its way already. On
  // the loop thread while events are being dispatched, the queue runs right
  // after them anyway; anywhere else (another thread, a queued task, before
  // Loop() starts) the poll must be woken.
  if (was_empty && !(IsInLoopThread() && dispatching_)) Wakeup();
}

void EventLoop::RunPendingTasks() {
  std::vector<Functor> tasks;
  {
    MutexLock lock(&mutex_);
    tasks.swap(pending_);
  }
  for (Functor& task : tasks) task();
}

void EventLoop::Wakeup() {
  const uint64_t one = 1;
  if (::write(wakeup_fd_, &one, sizeof one) != sizeof one) {
    PLOG(ERROR) << "eventfd write";
  }
}

void EventLoop::HandleWakeup() {
  uint64_t count;
  if (::read(wakeup_fd_, &count, sizeof count) != sizeof count) {
    if (errno != EAGAIN) PLOG(ERROR) << "eventfd read";
  }
}

TimerId EventLoop::RunAt(absl::Time when, TimerCallback callback) {
  return RunAfter(when - absl::Now(), std::move(callback));
}

TimerId EventLoop::RunAfter(absl::Duration delay, TimerCallback callback) {
  // Far-off times (an "infinite" deadline) saturate at kMaxDelayNs instead
  // of overflowing the clock into the past.
  const int64_t delay_ns =
      std::clamp<int64_t>(absl::ToInt64Nanoseconds(delay), 0, kMaxDelayNs);
  return AddTimer(CeilMillis(MonotonicNanos() + delay_ns), 0,
                  std::move(callback));
}

TimerId EventLoop::RunEvery(absl::Duration interval, TimerCallback callback) {
  const int64_t interval_ms =
      std::max<int64_t>(CeilMillis(absl::ToInt64Nanoseconds(interval)), 1);
  return AddTimer(MonotonicMillis() + interval_ms, interval_ms,
                  std::move(callback));
}

TimerId EventLoop::AddTimer(int64_t expiry_ms, int64_t interval_ms,
                            TimerCallback&& callback) {
  if (IsInLoopThread()) {
    return AddTimerInLoop(TimerId(), expiry_ms, interval_ms,
                          std::move(callback));
  }
  const TimerId id{next_timer_id_.fetch_add(1, std::memory_order_relaxed)};
  QueueInLoop([this, id, expiry_ms, interval_ms,
               callback = std::move(callback)]() mutable {
    AddTimerInLoop(id, expiry_ms, interval_ms, std::move(callback));
  });
  return id;
}

TimerId EventLoop::AddTimerInLoop(TimerId id, int64_t expiry_ms,
                                  int64_t interval_ms,
                                  TimerCallback&& callback) {
  AssertInLoopThread();
  // An empty wheel may lag far behind; let it catch up so the new timer is
  // filed relative to now (nothing runs: there are no timers).
  if (timers_->size() == 0) timers_->Advance(MonotonicMillis());
  // No id yet (added on the loop): the wheel names the timer by its node,
  // no id map to keep; the loop's counter only when it has no room.
  TimerId filed;
  if (!id.valid()) {
    filed = timers_->TryAddWithOwnId(expiry_ms, interval_ms, callback);
  }
  if (!filed.valid()) {
    if (!id.valid()) {
      id = TimerId{next_timer_id_.fetch_add(1, std::memory_order_relaxed)};
    }
    timers_->Add(id, expiry_ms, interval_ms, std::move(callback));
    filed = id;
  }
  if (expiry_ms < armed_ms_) ArmTimerFd();
  return filed;
}

void EventLoop::Cancel(TimerId id) {
  if (!id.valid()) return;
  if (IsInLoopThread()) {  // The common case (a call's deadline): no task.
    timers_->Cancel(id);
    return;
  }
  QueueInLoop([this, id] { timers_->Cancel(id); });
}

size_t EventLoop::num_timers() const {
  AssertInLoopThread();
  return timers_->size();
}

void EventLoop::HandleTimerFd() {
  uint64_t expirations;
  if (::read(timer_fd_, &expirations, sizeof expirations) < 0 &&
      errno != EAGAIN) {
    PLOG(ERROR) << "timerfd read";
  }
  armed_ms_ = TimerWheel::kNever;
  phase_.store(Phase::kTimers, std::memory_order_relaxed);
  timers_->Advance(MonotonicMillis());
  phase_.store(Phase::kIo, std::memory_order_relaxed);
  ArmTimerFd();
}

void EventLoop::ArmTimerFd() {
  const int64_t next = timers_->NextExpiry();
  struct itimerspec spec = {};
  if (next != TimerWheel::kNever) {
    spec.it_value.tv_sec = next / 1000;
    spec.it_value.tv_nsec = (next % 1000) * 1000000;
    // An absolute time of zero would disarm the timer; never the case here.
    if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
      spec.it_value.tv_nsec = 1;
  }
  if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    PLOG(ERROR) << "timerfd_settime";
  }
  armed_ms_ = next;
}

void EventLoop::UpdateChannel(IoChannel* channel) {
  CHECK_EQ(channel->owner_loop(), this);
  AssertInLoopThread();
  poller_->UpdateChannel(channel);
}

void EventLoop::RemoveChannel(IoChannel* channel) {
  CHECK_EQ(channel->owner_loop(), this);
  AssertInLoopThread();
  poller_->RemoveChannel(channel);
}

void RunInLoopAndWait(EventLoop* loop, Functor task) {
  if (loop->IsInLoopThread()) {
    task();
    return;
  }
  Notification done;
  loop->QueueInLoop([&task, &done] {
    task();
    done.Notify();
  });
  done.WaitForNotification();
}

}  // namespace mrpc
