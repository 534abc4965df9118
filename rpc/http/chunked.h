// ChunkedDecoder: the HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1),
// decoded incrementally from a Buffer. One piece used by both ends: the
// server's request parser (rpc/http/http_parser.h) and the etcd client's
// response parser (rpc/cluster/http_client.h).
//
// Internal (rpc/http, rpc/cluster). A plain value: one thread at a time.
//
// Wire format, strictly CRLF-delimited (a bare LF in the framing is an error:
// lenient chunk framing is a request-smuggling vector):
//
//   chunk-size [ ";" ext ] CRLF     hex, e.g. "1a;name=value"
//   chunk-data CRLF                 exactly chunk-size bytes
//   ...
//   "0" [ ";" ext ] CRLF            the last chunk
//   *( field-line CRLF )            trailers: checked, counted, dropped
//   CRLF
//
// Bytes after the final CRLF (a pipelined request) are left in the input.
// What stays buffered between calls is at most one incomplete line, which
// never exceeds max_line_bytes (or the trailer budget) plus a CR.
//
// Example:
//   ChunkedDecoder decoder(limits);
//   switch (decoder.Decode(input, [&](absl::string_view piece) {
//     body.append(piece.data(), piece.size());
//     return true;
//   })) { ... }
#ifndef MRPC_RPC_HTTP_CHUNKED_H_
#define MRPC_RPC_HTTP_CHUNKED_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace mrpc {

class Buffer;

class ChunkedDecoder {
 public:
  struct Limits {
    // One chunk's declared size. Default: no bound of its own.
    uint64_t max_chunk_bytes = std::numeric_limits<uint64_t>::max();
    // All chunks' sizes together, decided on each size line before its data
    // arrives. Default: no bound (a streamed body).
    uint64_t max_body_bytes = std::numeric_limits<uint64_t>::max();
    // A chunk-size line with its extensions, without the CRLF.
    // Default: 1024.
    size_t max_line_bytes = 1024;
    // All trailer lines together, without their CRLFs. Default: 64 KiB.
    size_t max_trailer_bytes = size_t{64} << 10;
  };
  enum class Result { kNeedMore, kDone, kError };
  enum class Error {
    kNone,
    kBadChunkSize,      // Not hex, overflows, bad extension, line too long.
    kBadChunkEnd,       // Chunk data not followed by CRLF.
    kBadTrailer,        // A trailer line that is not "name: value".
    kBodyTooLarge,      // Over max_chunk_bytes or max_body_bytes.
    kTrailersTooLarge,  // Over max_trailer_bytes.
    kSinkRefused,       // The sink returned false.
  };
  // Takes a piece of decoded body; false stops decoding (kSinkRefused).
  using Sink = absl::FunctionRef<bool(absl::string_view piece)>;

  explicit ChunkedDecoder(const Limits& limits) : limits_(limits) {}

  // Consumes what it can of the body from the front of `input`, passing the
  // data to `sink`. kDone once the last chunk and trailers are in; then, and
  // after kError (sticky), it consumes nothing until Reset().
  Result Decode(Buffer* input, Sink sink);
  void Reset();

  Error error() const { return error_; }
  // "bad chunk size", "body too large", ... (static text).
  static const char* ErrorText(Error error);
  // Decoded bytes so far (the sizes of the chunks begun).
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailers, kDone, kFailed };
  Result Fail(Error error);
  Result OnSizeLine(absl::string_view line);

  const Limits limits_;
  State state_ = State::kSize;
  Error error_ = Error::kNone;
  uint64_t remaining_ = 0;  // Of the current chunk's data.
  uint64_t body_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  size_t scanned_ = 0;  // http::FindLine's progress on the pending line.
};

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_CHUNKED_H_
