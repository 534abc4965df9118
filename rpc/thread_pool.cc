#include "rpc/thread_pool.h"

#include <glog/logging.h>
#include <pthread.h>

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "net/sync.h"

namespace mrpc {

// Shared by the pool and its threads: a worker detached at Stop() keeps it
// alive until it returns.
struct ThreadPool::State {
  struct Entry {
    TaskId id;
    size_t bytes;
    Functor task;  // Empty once removed: a husk, skipped by the workers.
  };
  // One source's FIFO. Ids rise along it (binary search in Remove).
  struct SourceQueue {
    std::deque<Entry> entries;
    size_t live = 0;  // Entries not removed.
    bool in_ready = false;
  };

  State(size_t max_queue, size_t max_queue_bytes, int threads)
      : max_queue(max_queue),
        max_queue_bytes(max_queue_bytes),
        exited(threads, false) {}

  void WorkerMain(int index);
  // The next task, round-robin over the sources; empty if none.
  Functor PopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex);
  // Drops the husks at the front of `q`.
  static void TrimFront(SourceQueue* q) {
    while (!q->entries.empty() && !q->entries.front().task) {
      q->entries.pop_front();
    }
  }

  const size_t max_queue;
  const size_t max_queue_bytes;
  Mutex mutex;
  CondVar wake;    // Workers: a task was queued, or stopping.
  CondVar exited_cv;  // Stop(): a worker returned.
  absl::flat_hash_map<const void*, SourceQueue> queues ABSL_GUARDED_BY(mutex);
  // Sources in serving order, each at most once (SourceQueue::in_ready); a
  // source with live tasks always appears.
  std::deque<const void*> ready ABSL_GUARDED_BY(mutex);
  size_t queued ABSL_GUARDED_BY(mutex) = 0;        // Live tasks.
  size_t queued_bytes ABSL_GUARDED_BY(mutex) = 0;  // Their bytes.
  TaskId next_id ABSL_GUARDED_BY(mutex) = 1;
  bool stopping ABSL_GUARDED_BY(mutex) = false;
  std::vector<bool> exited ABSL_GUARDED_BY(mutex);  // By worker index.
  int running ABSL_GUARDED_BY(mutex) = 0;           // Workers not returned.
};

ThreadPool::ThreadPool(std::string name, int threads, size_t max_queue,
                       size_t max_queue_bytes)
    : state_(std::make_shared<State>(max_queue, max_queue_bytes, threads)) {
  {
    MutexLock lock(&state_->mutex);
    state_->running = threads;
  }
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back(
        [state = state_, i, thread_name = absl::StrCat(name, i)] {
          ::pthread_setname_np(::pthread_self(),
                               thread_name.substr(0, 15).c_str());
          state->WorkerMain(i);
        });
  }
}

ThreadPool::~ThreadPool() { Stop(absl::InfiniteFuture()); }

absl::StatusOr<ThreadPool::TaskId> ThreadPool::TrySchedule(const void* source,
                                                           size_t bytes,
                                                           Functor task) {
  State& s = *state_;
  MutexLock lock(&s.mutex);
  if (s.stopping) return absl::UnavailableError("the worker pool has stopped");
  if (s.max_queue > 0 && s.queued >= s.max_queue) {
    return absl::ResourceExhaustedError(
        absl::StrCat(s.queued, " calls waiting for a worker (limit ",
                     s.max_queue, ")"));
  }
  if (s.max_queue_bytes > 0 && s.queued_bytes > 0 &&
      s.queued_bytes + bytes > s.max_queue_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        s.queued_bytes, " bytes of requests waiting for a worker; this one's ",
        bytes, " would pass the limit of ", s.max_queue_bytes));
  }
  const TaskId id = s.next_id++;
  State::SourceQueue& q = s.queues[source];
  if (!q.in_ready) {
    q.in_ready = true;
    s.ready.push_back(source);
  }
  q.entries.push_back(State::Entry{id, bytes, std::move(task)});
  ++q.live;
  ++s.queued;
  s.queued_bytes += bytes;
  s.wake.Signal();
  return id;
}

