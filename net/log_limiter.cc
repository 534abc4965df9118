#include "net/log_limiter.h"

#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <utility>

#include "absl/hash/hash.h"

namespace mrpc {
namespace {

Mutex g_defaults_mutex;
LogLimits g_defaults ABSL_GUARDED_BY(g_defaults_mutex);

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

thread_local const LogPeer* t_current_peer = nullptr;

}  // namespace

void SetDefaultLogLimits(const LogLimits& limits) {
  MutexLock lock(&g_defaults_mutex);
  g_defaults = limits;
}

LogLimits DefaultLogLimits() {
  MutexLock lock(&g_defaults_mutex);
  return g_defaults;
}

uint64_t LogPeer::Key() const {
  if (address_ != nullptr) {
    // The IP alone: every port of one host is one peer.
    const struct sockaddr* sa = address_->sockaddr();
    if (sa->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const struct sockaddr_in6*>(sa);
      return absl::Hash<absl::string_view>{}(absl::string_view(
                 reinterpret_cast<const char*>(&in6->sin6_addr), 16)) |
             1;
    }
    const auto* in4 = reinterpret_cast<const struct sockaddr_in*>(sa);
    return absl::Hash<absl::string_view>{}(absl::string_view(
               reinterpret_cast<const char*>(&in4->sin_addr), 4)) |
           1;
  }
  if (has_name_) return absl::Hash<absl::string_view>{}(name_) | 1;
  return 0;  // Never a real peer's key: those have the low bit set.
}

std::string LogPeer::ToString() const {
  if (address_ != nullptr) return address_->ToString();
  return std::string(name_);
}

LogLimiter* LogLimiter::Get(absl::string_view reason) {
  // Never freed: limiters are used from any thread until exit, like glog's
  // own state.
  static Mutex* const mutex = new Mutex;
  static auto* const registry =
      new absl::flat_hash_map<std::string, std::unique_ptr<LogLimiter>>;
  MutexLock lock(mutex);
  auto it = registry->find(reason);
  if (it != registry->end()) return it->second.get();
  if (registry->size() >= kMaxReasons) reason = "other";
  auto& slot = (*registry)[reason];
  if (slot == nullptr) slot.reset(new LogLimiter(reason));
  return slot.get();
}

LogLimiter::LogLimiter(absl::string_view reason)
    : reason_(reason), fixed_limits_(false), clock_(nullptr) {}

LogLimiter::LogLimiter(absl::string_view reason, const LogLimits& limits,
                       Clock clock)
    : reason_(reason), fixed_limits_(true), clock_(std::move(clock)) {
  limits_ = limits;
}

int64_t LogLimiter::Now() const { return clock_ ? clock_() : SteadyNowNs(); }

LogLimiter::Admission LogLimiter::Admit(const LogPeer& peer) {
  const int64_t now = Now();
  const uint64_t key = peer.Key();
  Admission admission;
  MutexLock lock(&mutex_);
  if (!window_open_ ||
      now - window_start_ns_ >= absl::ToInt64Nanoseconds(limits_.window)) {
    if (!fixed_limits_) limits_ = DefaultLogLimits();
    window_open_ = true;
    window_start_ns_ = now;
    reason_lines_ = 0;
    peer_lines_.clear();
  }
  bool allowed = reason_lines_ < limits_.per_reason;
  int* peer_count = nullptr;
  if (allowed && key != 0) {
    // Only peers let through get an entry, so the table holds at most
    // per_reason entries whatever the number of distinct sources.
    peer_count = &peer_lines_[key];
    allowed = *peer_count < limits_.per_peer;
  }
  if (!allowed) {
    if (suppressed_ == 0) suppressed_since_ns_ = now;
    ++suppressed_;
    suppressed_total_.fetch_add(1, std::memory_order_relaxed);
    // An entry made just now for a peer over its limit (per_peer = 0) would
    // be empty: drop it, to keep the table bound.
    if (peer_count != nullptr && *peer_count == 0) peer_lines_.erase(key);
    return admission;
  }
  ++reason_lines_;
  if (peer_count != nullptr) ++*peer_count;
  admission.allowed = true;
  admission.suppressed = suppressed_;
  admission.suppressed_over_ns =
      suppressed_ > 0 ? now - suppressed_since_ns_ : 0;
  suppressed_ = 0;
  allowed_total_.fetch_add(1, std::memory_order_relaxed);
  return admission;
}

ScopedLogPeer::ScopedLogPeer(const LogPeer& peer)
    : peer_(peer), previous_(t_current_peer) {
  t_current_peer = &peer_;
}

ScopedLogPeer::~ScopedLogPeer() { t_current_peer = previous_; }

const LogPeer* ScopedLogPeer::Current() { return t_current_peer; }

void AppendSuppressedSuffix(const LogLimiter::Admission& admission,
                            std::ostream& out) {
  if (admission.suppressed == 0) return;
  out << " (" << admission.suppressed << " similar line"
      << (admission.suppressed == 1 ? "" : "s") << " suppressed in the last "
      << admission.suppressed_over_ns / 1000000 << " ms)";
}

namespace log_internal {

PeerLogLine::~PeerLogLine() {
  AppendSuppressedSuffix(admission_, message_.stream());
}

}  // namespace log_internal
}  // namespace mrpc
