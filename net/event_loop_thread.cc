#include "net/event_loop_thread.h"

#include <glog/logging.h>
#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {

EventLoopThread::EventLoopThread(std::string name, InitCallback init)
    : name_(std::move(name)), init_(std::move(init)) {}

EventLoopThread::~EventLoopThread() { Stop(); }

EventLoop* EventLoopThread::Start() {
  CHECK(!thread_.joinable()) << "EventLoopThread " << name_ << " started twice";
  thread_ = std::thread([this] { ThreadMain(); });
  MutexLock lock(&mutex_);
  while (loop_ == nullptr) started_.Wait(&mutex_);
  return loop_;
}

void EventLoopThread::Stop() {
  if (!thread_.joinable()) return;
  {
    MutexLock lock(&mutex_);
    if (loop_ != nullptr) loop_->Quit();
  }
  thread_.join();
}

void EventLoopThread::ThreadMain() {
  // Linux limits thread names to 15 characters; "top -H" and perf show them.
  ::pthread_setname_np(::pthread_self(), name_.substr(0, 15).c_str());
  EventLoop loop;
  if (init_) init_(&loop);
  {
    MutexLock lock(&mutex_);
    loop_ = &loop;
    started_.Signal();
  }
  loop.Loop();
  MutexLock lock(&mutex_);
  loop_ = nullptr;
}

EventLoopThreadPool::EventLoopThreadPool(EventLoop* base_loop, std::string name)
    : base_loop_(base_loop), name_(std::move(name)) {}

EventLoopThreadPool::~EventLoopThreadPool() { Stop(); }

void EventLoopThreadPool::Start(int num_threads,
                                EventLoopThread::InitCallback init) {
  CHECK(loops_.empty()) << "EventLoopThreadPool " << name_ << " started twice";
  for (int i = 0; i < num_threads; ++i) {
    threads_.push_back(
        std::make_unique<EventLoopThread>(absl::StrCat(name_, i), init));
    loops_.push_back(threads_.back()->Start());
  }
  if (num_threads == 0) {
    if (init) init(base_loop_);
    loops_.push_back(base_loop_);
  }
}

void EventLoopThreadPool::Stop() {
  for (auto& thread : threads_) thread->Stop();
  threads_.clear();
  loops_.clear();
}

EventLoop* EventLoopThreadPool::GetNextLoop() {
  base_loop_->AssertInLoopThread();
  CHECK(!loops_.empty()) << "EventLoopThreadPool " << name_ << " not started";
  last_ = next_;
  next_ = (next_ + 1) % loops_.size();
  return loops_[last_];
}

}  // namespace mrpc
