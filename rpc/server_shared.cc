#include "rpc/server_shared.h"

#include <utility>

#include "net/event_loop.h"
#include "rpc/thread_pool.h"

namespace mrpc {
namespace {

HttpOptions ToHttpOptions(const ServerOptions::Http& o) {
  HttpOptions h;
  h.limits.max_request_line = o.max_request_line;
  h.limits.max_header_bytes = o.max_header_bytes;
  h.limits.max_headers = o.max_headers;
  h.limits.max_body_bytes = o.max_body_bytes;
  h.header_timeout = o.header_timeout;
  h.body_timeout = o.body_timeout;
  return h;
}

}  // namespace

ServerShared::ServerShared(const ServerOptions& o)
    : options(o),
      http_options(ToHttpOptions(o.http)),
      budget(o.memory_budget != 0 ? o.memory_budget
                                  : MemoryBudget::DefaultLimit()),
      rpcz(o.rpcz.enabled, o.rpcz.slow_threshold, o.rpcz.keep_errors,
           o.rpcz.max_calls) {}

bool LoopHandle::Run(Functor task) {
  {
    MutexLock lock(&mutex_);
    if (loop_ == nullptr) return false;
    if (!loop_->IsInLoopThread()) {
      loop_->QueueInLoop(std::move(task));
      return true;
    }
  }
  task();  // On the loop's own thread: it cannot go away under us.
  return true;
}

void LoopHandle::Invalidate() {
  MutexLock lock(&mutex_);
  loop_ = nullptr;
}

std::shared_ptr<LoopHandle> ServerShared::HandleFor(EventLoop* loop) {
  MutexLock lock(&mutex_);
  std::shared_ptr<LoopHandle>& handle = loops_[loop];
  if (handle == nullptr) {
    handle = std::make_shared<LoopHandle>(loop,
                                          static_cast<int>(method_list.size()));
    if (invalidated_) handle->Invalidate();
  }
  return handle;
}

void ServerShared::InvalidateLoops() {
  MutexLock lock(&mutex_);
  invalidated_ = true;
  for (auto& [loop, handle] : loops_) handle->Invalidate();
}

void ServerShared::CallAnswered(LoopHandle* handle) {
  std::atomic<int64_t>& n = handle->counters.in_flight;
  n.store(n.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  // Only a drain waits: the common path reads one flag nobody writes.
  if (draining.load(std::memory_order_relaxed)) {
    MutexLock lock(&mutex_);
    idle_.SignalAll();
  }
}

int64_t ServerShared::InFlight() {
  MutexLock lock(&mutex_);
  int64_t total = 0;
  for (auto& [loop, handle] : loops_) total += handle->counters.in_flight.load();
  return total;
}

bool ServerShared::WaitIdle(absl::Duration grace) {
  const absl::Time deadline = absl::Now() + grace;
  MutexLock lock(&mutex_);
  return idle_.WaitUntil(&mutex_, deadline, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    int64_t total = 0;
    for (auto& [loop, handle] : loops_) total += handle->counters.in_flight.load();
    return total == 0;
  });
}

void ServerShared::AddCounters(ServerStats* s) {
  MutexLock lock(&mutex_);
  for (auto& [loop, handle] : loops_) {
    const LoopCounters& c = handle->counters;
    s->requests += c.requests.load();
    s->responses += c.responses.load();
    s->protocol_errors += c.protocol_errors.load();
    s->unimplemented += c.unimplemented.load();
    s->deadline_exceeded += c.deadline_exceeded.load();
    s->overloaded += c.overloaded.load();
    s->cancels += c.cancels.load();
    s->pings += c.pings.load();
    s->frame_timeouts += c.frame_timeouts.load();
    s->invalid_metadata += c.invalid_metadata.load();
    s->oversized_requests += c.oversized_requests.load();
    s->oversized_responses += c.oversized_responses.load();
    s->memory_refusals += c.memory_refusals.load();
    s->limited += c.limited.load();
    s->shed += c.shed.load();
    s->calls_in_flight += c.in_flight.load();
    s->connection_cap_refusals += c.connection_cap_refusals.load();
    s->mrpc_connections += c.mrpc_connections.load();
    s->http_connections += c.http_connections.load();
    s->unknown_protocol_closes += c.unknown_protocol_closes.load();
    s->tls_handshakes += c.tls_handshakes.load();
    s->tls_handshake_failures += c.tls_handshake_failures.load();
    s->tls_plaintext_refused += c.tls_plaintext_refused.load();
    s->http_requests += c.http.requests.load();
    s->http_bad_requests += c.http.bad_requests.load();
    s->http_timeouts += c.http.timeouts.load();
  }
  if (workers != nullptr) {
    s->worker_queue_calls = workers->queue_size();
    s->worker_queue_bytes = workers->queued_bytes();
  }
  s->memory_limit = budget.limit();
  s->memory_used = budget.used();
  s->memory_peak = budget.peak();
}

std::vector<MethodSnapshot> ServerShared::SnapshotMethods() {
  std::vector<MethodSnapshot> out(method_list.size());
  for (size_t i = 0; i < method_list.size(); ++i) {
    out[i].service = method_list[i]->service;
    out[i].method = method_list[i]->name;
  }
  MutexLock lock(&mutex_);
  for (auto& [loop, handle] : loops_) {
    for (size_t i = 0; i < out.size(); ++i) {
      handle->method_stats[i].AddTo(&out[i]);
    }
  }
  return out;
}

}  // namespace mrpc
