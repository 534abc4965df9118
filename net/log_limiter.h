// LogLimiter: rate limits for log lines a remote peer can trigger, so that a
// client (or server) cannot turn our logs into a weapon (disk, I/O, CPU).
//
// Internal to mrpc. Every LOG line in net/ and rpc/ that a peer's bytes,
// resets or silence can cause goes through MRPC_PEER_LOG instead of LOG.
//
// A "reason" names one kind of line ("rpc protocol error"); each reason has
// one process-wide limiter. Within each window (default 10 s) a reason lets
// through at most `per_peer` lines per peer IP (default 10) and `per_reason`
// lines in all (default 100); the rest are dropped and counted, and the next
// line let through ends with
//   "(1234 similar lines suppressed in the last 9870 ms)".
// Peers are keyed by IP, not port: a flood of connections from one host is
// one peer. The per-peer table only holds peers let through this window, so
// it never exceeds `per_reason` entries and is cleared every window.
//
// Thread-safety: all of it is thread-safe; any thread (event loops, workers,
// protobuf's parser via rpc/protobuf_log.h) may log. A line that is dropped
// costs a clock read, a mutex and a hash lookup; nothing is formatted.
//
// Example:
//   MRPC_PEER_LOG(WARNING, "rpc protocol error", conn->peer_address())
//       << "protocol error from " << conn->peer_address().ToString() << ...;
#ifndef MRPC_NET_LOG_LIMITER_H_
#define MRPC_NET_LOG_LIMITER_H_

#include <glog/logging.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "net/sync.h"

namespace mrpc {

struct LogLimits {
  // Lines per window per (reason, peer IP). Default: 10.
  int per_peer = 10;
  // Lines per window per reason, all peers together. Default: 100.
  int per_reason = 100;
  // The window; counts reset when a line arrives after it ended (windows
  // start at the first line, not on a fixed grid). Default: 10 s.
  absl::Duration window = absl::Seconds(10);
};

// The limits of every limiter made without its own (all of LogLimiter::Get's).
// Takes effect at each limiter's next window. Thread-safe.
void SetDefaultLogLimits(const LogLimits& limits);
LogLimits DefaultLogLimits();

// A peer, as limiters key it: by IP (not port), or by a name such as a
// channel's target. Cheap to make: nothing is formatted.
class LogPeer {
 public:
  LogPeer() = default;  // No peer: only the per-reason limit applies.
  LogPeer(const InetAddress& address) : address_(&address) {}        // NOLINT
  LogPeer(absl::string_view name) : name_(name), has_name_(true) {}  // NOLINT
  LogPeer(const std::string& name)
      : LogPeer(absl::string_view(name)) {}                        // NOLINT
  LogPeer(const char* name) : LogPeer(absl::string_view(name)) {}  // NOLINT

  bool empty() const { return address_ == nullptr && !has_name_; }
  // A hash of the IP or the name; 0 for no peer.
  uint64_t Key() const;
  // "127.0.0.1:5000", the name, or "" for no peer.
  std::string ToString() const;

 private:
  const InetAddress* address_ = nullptr;  // Not owned.
  absl::string_view name_;
  bool has_name_ = false;
};

class LogLimiter {
 public:
  // Monotonic nanoseconds; injectable for tests.
  using Clock = std::function<int64_t()>;

  // The answer for one line.
  struct Admission {
    bool allowed = false;
    // Lines of this reason dropped since the last one let through, and how
    // long ago the first of them was dropped.
    int64_t suppressed = 0;
    int64_t suppressed_over_ns = 0;
  };

  // The process-wide limiter for `reason`, made on first use with the
  // default limits; never freed. Past kMaxReasons distinct reasons, all
  // further ones share one limiter ("other"), so memory stays bounded.
  static LogLimiter* Get(absl::string_view reason);
  static constexpr size_t kMaxReasons = 256;

  // A limiter of one's own (tests): fixed `limits`, and `clock` if given.
  LogLimiter(absl::string_view reason, const LogLimits& limits,
             Clock clock = nullptr);
  LogLimiter(const LogLimiter&) = delete;
  LogLimiter& operator=(const LogLimiter&) = delete;

