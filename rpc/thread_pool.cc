#include "rpc/thread_pool.h"

#include <pthread.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {

ThreadPool::ThreadPool(std::string name, int threads, size_t max_queue)
    : max_queue_(max_queue) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, thread_name = absl::StrCat(name, i)] {
      ::pthread_setname_np(::pthread_self(), thread_name.substr(0, 15).c_str());
      WorkerMain();
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mutex_);
    stopping_ = true;
    wake_.SignalAll();
  }
  for (std::thread& t : threads_) t.join();
}

bool ThreadPool::TrySchedule(Functor task) {
  MutexLock lock(&mutex_);
  if (stopping_ || (max_queue_ > 0 && queue_.size() >= max_queue_))
    return false;
  queue_.push_back(std::move(task));
  wake_.Signal();
  return true;
}

size_t ThreadPool::queue_size() const {
  MutexLock lock(&mutex_);
  return queue_.size();
}

void ThreadPool::WorkerMain() {
  for (;;) {
    Functor task;
    {
      MutexLock lock(&mutex_);
      while (queue_.empty() && !stopping_) wake_.Wait(&mutex_);
      if (queue_.empty()) return;  // Stopping, and everything queued ran.
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace mrpc
