// The server side of HTTP/1.1 (RFC 9112) on mrpc's port: an incremental
// request parser that takes bytes from a connection's input Buffer, and the
// response writer. Used by the HTTP connection (JSON calls, /metrics,
// /status, /health; issue 13).
//
// Internal to mrpc. HttpRequestParser and HttpServerRequest are plain
// values: one thread at a time (in practice the connection's loop).
//
// The parser is strict where leniency lets a request be read two ways
// (request smuggling) and bounded everywhere: what it keeps buffered in the
// input is at most one incomplete line, and a line, the header section or a
// body past its limit fails as soon as the bytes show it, without waiting
// for the line's end. Errors carry the status to answer before closing:
//   400  malformed request line, header, chunk or body framing; obs-fold;
//        Transfer-Encoding with Content-Length; a second Host
//   413  Content-Length or the chunked total over max_body_bytes
//   414  request line over max_request_line
//   431  header section over max_header_bytes or max_headers
//   501  a Transfer-Encoding other than "chunked"
//   505  a version other than HTTP/1.x (the HTTP/2 preface included)
//
// Example (a connection's message callback):
//   for (;;) {
//     switch (parser_.Feed(input)) {
//       case HttpRequestParser::Result::kNeedMore: return;
//       case HttpRequestParser::Result::kError:
//         AppendHttpResponse(&out, parser_.error_status(), "text/plain", {},
//                            parser_.error_reason(), /*keep_alive=*/false);
//         ...send, close...; return;
//       case HttpRequestParser::Result::kRequest:
//         Handle(parser_.request());
//         parser_.Reset();
//     }
//   }
#ifndef MRPC_RPC_HTTP_HTTP_PARSER_H_
#define MRPC_RPC_HTTP_HTTP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "rpc/http/chunked.h"

namespace mrpc {

class Buffer;

struct HttpServerLimits {
  // The request line without its line end; over it: 414 URI Too Long.
  // Default: 8 KiB.
  size_t max_request_line = 8 << 10;
  // All header lines together, without their line ends (chunked trailers
  // count against it too); over it: 431. Default: 32 KiB.
  size_t max_header_bytes = 32 << 10;
  // Header lines; over it: 431. Default: 64.
  size_t max_headers = 64;
  // Content-Length, or the chunked body's total; over it: 413.
  // Default: 4 MiB.
  size_t max_body_bytes = 4 << 20;
};

struct HttpServerRequest {
  std::string method;     // "GET", "POST", ... as sent (case-sensitive).
  std::string target;     // Raw request-target, e.g. "/status?format=json".
  std::string path;       // Target before '?', raw (not percent-decoded).
  std::string query;      // After '?', raw ("" if none).
  int version_minor = 1;  // HTTP/1.0 -> 0, HTTP/1.1 (or 1.x > 1) -> 1.
  // In arrival order; names lower-cased, values with surrounding OWS trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // De-chunked.
  // From the version and the Connection header ("close", "keep-alive").
  bool keep_alive = true;
  bool expect_continue = false;  // "Expect: 100-continue" seen.

  // The first header named `name` (lower-case), or nullptr.
  const std::string* Header(absl::string_view name) const;
  // The first query parameter named `name` (names compared after decoding),
  // its value percent-decoded with '+' as space; "" for "?name" alone;
  // nullopt if absent. A malformed escape ("%zz") stays as it is.
  std::optional<std::string> QueryParam(absl::string_view name) const;
};

class HttpRequestParser {
 public:
  enum class Result { kNeedMore, kRequest, kError };

  explicit HttpRequestParser(HttpServerLimits limits = {});

  // Consumes bytes of ONE request from the front of `input`; bytes of a
  // following pipelined request stay in `input` untouched.
  // kRequest: request() is complete; until Reset() Feed consumes nothing
  //   and returns kRequest again.
  // kNeedMore: everything consumable was consumed; an incomplete line
  //   (never longer than its limit plus a CR) stays in `input`.
  // kError: error_status()/error_reason() say why; sticky until Reset().
  //   The caller answers error_status() and closes the connection (the
  //   input's framing can no longer be trusted).
  // The caller only appends to `input` between calls.
  Result Feed(Buffer* input);
  // Ready for the next request on the connection; the limits stay.
  void Reset();

  const HttpServerRequest& request() const { return request_; }
  HttpServerRequest* mutable_request() { return &request_; }

  // After kError: 400, 413, 414, 431, 501 or 505, and a short reason
  // ("header line too long", "bad chunk size", ...); 0 and "" otherwise.
  int error_status() const { return error_status_; }
  const std::string& error_reason() const { return error_reason_; }

  // The request line's first byte has arrived (empty lines before it do not
  // count): a request is in progress.
  bool started() const { return started_; }
  // The header section is complete: reading the body, or done.
  bool headers_done() const {
    return state_ == State::kBody || state_ == State::kChunked ||
           state_ == State::kDone;
  }

 private:
  enum class State { kRequestLine, kHeaders, kBody, kChunked, kDone, kFailed };
  Result Fail(int status, const char* reason);
  Result OnRequestLine(absl::string_view line);
  Result OnHeaderLine(absl::string_view line);
  Result OnHeadersEnd();

  const HttpServerLimits limits_;
  State state_ = State::kRequestLine;
  HttpServerRequest request_;
  int error_status_ = 0;
  std::string error_reason_;
  bool started_ = false;
  size_t empty_line_bytes_ = 0;  // Before the request line.
  size_t header_bytes_ = 0;
  size_t scanned_ = 0;  // http::FindLine's progress on the pending line.
  bool has_length_ = false;
  uint64_t content_length_ = 0;
  bool chunked_ = false;
  bool has_host_ = false;
  uint64_t remaining_ = 0;  // Of the Content-Length body.
  std::optional<ChunkedDecoder> chunked_decoder_;  // Per chunked body.
};

// Appends a complete HTTP/1.1 response: the status line with the standard
// reason phrase, Content-Type (omitted if empty), Content-Length,
// "Connection: close" if !keep_alive, the extra headers, a blank line, and
// the body (omitted, Content-Length kept, when head_only: for HEAD). A 1xx
// or 204 gets neither Content-Length nor a body (RFC 9110 section 8.6).
void AppendHttpResponse(
    Buffer* out, int status, absl::string_view content_type,
    absl::Span<const std::pair<std::string, std::string>> extra_headers,
    absl::string_view body, bool keep_alive, bool head_only = false);

// "OK", "Not Found", ... for the status codes mrpc uses (200, 204, 400, 401,
// 403, 404, 405, 408, 409, 413, 414, 415, 429, 431, 499 "Client Closed
// Request", 500, 501, 503, 504, 505); "Unknown" for any other.
absl::string_view HttpReasonPhrase(int status);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_HTTP_PARSER_H_
