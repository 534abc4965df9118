// ThreadPool: a fixed set of worker threads for handlers that block (disk,
// locks, slow libraries) and must not run on an event loop, with a fair,
// bounded queue.
//
// Fairness: each task is queued under a source (the server uses one per
// connection). A source's tasks run in FIFO order; the sources with tasks
// waiting are served round-robin, one task per turn, so one source's
// backlog delays another's next task by at most one task per other source
// (plus the tasks already running), never by the backlog's length.
//
// Bounds: the queue refuses a task past `max_queue` tasks or past
// `max_queue_bytes` bytes (each task's `bytes`, e.g. its request's size);
// a task that starts or is removed releases its bytes at once. An empty
// queue always takes one task, however large, so no task is refused for
// its size alone.
//
// Shutdown: Stop(deadline) refuses new tasks, lets the workers run what is
// queued until `deadline`, then drops what is left and detaches the
// workers still busy (their state is shared-owned, so a detached worker
// touches nothing that dies with the pool). The destructor stops with no
// deadline: it runs every queued task and joins.
//
// Internal. All methods are thread-safe.
//
// Example:
//   ThreadPool pool("worker", 4, /*max_queue=*/1000, /*max_queue_bytes=*/1 << 20);
//   absl::StatusOr<ThreadPool::TaskId> id = pool.TrySchedule(conn, 100, [] {...});
//   if (id.ok()) pool.Remove(conn, *id);  // Not started yet: never runs.
#ifndef MRPC_RPC_THREAD_POOL_H_
#define MRPC_RPC_THREAD_POOL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/callbacks.h"

namespace mrpc {

class ThreadPool {
 public:
  // Identifies a queued task, for Remove(). Never 0.
  using TaskId = uint64_t;

  // `max_queue`: tasks waiting beyond which TrySchedule refuses;
  // `max_queue_bytes`: the same in bytes (0: no limit, for either).
  ThreadPool(std::string name, int threads, size_t max_queue,
             size_t max_queue_bytes = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task` under `source` (any stable address; only compared),
  // charging `bytes` to the byte bound. RESOURCE_EXHAUSTED (saying which
  // bound) and `task` dropped if the queue is full; UNAVAILABLE once
  // stopped.
  absl::StatusOr<TaskId> TrySchedule(const void* source, size_t bytes,
                                     Functor task);
  // One anonymous source; false if refused.
  bool TrySchedule(Functor task) { return TrySchedule(this, 0, std::move(task)).ok(); }
  // Takes `id` off `source`'s queue if no worker has taken it yet: it never
  // runs and its bytes are released now. Returns whether it was removed.
  // The task is destroyed in the caller, outside the pool's lock.
  bool Remove(const void* source, TaskId id);

  // Stops (see the file comment). Returns the workers left running past
  // `deadline`, detached. Idempotent; call from one thread.
  int Stop(absl::Time deadline);

  size_t queue_size() const;
  size_t queued_bytes() const;
  int num_threads() const { return static_cast<int>(threads_.size()); }

 private:
  struct State;

  const std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace mrpc

#endif  // MRPC_RPC_THREAD_POOL_H_
