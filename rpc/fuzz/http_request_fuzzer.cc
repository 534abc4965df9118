// Fuzzes the server's HTTP/1.1 request parser (rpc/http/http_parser.h) with
// bytes as any client on mrpc's port could send them, pipelined requests
// included. The stream is parsed twice: all at once, and in pieces (sizes
// set by the first two bytes, so splits land everywhere, mid-CRLF too).
// Properties: no crash or over-read (ASan); both parses see the same
// requests ending at the same byte offsets and the same error status; an
// error status is one of 400/413/414/431/501/505; a request is within the
// limits; what stays buffered after kNeedMore is one incomplete line
// (at most its limit plus a CR); a parsed request, written out again with
// Content-Length framing, parses back to the same request; Reset() makes the
// parser ready for the next one.
//
// Input: byte 0 and byte 1 set alternating piece sizes (1-64); the rest is
// the stream.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "rpc/fuzz/fuzz_check.h"
#include "rpc/http/http_parser.h"

namespace {

using mrpc::Buffer;
using mrpc::HttpRequestParser;
using mrpc::HttpServerLimits;
using mrpc::HttpServerRequest;
using Result = HttpRequestParser::Result;

HttpServerLimits SmallLimits() {
  HttpServerLimits limits;
  limits.max_request_line = 96;
  limits.max_header_bytes = 256;
  limits.max_headers = 8;
  limits.max_body_bytes = 512;
  return limits;
}

// What stays in the input after kNeedMore: one incomplete line (request
// line, header, chunk-size or trailer line; 1024 for a chunk-size line).
size_t MaxPending(const HttpServerLimits& limits) {
  return std::max({limits.max_request_line, limits.max_header_bytes,
                   size_t{1024}}) + 1;
}

void CheckRequest(const HttpServerRequest& r, const HttpServerLimits& limits) {
  FUZZ_CHECK(r.body.size() <= limits.max_body_bytes);
  FUZZ_CHECK(r.headers.size() <= limits.max_headers);
  size_t header_bytes = 0;
  for (const auto& [name, value] : r.headers) header_bytes += name.size() + value.size();
  FUZZ_CHECK(header_bytes <= limits.max_header_bytes);
  FUZZ_CHECK(r.method.size() + r.target.size() + 10 <= limits.max_request_line);
  FUZZ_CHECK(!r.target.empty() && (r.target[0] == '/' || r.target == "*"));
  FUZZ_CHECK(r.target.substr(0, r.path.size()) == r.path);
  FUZZ_CHECK(r.version_minor == 0 || r.version_minor == 1);
  (void)r.QueryParam("a");
}

std::string Describe(const HttpServerRequest& r, size_t offset) {
  std::string s = absl::StrCat("@", offset, " ", r.method, " ", r.target, " ",
                               r.version_minor, r.keep_alive ? "k" : "c",
                               r.expect_continue ? "e" : "", "\n");
  for (const auto& [name, value] : r.headers) {
    absl::StrAppend(&s, name, ":", value, "\n");
  }
  absl::StrAppend(&s, r.body.size(), ":", r.body);
  return s;
}

// Writes the request out again with Content-Length framing; parsed with the
// default limits it must come back the same.
void CheckRoundTrip(const HttpServerRequest& r) {
  std::string bytes = absl::StrCat(r.method, " ", r.target, " HTTP/1.",
                                   r.version_minor, "\r\n");
  std::vector<std::pair<std::string, std::string>> kept;
  for (const auto& header : r.headers) {
    if (header.first == "content-length" ||
        header.first == "transfer-encoding") {
      continue;
    }
    kept.push_back(header);
    absl::StrAppend(&bytes, header.first, ": ", header.second, "\r\n");
  }
  absl::StrAppend(&bytes, "Content-Length: ", r.body.size(), "\r\n\r\n", r.body);
  HttpRequestParser parser;
  Buffer input;
  input.Append(bytes);
  FUZZ_CHECK(parser.Feed(&input) == Result::kRequest);
  FUZZ_CHECK(input.ReadableBytes() == 0);
  const HttpServerRequest& again = parser.request();
  FUZZ_CHECK(again.method == r.method && again.target == r.target &&
             again.path == r.path && again.query == r.query &&
             again.body == r.body && again.expect_continue == r.expect_continue);
  // An HTTP/1.0 chunked request closes the connection whatever it asked.
  if (r.Header("transfer-encoding") == nullptr) {
    FUZZ_CHECK(again.keep_alive == r.keep_alive);
  }
  FUZZ_CHECK(again.headers.size() == kept.size() + 1);
  FUZZ_CHECK(std::equal(kept.begin(), kept.end(), again.headers.begin()));
}

struct Outcome {
  std::vector<std::string> events;  // One per request, or the error.
  bool started = false;
  bool headers_done = false;
};

// Feeds `stream` in pieces of the given sizes (0: all at once), parsing
// every pipelined request.
Outcome Parse(const uint8_t* stream, size_t size, size_t piece_a,
              size_t piece_b, bool check) {
  const HttpServerLimits limits = SmallLimits();
  HttpRequestParser parser(limits);
  Buffer input(64);
  Outcome outcome;
  size_t appended = 0;
  bool odd = false;
  while (appended < size) {
    size_t n = piece_a == 0 ? size : (odd ? piece_b : piece_a);
    n = std::min(n, size - appended);
    odd = !odd;
    input.Append(stream + appended, n);
    appended += n;
    for (;;) {
      const size_t before = input.ReadableBytes();
      const Result result = parser.Feed(&input);
      FUZZ_CHECK(input.ReadableBytes() <= before);
      if (result == Result::kNeedMore) {
        FUZZ_CHECK(input.ReadableBytes() <= MaxPending(limits));
        break;
      }
      if (result == Result::kError) {
        const int status = parser.error_status();
        FUZZ_CHECK(status == 400 || status == 413 || status == 414 ||
                   status == 431 || status == 501 || status == 505);
        FUZZ_CHECK(!parser.error_reason().empty());
        FUZZ_CHECK(parser.Feed(&input) == Result::kError);  // Sticky.
        outcome.events.push_back(absl::StrCat("error ", status));
        return outcome;
      }
      const size_t offset = appended - input.ReadableBytes();
      FUZZ_CHECK(parser.started() && parser.headers_done());
      FUZZ_CHECK(parser.Feed(&input) == Result::kRequest);
      FUZZ_CHECK(appended - input.ReadableBytes() == offset);
      if (check) {
        CheckRequest(parser.request(), limits);
        CheckRoundTrip(parser.request());
      }
      outcome.events.push_back(Describe(parser.request(), offset));
      parser.Reset();
      FUZZ_CHECK(!parser.started() && !parser.headers_done() &&
                 parser.request().headers.empty() &&
                 parser.request().body.empty() && parser.error_status() == 0);
    }
  }
  outcome.started = parser.started();
  outcome.headers_done = parser.headers_done();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t piece_a = 1 + data[0] % 64;
  const size_t piece_b = 1 + data[1] % 64;
  const uint8_t* stream = data + 2;
  const size_t stream_size = size - 2;

  const Outcome whole = Parse(stream, stream_size, 0, 0, /*check=*/true);
  const Outcome split =
      Parse(stream, stream_size, piece_a, piece_b, /*check=*/false);
  FUZZ_CHECK(whole.events == split.events);
  FUZZ_CHECK(whole.started == split.started);
  FUZZ_CHECK(whole.headers_done == split.headers_done);
  return 0;
}
