#include "net/event_loop_thread.h"

#include <errno.h>
#include <glog/logging.h>
#include <pthread.h>

#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {

EventLoopThread::EventLoopThread(std::string name, InitCallback init)
    : name_(std::move(name)), init_(std::move(init)) {}

EventLoopThread::~EventLoopThread() { Stop(); }

absl::StatusOr<EventLoop*> EventLoopThread::Start() {
  CHECK(!thread_.joinable()) << "EventLoopThread " << name_ << " started twice";
  {
    MutexLock lock(&mutex_);
    start_done_ = false;
    exited_ = false;
    start_status_ = absl::OkStatus();
  }
  try {
    thread_ = std::thread([this] { ThreadMain(); });
  } catch (const std::system_error& e) {
    // std::thread reports pthread_create's errno by throwing; EAGAIN means a
    // thread or memory limit was hit, which is exhaustion, not "try again".
    const int err = e.code().value();
    const absl::Status status = absl::ErrnoToStatus(
        err,
        absl::StrCat("EventLoopThread ", name_, ": cannot create its thread"));
    if (err == EAGAIN) return absl::ResourceExhaustedError(status.message());
    return status;
  }
  absl::Status status;
  {
    MutexLock lock(&mutex_);
    while (!start_done_) started_.Wait(&mutex_);
    if (start_status_.ok()) return loop_;
    status = start_status_;
  }
  thread_.join();  // It has returned already, having made no loop.
  return status;
}

void EventLoopThread::Stop() {
  if (!thread_.joinable()) return;
  {
    MutexLock lock(&mutex_);
    if (loop_ != nullptr) loop_->Quit();
  }
  thread_.join();
}

bool EventLoopThread::StopUntil(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) {
    Stop();
    return true;
  }
  if (!thread_.joinable()) return true;
  bool exited;
  {
    MutexLock lock(&mutex_);
    if (loop_ != nullptr) loop_->Quit();
    exited = exited_cv_.WaitUntil(&mutex_, deadline, [this]()
                                      ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                        return exited_;
                                      });
  }
  if (exited) {
    thread_.join();
    return true;
  }
  thread_.detach();
  return false;
}

void EventLoopThread::ThreadMain() {
  // Linux limits thread names to 15 characters; "top -H" and perf show them.
  ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) {
    MutexLock lock(&mutex_);
    start_status_ = absl::Status(
        loop.status().code(),
        absl::StrCat("EventLoopThread ", name_, ": ", loop.status().message()));
    start_done_ = true;
    started_.Signal();
    return;
  }
  if (init_) init_(loop->get());
  {
    MutexLock lock(&mutex_);
    loop_ = loop->get();
    start_done_ = true;
    started_.Signal();
  }
  (*loop)->Loop();
  MutexLock lock(&mutex_);
  loop_ = nullptr;
  exited_ = true;
  exited_cv_.SignalAll();
}

EventLoopThreadPool::EventLoopThreadPool(EventLoop* base_loop, std::string name)
    : base_loop_(base_loop), name_(std::move(name)) {}

EventLoopThreadPool::~EventLoopThreadPool() { Stop(); }

absl::Status EventLoopThreadPool::Start(int num_threads,
                                        EventLoopThread::InitCallback init) {
  CHECK(loops_.empty()) << "EventLoopThreadPool " << name_ << " started twice";
  for (int i = 0; i < num_threads; ++i) {
    threads_.push_back(
        std::make_unique<EventLoopThread>(absl::StrCat(name_, i), init));
    absl::StatusOr<EventLoop*> loop = threads_.back()->Start();
    if (!loop.ok()) {
      Stop();  // All or nothing: a half-started pool is no use to anyone.
      return loop.status();
    }
    loops_.push_back(*loop);
  }
  if (num_threads == 0) {
    if (init) init(base_loop_);
    loops_.push_back(base_loop_);
  }
  return absl::OkStatus();
}

void EventLoopThreadPool::Stop() {
  for (auto& thread : threads_) thread->Stop();
  threads_.clear();
  loops_.clear();
}

bool EventLoopThreadPool::StopUntil(absl::Time deadline) {
  bool all_stopped = true;
  for (auto& thread : threads_) {
    if (thread->StopUntil(deadline)) continue;
    all_stopped = false;
    // Blocked in a callback past the deadline: it cannot be joined, and it
    // still uses its EventLoopThread whenever the callback returns.
    LOG(ERROR) << "EventLoopThreadPool " << name_
               << ": a loop thread is still busy (a callback blocks it); "
                  "leaving it running, detached, and leaking its state";
    thread.release();  // NOLINT: an intentional leak.
  }
  threads_.clear();
  loops_.clear();
  return all_stopped;
}

EventLoop* EventLoopThreadPool::GetNextLoop() {
  base_loop_->AssertInLoopThread();
  CHECK(!loops_.empty()) << "EventLoopThreadPool " << name_ << " not started";
  last_ = next_;
  next_ = (next_ + 1) % loops_.size();
  return loops_[last_];
}

}  // namespace mrpc