  // Decides whether one line about `peer` may be logged now. Thread-safe.
  Admission Admit(const LogPeer& peer);

  const std::string& reason() const { return reason_; }
  // Lines let through and dropped since creation. Thread-safe.
  int64_t allowed_total() const {
    return allowed_total_.load(std::memory_order_relaxed);
  }
  int64_t suppressed_total() const {
    return suppressed_total_.load(std::memory_order_relaxed);
  }

 private:
  // Default limits, re-read at each window.
  explicit LogLimiter(absl::string_view reason);
  int64_t Now() const;

  const std::string reason_;
  const bool fixed_limits_;
  const Clock clock_;

  Mutex mutex_;
  LogLimits limits_ ABSL_GUARDED_BY(mutex_);
  bool window_open_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t window_start_ns_ ABSL_GUARDED_BY(mutex_) = 0;
  int reason_lines_ ABSL_GUARDED_BY(mutex_) = 0;
  // Lines let through this window per peer key; at most per_reason entries.
  absl::flat_hash_map<uint64_t, int> peer_lines_ ABSL_GUARDED_BY(mutex_);
  int64_t suppressed_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t suppressed_since_ns_ ABSL_GUARDED_BY(mutex_) = 0;

  std::atomic<int64_t> allowed_total_{0};
  std::atomic<int64_t> suppressed_total_{0};
};

// The peer on whose behalf this thread is working, for lines logged by code
// that does not know it (protobuf's parser). Set around such work:
//   { ScopedLogPeer peer(conn->peer_address()); msg.ParseFromArray(...); }
// `peer` (and what it points to) must outlive the scope. Thread-local.
class ScopedLogPeer {
 public:
  explicit ScopedLogPeer(const LogPeer& peer);
  ~ScopedLogPeer();
  ScopedLogPeer(const ScopedLogPeer&) = delete;
  ScopedLogPeer& operator=(const ScopedLogPeer&) = delete;

  // The innermost peer set on this thread; null if none.
  static const LogPeer* Current();

 private:
  const LogPeer peer_;
  const LogPeer* const previous_;
};

namespace log_internal {

// One admitted line: a glog message that, just before it is flushed, gets
// the suppressed-count suffix appended.
class PeerLogLine {
 public:
  PeerLogLine(const char* file, int line, google::LogSeverity severity,
              const LogLimiter::Admission& admission)
      : message_(file, line, severity), admission_(admission) {}
  ~PeerLogLine();  // Appends the suffix; then message_ flushes.
  PeerLogLine(const PeerLogLine&) = delete;
  PeerLogLine& operator=(const PeerLogLine&) = delete;
  std::ostream& stream() { return message_.stream(); }

 private:
  google::LogMessage message_;
  const LogLimiter::Admission admission_;
};

}  // namespace log_internal

// Appends " (N similar lines suppressed in the last M ms)" when N > 0.
void AppendSuppressedSuffix(const LogLimiter::Admission& admission,
                            std::ostream& out);

}  // namespace mrpc

// LOG(severity), rate-limited per (reason, peer). `reason` is a string
// literal naming the kind of line; `peer` an InetAddress, a name, or
// mrpc::LogPeer() for none. A statement, like LOG; safe in an unbraced if.
// The stream operands are only evaluated for lines let through.
#define MRPC_PEER_LOG(severity, reason, peer)                             \
  for (::mrpc::LogLimiter::Admission mrpc_log_admission_ =                \
           ([]() -> ::mrpc::LogLimiter* {                                 \
             static ::mrpc::LogLimiter* const limiter =                   \
                 ::mrpc::LogLimiter::Get(reason);                         \
             return limiter;                                              \
           }())                                                           \
               ->Admit(::mrpc::LogPeer(peer));                            \
       mrpc_log_admission_.allowed; mrpc_log_admission_.allowed = false)  \
  ::mrpc::log_internal::PeerLogLine(                                      \
      __FILE__, __LINE__, ::google::GLOG_##severity, mrpc_log_admission_) \
      .stream()

#endif  // MRPC_NET_LOG_LIMITER_H_
