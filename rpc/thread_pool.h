// ThreadPool: a fixed set of worker threads with a bounded FIFO queue, for
// handlers that block (disk, locks, slow libraries) and must not run on an
// event loop.
//
// Internal. All methods are thread-safe. The destructor runs the tasks
// already queued, then joins.
#ifndef MRPC_RPC_THREAD_POOL_H_
#define MRPC_RPC_THREAD_POOL_H_

#include <cstddef>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "net/callbacks.h"
#include "net/sync.h"

namespace mrpc {

class ThreadPool {
 public:
  // `max_queue`: tasks waiting beyond which TrySchedule refuses (0: no limit).
  ThreadPool(std::string name, int threads, size_t max_queue);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; false (and `task` dropped) if the queue is full.
  bool TrySchedule(Functor task);
  size_t queue_size() const;
  int num_threads() const { return static_cast<int>(threads_.size()); }

 private:
  void WorkerMain();

  const size_t max_queue_;
  mutable Mutex mutex_;
  CondVar wake_;
  std::deque<Functor> queue_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_THREAD_POOL_H_
