#include "rpc/rpcz.h"

#include <algorithm>

#include "absl/strings/escaping.h"

namespace mrpc {

namespace {

int64_t SlowNanos(bool enabled, absl::Duration threshold) {
  if (!enabled || threshold == absl::InfiniteDuration()) {
    return std::numeric_limits<int64_t>::max();
  }
  return std::max<int64_t>(absl::ToInt64Nanoseconds(threshold), 0);
}

// `text` cut to `max` bytes at a UTF-8 character boundary, marked "...".
absl::string_view Capped(absl::string_view text, size_t max, bool* truncated) {
  *truncated = text.size() > max;
  if (!*truncated) return text;
  size_t n = max - 3;  // Room for "...".
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xc0) == 0x80) --n;
  return text.substr(0, n);
}

}  // namespace

std::string RpczRecord::TraceIdHex() const {
  if (!has_trace) return "";
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(trace_id.data()), trace_id.size()));
}

RpczStore::RpczStore(bool enabled, absl::Duration slow_threshold,
                     bool keep_errors, size_t max_calls)
    : enabled_(enabled && max_calls > 0),
      slow_threshold_(slow_threshold),
      slow_ns_(SlowNanos(enabled_, slow_threshold)),
      keep_errors_(enabled_ && keep_errors),
      max_calls_(max_calls) {}

void RpczStore::Add(const RpczCall& call) {
  if (!enabled_) return;
  bool truncated = false;
  const absl::string_view message =
      Capped(call.message, kMaxMessageBytes, &truncated);
  MutexLock lock(&mutex_);
  if (ring_.size() < max_calls_) ring_.emplace_back();
  RpczRecord& r = ring_[next_];
  next_ = (next_ + 1) % max_calls_;
  r.seq = ++added_;
  r.arrival = call.arrival;
  // assign() reuses the slot's capacity: no allocation once warm.
  r.service.assign(call.service.data(), call.service.size());
  r.method.assign(call.method.data(), call.method.size());
  r.peer = call.peer != nullptr ? *call.peer : InetAddress();
  r.http = call.http;
  r.code = call.code;
  r.message.assign(message.data(), message.size());
  if (truncated) r.message.append("...");
  r.has_trace = call.trace_id != nullptr;
  if (r.has_trace) r.trace_id = *call.trace_id;
  r.request_bytes = call.request_bytes;
  r.queued_us = call.queued_us;
  r.handler_us = call.handler_us;
  r.answer_us = call.answer_us;
  r.total_us = call.total_us;
}

std::vector<RpczRecord> RpczStore::Snapshot() const {
  std::vector<RpczRecord> out;
  MutexLock lock(&mutex_);
  out.reserve(ring_.size());
  // next_ is the oldest once the ring is full; newest is just before it.
  for (size_t i = 0; i < ring_.size(); ++i) {
    const size_t at = (next_ + ring_.size() - 1 - i) % ring_.size();
    out.push_back(ring_[at]);
  }
  return out;
}

uint64_t RpczStore::added() const {
  MutexLock lock(&mutex_);
  return added_;
}

}  // namespace mrpc
