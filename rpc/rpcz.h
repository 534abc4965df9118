// RpczStore: the last N calls a server answered slowly or with an error,
// for the /rpcz page (rpc/http/pages_rpcz.cc; docs/guide.md, "/rpcz").
//
// Internal to the server. Thread-safe: every loop adds (only calls that
// Wants() picks, so the lock is off the fast path), pages read. Bounded:
// at most max_calls records, each with its status message capped at
// kMaxMessageBytes; the ring's strings keep their capacity, so a full
// store adds without allocating.
//
// Example (a loop answering a call):
//   if (store->Wants(now_ns - arrival_ns, sent.ok())) store->Add(call);
#ifndef MRPC_RPC_RPCZ_H_
#define MRPC_RPC_RPCZ_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "net/sync.h"

namespace mrpc {

// One kept call. Phases are microseconds; -1 where the phase did not
// happen (the handler never started, or had not called `done` when the
// call was answered: a deadline, a cancel, a closed connection).
struct RpczRecord {
  uint64_t seq = 0;    // 1 for the first call kept, and so on.
  absl::Time arrival;  // Wall clock when the request was read.
  std::string service;
  std::string method;
  InetAddress peer;
  bool http = false;  // Came over HTTP/1.1 (else mrpc's framing).
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;     // At most kMaxMessageBytes.
  bool has_trace = false;  // The caller sent a valid traceparent.
  std::array<uint8_t, 16> trace_id{};
  uint64_t request_bytes = 0;
  int64_t queued_us = -1;   // Arrival -> handler start.
  int64_t handler_us = -1;  // Handler start -> its `done`.
  int64_t answer_us = -1;   // `done` -> response written.
  int64_t total_us = 0;     // Arrival -> answer (or the disconnect).

  std::string TraceIdHex() const;
};

// What Add() copies into a record; the views need only last the call.
struct RpczCall {
  absl::Time arrival;
  absl::string_view service;
  absl::string_view method;
  const InetAddress* peer = nullptr;
  bool http = false;
  absl::StatusCode code = absl::StatusCode::kOk;
  absl::string_view message;
  const std::array<uint8_t, 16>* trace_id = nullptr;  // Null: none sent.
  uint64_t request_bytes = 0;
  int64_t queued_us = -1;
  int64_t handler_us = -1;
  int64_t answer_us = -1;
  int64_t total_us = 0;
};

class RpczStore {
 public:
  static constexpr size_t kMaxMessageBytes = 256;
  static constexpr size_t kMaxCallsLimit = 65536;

  // `enabled` false keeps nothing. `slow_threshold`: calls at least this
  // slow are kept (InfiniteDuration: none by latency); `keep_errors`: calls
  // answered non-OK are kept; `max_calls` >= 1 records at most.
  RpczStore(bool enabled, absl::Duration slow_threshold, bool keep_errors,
            size_t max_calls);
  RpczStore(const RpczStore&) = delete;
  RpczStore& operator=(const RpczStore&) = delete;

  // Whether a call that took `latency_ns` and ended `ok` is kept: the hot
  // path's test, two compares. Any thread.
  bool Wants(int64_t latency_ns, bool ok) const {
    return latency_ns >= slow_ns_ || (!ok && keep_errors_);
  }
  // Keeps `call`, replacing the oldest record if full. Thread-safe.
  void Add(const RpczCall& call);
  // The records, newest first. Thread-safe.
  std::vector<RpczRecord> Snapshot() const;
  // Calls kept since the start (including those since replaced).
  uint64_t added() const;

  bool enabled() const { return enabled_; }
  absl::Duration slow_threshold() const { return slow_threshold_; }
  bool keep_errors() const { return keep_errors_; }
  size_t max_calls() const { return max_calls_; }

 private:
  const bool enabled_;
  const absl::Duration slow_threshold_;
  // Disabled: no latency reaches it and keep_errors_ is false.
  const int64_t slow_ns_;
  const bool keep_errors_;
  const size_t max_calls_;
  mutable Mutex mutex_;
  // Grows to max_calls_, then next_ wraps and overwrites the oldest.
  std::vector<RpczRecord> ring_ ABSL_GUARDED_BY(mutex_);
  size_t next_ ABSL_GUARDED_BY(mutex_) = 0;
  uint64_t added_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace mrpc

#endif  // MRPC_RPC_RPCZ_H_
