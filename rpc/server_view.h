// ServerView: what the built-in pages (/metrics, /status, /health, /rpcz;
// rpc/http/pages.h) read about a running server: its counters, per-method
// statistics, loops, and lifecycle.
//
// Internal to the server. Thread-safe: pages run on any connection loop.
// Shared-owned by the page handlers; it outlives the Server (after the
// Server is gone, stats() and loops() return what is left: the shared
// counters, and no loops).
#ifndef MRPC_RPC_SERVER_VIEW_H_
#define MRPC_RPC_SERVER_VIEW_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "net/sync.h"
#include "rpc/http/pages_window.h"
#include "rpc/method_stats.h"
#include "rpc/server.h"

namespace mrpc {

struct ServerShared;

// One event loop, as the pages show it (rpc/server.h).
using LoopView = LoopStats;

class ServerView {
 public:
  // Where the server's own state comes from; set by the Server at Start(),
  // cleared when it is destroyed.
  struct Sources {
    std::function<ServerStats()> stats;
    std::function<std::vector<LoopView>()> loops;
  };

  explicit ServerView(std::shared_ptr<ServerShared> shared);

  void SetSources(Sources sources);
  void ClearSources();

  // The server's counters (ServerStats), its methods' statistics in
  // registration order, and its loops.
  ServerStats stats() const;
  std::vector<MethodSnapshot> methods() const;
  std::vector<LoopView> loops() const;

  // Serving: started and not draining.
  bool serving() const;
  bool draining() const;
  // The bound address ("0.0.0.0:9001"), once listening.
  std::string address() const;
  void SetAddress(std::string address);
  absl::Time start_time() const { return start_time_; }
  const ServerShared& shared() const { return *shared_; }

  // The last minute (/status): Sample() adds the server as it is now,
  // stamped `now`, to window(); a timer on the acceptor loop calls it
  // every second.
  void Sample(absl::Time now);
  const StatsWindow& window() const { return window_; }

 private:
  const std::shared_ptr<ServerShared> shared_;
  const absl::Time start_time_;
  StatsWindow window_;
  mutable Mutex mutex_;
  std::string address_ ABSL_GUARDED_BY(mutex_);
  Sources sources_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_VIEW_H_
