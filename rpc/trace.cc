#include "rpc/trace.h"

#include <algorithm>
#include <random>

#include "absl/strings/escaping.h"

namespace mrpc {
namespace {

// Per-thread generator: ids are made on any thread, with no lock.
uint64_t RandomBits() {
  thread_local std::mt19937_64 engine([] {
    std::random_device device;
    return (uint64_t{device()} << 32) ^ device();
  }());
  return engine();
}

template <size_t N>
void FillRandom(std::array<uint8_t, N>* bytes) {
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t bits = RandomBits();
      for (size_t j = i; j < N && j < i + 8; ++j, bits >>= 8) {
        (*bytes)[j] = static_cast<uint8_t>(bits);
      }
    }
  } while (std::all_of(bytes->begin(), bytes->end(),
                       [](uint8_t b) { return b == 0; }));  // Zero is invalid.
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // Uppercase is invalid in traceparent.
}

// Parses exactly 2*N lowercase hex digits; false if malformed or all zero.
template <size_t N>
bool ParseHex(absl::string_view text, std::array<uint8_t, N>* out) {
  if (text.size() != 2 * N) return false;
  bool nonzero = false;
  for (size_t i = 0; i < N; ++i) {
    const int hi = HexDigit(text[2 * i]);
    const int lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
    nonzero |= (*out)[i] != 0;
  }
  return nonzero || N == 1;
}

}  // namespace

TraceContext TraceContext::NewRoot() {
  TraceContext trace;
  FillRandom(&trace.trace_id);
  FillRandom(&trace.span_id);
  trace.flags = 1;
  return trace;
}

absl::optional<TraceContext> TraceContext::Parse(
    absl::string_view traceparent) {
  // version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2) = 55.
  if (traceparent.size() < 55) return absl::nullopt;
  std::array<uint8_t, 1> version;
  if (!ParseHex(traceparent.substr(0, 2), &version) || version[0] == 0xff)
    return absl::nullopt;
  if (traceparent[2] != '-' || traceparent[35] != '-' ||
      traceparent[52] != '-') {
    return absl::nullopt;
  }
  // Version 00 is exactly 55 characters; later versions may append fields
  // after another '-'.
  if (version[0] == 0 ? traceparent.size() != 55
                      : traceparent.size() > 55 && traceparent[55] != '-') {
    return absl::nullopt;
  }
  TraceContext trace;
  std::array<uint8_t, 1> flags;
  if (!ParseHex(traceparent.substr(3, 32), &trace.trace_id) ||
      !ParseHex(traceparent.substr(36, 16), &trace.span_id) ||
      !ParseHex(traceparent.substr(53, 2), &flags)) {
    return absl::nullopt;
  }
  trace.flags = flags[0];
  return trace;
}

TraceContext TraceContext::NewChild() const {
  TraceContext child = *this;
  FillRandom(&child.span_id);
  return child;
}

std::string TraceContext::ToTraceparent() const {
  std::array<uint8_t, 1> f = {flags};
  return "00-" + Hex(trace_id) + "-" + Hex(span_id) + "-" + Hex(f);
}

std::string TraceContext::TraceIdHex() const { return Hex(trace_id); }
std::string TraceContext::SpanIdHex() const { return Hex(span_id); }

}  // namespace mrpc
