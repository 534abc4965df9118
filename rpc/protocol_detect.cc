#include "rpc/protocol_detect.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

// HTTP/1.1 methods (RFC 9110) followed by the request line's space.
constexpr absl::string_view kHttpStarts[] = {
    "GET ",  "POST ",    "PUT ",     "DELETE ", "HEAD ",
    "OPTIONS ", "PATCH ", "TRACE ", "CONNECT ",
};
constexpr absl::string_view kMagic = "MRPC";
constexpr absl::string_view kHttp2Preface = "PRI * HTTP/2.0";

// `bytes` is `candidate` or a prefix of it; `*complete` if all of it.
bool Matches(absl::string_view bytes, absl::string_view candidate,
             bool* complete) {
  const size_t n = std::min(bytes.size(), candidate.size());
  if (bytes.substr(0, n) != candidate.substr(0, n)) return false;
  *complete = n == candidate.size();
  return true;
}

}  // namespace

WireProtocol DetectProtocol(absl::string_view first_bytes,
                            std::string* reason) {
  if (first_bytes.empty()) return WireProtocol::kNeedMore;
  bool complete = false;
  bool partial = false;
  if (Matches(first_bytes, kMagic, &complete)) {
    if (complete) return WireProtocol::kMrpc;
    partial = true;
  }
  for (absl::string_view start : kHttpStarts) {
    if (Matches(first_bytes, start, &complete)) {
      if (complete) return WireProtocol::kHttp;
      partial = true;
    }
  }
  if (Matches(first_bytes, kHttp2Preface, &complete)) {
    if (complete) {
      *reason = "an HTTP/2 connection preface (this port serves HTTP/1.1)";
      return WireProtocol::kUnknown;
    }
    partial = true;
  }
  if (partial) return WireProtocol::kNeedMore;
  // A TLS record: content type 22 (handshake), then version major 3.
  const unsigned char b0 = static_cast<unsigned char>(first_bytes[0]);
  if (b0 == 0x16 && (first_bytes.size() < 2 || first_bytes[1] == 0x03)) {
    return first_bytes.size() < 2 ? WireProtocol::kNeedMore
                                  : WireProtocol::kTls;
  }
  *reason = absl::StrCat(
      "unknown first bytes \"", absl::CHexEscape(first_bytes.substr(0, 16)),
      "\" (neither mrpc's \"MRPC\", an HTTP request nor a TLS handshake)");
  return WireProtocol::kUnknown;
}

}  // namespace mrpc