bool ThreadPool::Remove(const void* source, TaskId id) {
  Functor task;  // Destroyed after the lock is released.
  State& s = *state_;
  MutexLock lock(&s.mutex);
  auto it = s.queues.find(source);
  if (it == s.queues.end()) return false;
  State::SourceQueue& q = it->second;
  auto entry = std::lower_bound(
      q.entries.begin(), q.entries.end(), id,
      [](const State::Entry& e, TaskId want) { return e.id < want; });
  if (entry == q.entries.end() || entry->id != id || !entry->task) return false;
  task = std::move(entry->task);
  entry->task = nullptr;
  s.queued_bytes -= entry->bytes;
  entry->bytes = 0;
  --s.queued;
  --q.live;
  // Husks cost a few words each until a worker passes them; keep them few
  // (a client cancelling calls as fast as it sends them makes many).
  State::TrimFront(&q);
  if (q.live == 0) {
    q.entries.clear();  // The source stays in `ready`; a worker drops it.
  } else if (q.entries.size() > 2 * q.live + 64) {
    q.entries.erase(std::remove_if(q.entries.begin(), q.entries.end(),
                                   [](const State::Entry& e) { return !e.task; }),
                    q.entries.end());
  }
  return true;
}

Functor ThreadPool::State::PopLocked() {
  while (!ready.empty()) {
    const void* source = ready.front();
    ready.pop_front();
    auto it = queues.find(source);
    if (it == queues.end()) continue;
    SourceQueue& q = it->second;
    q.in_ready = false;
    TrimFront(&q);
    if (q.live == 0) {
      queues.erase(it);
      continue;
    }
    Entry& entry = q.entries.front();
    Functor task = std::move(entry.task);
    queued_bytes -= entry.bytes;
    --queued;
    --q.live;
    q.entries.pop_front();
    TrimFront(&q);
    if (q.live > 0) {
      q.in_ready = true;
      ready.push_back(source);  // Its next task waits for the others' turn.
    } else {
      queues.erase(it);
    }
    return task;
  }
  return nullptr;
}

void ThreadPool::State::WorkerMain(int index) {
  for (;;) {
    Functor task;
    {
      MutexLock lock(&mutex);
      while (queued == 0 && !stopping) wake.Wait(&mutex);
      task = PopLocked();
      if (!task) break;  // Stopping, and everything queued ran.
    }
    task();
  }
  MutexLock lock(&mutex);
  exited[index] = true;
  --running;
  exited_cv.SignalAll();
}

int ThreadPool::Stop(absl::Time deadline) {
  if (stopped_) return 0;
  stopped_ = true;
  State& s = *state_;
  std::vector<bool> exited;
  std::vector<Functor> dropped;  // Destroyed outside the lock.
  {
    MutexLock lock(&s.mutex);
    s.stopping = true;
    s.wake.SignalAll();
    if (deadline == absl::InfiniteFuture()) {
      // (CondVar's timed wait cannot take an infinite timeout.)
      while (s.running > 0) s.exited_cv.Wait(&s.mutex);
    } else {
      s.exited_cv.WaitUntil(&s.mutex, deadline,
                            [&s]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
                              return s.running == 0;
                            });
    }
    // Past the deadline: what still waits never runs.
    for (auto& [source, q] : s.queues) {
      for (State::Entry& e : q.entries) {
        if (e.task) dropped.push_back(std::move(e.task));
      }
    }
    s.queues.clear();
    s.ready.clear();
    s.queued = 0;
    s.queued_bytes = 0;
    exited = s.exited;
  }
  int detached = 0;
  for (size_t i = 0; i < threads_.size(); ++i) {
    if (exited[i]) {
      threads_[i].join();
    } else {
      // Busy in a task past the deadline: it holds `state_`, nothing else
      // of ours, and returns whenever its task does.
      threads_[i].detach();
      ++detached;
    }
  }
  threads_.clear();
  return detached;
}

size_t ThreadPool::queue_size() const {
  MutexLock lock(&state_->mutex);
  return state_->queued;
}

size_t ThreadPool::queued_bytes() const {
  MutexLock lock(&state_->mutex);
  return state_->queued_bytes;
}

}  // namespace mrpc
