// Locking and one-shot signalling primitives for mrpc's few cross-thread paths.
//
// Internal. Why not absl::Mutex / absl::Notification: Debian's libabsl is
// built without ThreadSanitizer hooks, so TSan cannot see absl::Mutex's
// happens-before edges and reports races on correctly locked data (verified
// on this machine). std::mutex goes through pthread, which TSan intercepts.
// The wrappers carry abseil's thread-safety annotations, so clang's
// -Wthread-safety can still check ABSL_GUARDED_BY fields.
//
// Thread-safe, all of it.
//
// Example:
//   Mutex mu;
//   std::vector<Task> tasks ABSL_GUARDED_BY(mu);
//   { MutexLock lock(&mu); tasks.push_back(...); }
#ifndef MRPC_NET_SYNC_H_
#define MRPC_NET_SYNC_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mrpc {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Atomically releases *mu, waits for a signal, and reacquires *mu.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait, but gives up after `timeout`; returns true if it timed out.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    const bool timed_out =
        cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout)) ==
        std::cv_status::timeout;
    lock.release();
    return timed_out;
  }
  // Waits until `done()` holds (checked with *mu held, first before any
  // wait and again after each wake-up) or `deadline` passes; returns
  // whether it holds. Callers are checked (they must hold *mu); the body is
  // not: a predicate annotated with the caller's own name for *mu cannot be
  // matched to `mu` in here.
  template <typename Predicate>
  bool WaitUntil(Mutex* mu, absl::Time deadline, Predicate done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    while (!done()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      WaitWithTimeout(mu, left);
    }
    return true;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// A one-shot event: Notify() once, any number of threads wait for it.
class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  void Notify() {
    MutexLock lock(&mu_);
    notified_ = true;
    cv_.SignalAll();
  }
  bool HasBeenNotified() {
    MutexLock lock(&mu_);
    return notified_;
  }
  void WaitForNotification() {
    MutexLock lock(&mu_);
    while (!notified_) cv_.Wait(&mu_);
  }
  // Returns whether it was notified within `timeout`.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(&mu_);
    return cv_.WaitUntil(
        &mu_, deadline,
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return notified_; });
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

// Counts down from `count`; Wait() returns once it reaches zero.
class CountDownLatch {
 public:
  explicit CountDownLatch(int count) : count_(count) {}
  CountDownLatch(const CountDownLatch&) = delete;
  CountDownLatch& operator=(const CountDownLatch&) = delete;

  void CountDown() {
    MutexLock lock(&mu_);
    if (count_ > 0 && --count_ == 0) cv_.SignalAll();
  }
  void Wait() {
    MutexLock lock(&mu_);
    while (count_ > 0) cv_.Wait(&mu_);
  }
  // Returns whether the count reached zero within `timeout`.
  bool WaitWithTimeout(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(&mu_);
    return cv_.WaitUntil(
        &mu_, deadline,
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return count_ == 0; });
  }
  int count() {
    MutexLock lock(&mu_);
    return count_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  int count_ ABSL_GUARDED_BY(mu_);
};

// Adds `n` to a counter that one thread writes and others read: a relaxed
// load and store, no locked read-modify-write (a loop's own counters).
template <typename T>
inline void SingleWriterAdd(std::atomic<T>& counter, T n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n,
                std::memory_order_relaxed);
}

}  // namespace mrpc

#endif  // MRPC_NET_SYNC_H_
