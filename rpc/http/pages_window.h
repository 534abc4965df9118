// StatsWindow: the server's statistics over the last minute, for /status.
// A timer on the acceptor loop (rpc/server.cc) adds a sample every second;
// the page takes a fresh snapshot and subtracts the oldest sample no more
// than a minute old, so its QPS, errors and percentiles cover the last
// minute (or, before a minute has passed, the time since Start()).
//
//   StatsWindow window;
//   window.Add(sample);                    // every second
//   std::optional<StatsSample> base = window.Base(absl::Now());
//   MethodSnapshot last_minute = now.methods[i].Minus(base->methods[i]);
//
// Internal to the server. Thread-safe: Add() and Base() take a mutex.
#ifndef MRPC_RPC_HTTP_PAGES_WINDOW_H_
#define MRPC_RPC_HTTP_PAGES_WINDOW_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "net/sync.h"
#include "rpc/method_stats.h"
#include "rpc/server.h"

namespace mrpc {

// The server at one instant: what /status shows as rates.
struct StatsSample {
  absl::Time time;
  std::vector<MethodSnapshot> methods;  // In registration order.
  ServerStats stats;
  // Each loop's busy time, by loop name.
  std::vector<std::pair<std::string, uint64_t>> loop_busy_ns;
};

class StatsWindow {
 public:
  // 61 samples a second apart span a minute.
  static constexpr int kSamples = 61;
  static constexpr absl::Duration kSpan = absl::Seconds(60);

  // Appends `sample` (newer than the last), dropping the oldest past
  // kSamples.
  void Add(StatsSample sample);
  // The oldest sample taken at most kSpan before `now`; nullopt if there
  // is none.
  std::optional<StatsSample> Base(absl::Time now) const;
  int size() const;

 private:
  mutable Mutex mutex_;
  std::deque<StatsSample> samples_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_WINDOW_H_
