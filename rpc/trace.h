// W3C trace context (https://www.w3.org/TR/trace-context/), carried in call
// metadata under the key "traceparent":
//
//   00-<trace-id: 32 hex>-<parent-id: 16 hex>-<trace-flags: 2 hex>
//
// A server handler's context knows the trace its caller started (or starts
// one when asked); a ClientContext made with that ServerContext as parent
// sends the same trace id with a new span id, so every hop of one request
// shares a trace id.
//
// Public. Value type.
#ifndef MRPC_RPC_TRACE_H_
#define MRPC_RPC_TRACE_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace mrpc {

struct TraceContext {
  std::array<uint8_t, 16> trace_id{};
  // The span the bearer is in; sent as traceparent's parent-id.
  std::array<uint8_t, 8> span_id{};
  uint8_t flags = 0;  // Bit 0: sampled.

  // A new trace: random trace and span ids, sampled.
  static TraceContext NewRoot();
  // Parses a traceparent value. Version 00 exactly; a later version is read
  // by its first four fields, as the spec asks. nullopt if malformed or an
  // id is all zeros.
  static absl::optional<TraceContext> Parse(absl::string_view traceparent);

  // The same trace and flags, a new random span id.
  TraceContext NewChild() const;
  // "00-<trace>-<span>-<flags>", 55 characters.
  std::string ToTraceparent() const;
  std::string TraceIdHex() const;
  std::string SpanIdHex() const;
};

}  // namespace mrpc

#endif  // MRPC_RPC_TRACE_H_
