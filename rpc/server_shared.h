// What a Server's connections and calls share: the method table, options,
// interceptors, the worker pool, the drain flag, and one LoopHandle per
// loop (a handle that outlives the loop, plus that loop's counters).
//
// Internal to the server (rpc/server*.cc). Shared-owned: a call may outlive
// the server (a handler may hold `done` after shutdown). The method table,
// options and interceptors are written before Start() and read-only after;
// counters are written only by their own loop and summed on read, so the
// hot path writes no cache line another loop writes.
#ifndef MRPC_RPC_SERVER_SHARED_H_
#define MRPC_RPC_SERVER_SHARED_H_

#include <google/protobuf/message.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "net/callbacks.h"
#include "net/memory_budget.h"
#include "net/sync.h"
#include "rpc/concurrency_limiter.h"
#include "rpc/health.h"
#include "rpc/http/http_session.h"
#include "rpc/interceptor.h"
#include "rpc/method_stats.h"
#include "rpc/rpcz.h"
#include "rpc/server.h"

namespace mrpc {

class EventLoop;
class ThreadPool;
class TlsContext;

struct ServerMethod {
  std::string service;
  std::string name;
  // "service/method": what an inline handler's loop is labelled with while
  // it runs (EventLoop::ScopedTask), so a stall names it. Outlives the
  // loops: the method table is shared-owned by every call.
  std::string full_name;
  const google::protobuf::Message* request_prototype;
  const google::protobuf::Message* response_prototype;
  MethodHandler handler;
  MethodOptions options;
  int index = 0;  // Registration order: indexes LoopHandle's per-method state.
};

// One loop's counters. Written by that loop only (a relaxed load + store,
// no read-modify-write), read by anyone; aligned so that two loops' blocks
// never share a cache line.
struct alignas(64) LoopCounters {
  using Counter = std::atomic<uint64_t>;
  static void Add(Counter& c, uint64_t n = 1) { SingleWriterAdd(c, n); }
  Counter requests{0};
  Counter responses{0};
  Counter protocol_errors{0};
  Counter unimplemented{0};
  Counter deadline_exceeded{0};
  Counter overloaded{0};
  Counter cancels{0};
  Counter pings{0};
  Counter frame_timeouts{0};
  Counter invalid_metadata{0};
  Counter oversized_requests{0};
  Counter oversized_responses{0};
  Counter memory_refusals{0};
  Counter connection_cap_refusals{0};
  Counter limited{0};  // Refused: at the method's concurrency limit.
  Counter shed{0};     // Refused: the deadline was shorter than the latency.
  Counter mrpc_connections{0};
  Counter http_connections{0};
  Counter unknown_protocol_closes{0};
  Counter tls_handshakes{0};
  Counter tls_handshake_failures{0};
  Counter tls_plaintext_refused{0};
  HttpCounters http;
  // Calls received and not yet answered on this loop.
  std::atomic<int64_t> in_flight{0};
};

// A handle on one loop that outlives it: calls finished on other threads
// post their answer through it; once the server stops the loop, it drops
// them.
class LoopHandle {
 public:
  LoopHandle(EventLoop* loop, int num_methods)
      : method_stats(new MethodStats[num_methods]), loop_(loop) {}
  // Runs `task` on the loop (inline when already there); false if the loop
  // is gone and `task` was dropped. Thread-safe.
  bool Run(Functor task);
  void Invalidate();

  LoopCounters counters;
  // Loop only: each method's limiter on this loop (rpc/overload.h), by
  // ServerMethod::index, made on first use.
  std::vector<std::unique_ptr<ConcurrencyLimiter>> limiters;
  // Each method's statistics on this loop, by ServerMethod::index; written
  // by the loop, read by anyone.
  const std::unique_ptr<MethodStats[]> method_stats;

 private:
  Mutex mutex_;
  EventLoop* loop_ ABSL_GUARDED_BY(mutex_);
};

// A built-in HTTP page (/metrics, /status, ...): fills the reply for a GET
// or HEAD of its path. Runs on a connection's loop.
using HttpPage =
    std::function<void(const HttpServerRequest& request, HttpReply* reply)>;

struct ServerShared {
  explicit ServerShared(const ServerOptions& o);

  // The loop's handle, made on first use. Thread-safe.
  std::shared_ptr<LoopHandle> HandleFor(EventLoop* loop);
  // The memory budget's room for large frames (requests being read,
  // responses being sent): its free bytes less an eighth of the limit,
  // kept for small requests, so that peers holding large frames cannot
  // starve the others' small calls. Thread-safe.
  size_t LargeFrameRoom() const {
    const size_t room = budget.Room();
    const size_t reserve = budget.limit() / 8;
    return room > reserve ? room - reserve : 0;
  }
  // One connection's share of the budget: an eighth of it, but at least
  // two largest frames. Thread-safe.
  size_t ConnectionShare() const {
    return std::max(budget.limit() / 8, 2 * options.max_frame_size);
  }
  // Invalidates every handle: queued answers are dropped from now on.
  void InvalidateLoops();
  // A call on `handle`'s loop was answered (loop only).
  void CallAnswered(LoopHandle* handle);
  // Waits until no call is in flight or `grace` passes; true if idle.
  bool WaitIdle(absl::Duration grace);
  int64_t InFlight();
  // Sums the loops' counters into `stats`.
  void AddCounters(ServerStats* stats);
  // Every method's statistics, summed over the loops, in registration
  // order. Thread-safe.
  std::vector<MethodSnapshot> SnapshotMethods();

  const ServerOptions options;
  // service -> method; written before Start(), read-only after.
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<std::string, ServerMethod>>
      methods;
  // The same methods by ServerMethod::index; set at Start().
  std::vector<const ServerMethod*> method_list;
  std::vector<std::unique_ptr<ServerInterceptor>> interceptors;
  // ServerOptions::http as the HTTP session takes it.
  const HttpOptions http_options;
  // Path -> page; written at Start(), read-only after.
  absl::flat_hash_map<std::string, HttpPage> pages;
  // Charged by every connection (buffers) and call (requests held).
  MemoryBudget budget;
  // Set at Start() if a method uses it. Shared: a loop that a handler
  // blocks past shutdown may still reach it afterwards.
  std::shared_ptr<ThreadPool> workers;
  std::atomic<bool> draining{false};
  // Slow and failed calls for /rpcz (ServerOptions::rpcz).
  RpczStore rpcz;
  // Serving status by service (Server::SetServingStatus).
  HealthStatus health;
  // ServerOptions::tls as a context; null without TLS. Set at Start().
  std::shared_ptr<TlsContext> tls;

 private:
  Mutex mutex_;
  CondVar idle_;
  absl::flat_hash_map<EventLoop*, std::shared_ptr<LoopHandle>> loops_
      ABSL_GUARDED_BY(mutex_);
  bool invalidated_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_SHARED_H_
