// EventLoopThread: a thread running one EventLoop, and EventLoopThreadPool: N
// of them handed out round-robin (the "sub-loops" of a multi-reactor server).
//
// Internal. Start/Stop from one controlling thread (not from one of the
// pool's own loops); GetNextLoop() from the thread that owns the pool's base
// loop (the acceptor's loop), which is the only caller in TcpServer.
//
// Starting can fail (no fds for the loop, no thread): Start() returns the
// Status and leaves nothing running; Stop() and the destructor stay safe.
#ifndef MRPC_NET_EVENT_LOOP_THREAD_H_
#define MRPC_NET_EVENT_LOOP_THREAD_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/event_loop.h"
#include "net/sync.h"

namespace mrpc {

class EventLoopThread {
 public:
  // Runs on the new thread, with its loop, before the loop starts.
  using InitCallback = std::function<void(EventLoop*)>;

  explicit EventLoopThread(std::string name, InitCallback init = nullptr);
  // Stops the loop and joins the thread.
  ~EventLoopThread();
  EventLoopThread(const EventLoopThread&) = delete;
  EventLoopThread& operator=(const EventLoopThread&) = delete;

  // Starts the thread; returns its loop once it exists (the init callback
  // has run). Fails with RESOURCE_EXHAUSTED if the loop cannot be created
  // (out of fds: the message names which) or the thread cannot be (EAGAIN);
  // the thread has then been joined, and Start() may be tried again.
  // Call once successfully.
  absl::StatusOr<EventLoop*> Start();
  // Quits the loop and joins the thread; idempotent. The loop (and so the
  // pointer Start() returned) is gone afterwards.
  void Stop();
  // As Stop(), but gives up at `deadline` if the loop is still busy (a
  // callback blocks it): the thread is then detached and false returned.
  // The caller must then never destroy this object (the thread still uses
  // it once its callback returns): leak it.
  bool StopUntil(absl::Time deadline);

 private:
  void ThreadMain();

  const std::string name_;
  const InitCallback init_;
  std::thread thread_;
  Mutex mutex_;
  CondVar started_;
  // Set by the thread once it has a loop, or has failed to make one.
  bool start_done_ ABSL_GUARDED_BY(mutex_) = false;
  bool exited_ ABSL_GUARDED_BY(mutex_) = false;  // The loop has returned.
  CondVar exited_cv_;
  absl::Status start_status_ ABSL_GUARDED_BY(mutex_);
  EventLoop* loop_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

class EventLoopThreadPool {
 public:
  // `base_loop`: not owned; used when the pool has no threads.
  EventLoopThreadPool(EventLoop* base_loop, std::string name);
  ~EventLoopThreadPool();
  EventLoopThreadPool(const EventLoopThreadPool&) = delete;
  EventLoopThreadPool& operator=(const EventLoopThreadPool&) = delete;

  // Starts `num_threads` loop threads (0: everything runs on the base loop).
  // On failure (see EventLoopThread::Start) the threads already started are
  // stopped and the pool is as before the call.
  absl::Status Start(int num_threads,
                     EventLoopThread::InitCallback init = nullptr);
  // Stops and joins every thread.
  void Stop();
  // As Stop(), but a thread whose loop is still busy at `deadline` is
  // detached and its EventLoopThread leaked on purpose (logged): it may
  // still run. Returns false if any was.
  bool StopUntil(absl::Time deadline);

  // The next loop, round-robin. Base loop thread only.
  EventLoop* GetNextLoop();
  // Index of the loop GetNextLoop() returned last.
  size_t last_index() const { return last_; }
  // The pool's loops (the base loop if it has no threads).
  const std::vector<EventLoop*>& loops() const { return loops_; }

 private:
  EventLoop* const base_loop_;
  const std::string name_;
  std::vector<std::unique_ptr<EventLoopThread>> threads_;
  std::vector<EventLoop*> loops_;
  size_t next_ = 0;
  size_t last_ = 0;
};

}  // namespace mrpc

#endif  // MRPC_NET_EVENT_LOOP_THREAD_H_
