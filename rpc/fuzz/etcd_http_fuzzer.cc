// Fuzzes the etcd client's input side: the HTTP/1.1 response parser
// (status line, headers, Content-Length / chunked / until-close bodies)
// with bytes arriving in arbitrary pieces, and the etcd JSON parsers on
// whatever body it yields (range, watch line, error answer, registered
// value). Properties: no crash or out-of-bounds read (ASan); the body never
// exceeds the cap; what stays buffered between reads stays bounded (the
// header cap plus one piece); a streamed body is cut into watch lines none
// longer than the cap.
//
// Input: byte 0 sets the piece size (1-256); byte 1 bit 0 picks streamed
// (a watch) or accumulated (a unary call); the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <string>

#include "net/buffer.h"
#include "rpc/cluster/etcd_client.h"
#include "rpc/cluster/etcd_resolver.h"
#include "rpc/cluster/http_client.h"
#include "rpc/fuzz/fuzz_check.h"

namespace {

constexpr size_t kMaxHeader = 1024;
constexpr size_t kMaxBody = 4096;

void ParseJson(absl::string_view json) {
  (void)mrpc::ParseEtcdRangeResponse(json);
  bool created = false;
  (void)mrpc::ParseEtcdWatchLine(json, &created);
  (void)mrpc::EtcdErrorStatus(500, json);
  (void)mrpc::ParseEtcdEndpointValue(json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t piece = 1 + data[0];
  const bool streamed = (data[1] & 1) != 0;
  const uint8_t* p = data + 2;
  size_t left = size - 2;

  mrpc::HttpLimits limits;
  limits.max_header_bytes = kMaxHeader;
  limits.max_body_bytes = kMaxBody;
  std::string line;
  mrpc::HttpResponseParser::BodySink sink;
  if (streamed) {
    // What EtcdWatch does with a stream: newline-separated JSON objects.
    sink = [&line](absl::string_view bytes) -> absl::Status {
      line.append(bytes.data(), bytes.size());
      size_t start = 0;
      for (size_t end; (end = line.find('\n', start)) != std::string::npos;
           start = end + 1) {
        ParseJson(absl::string_view(line).substr(start, end - start));
      }
      line.erase(0, start);
      if (line.size() > kMaxBody) return absl::ResourceExhaustedError("line");
      return absl::OkStatus();
    };
  }
  mrpc::HttpResponseParser parser(limits, sink);
  mrpc::Buffer input(64);
  bool failed = false;
  while (left > 0 && !failed) {
    const size_t n = piece < left ? piece : left;
    input.Append(p, n);
    p += n;
    left -= n;
    failed = !parser.Feed(&input).ok();
    if (!failed) {
      // Unparsed bytes: a header (or chunk-size line) in progress.
      FUZZ_CHECK(input.ReadableBytes() <= kMaxHeader + piece);
      FUZZ_CHECK(parser.body().size() <= kMaxBody);
      FUZZ_CHECK(line.size() <= kMaxBody);
    }
  }
  if (!failed) failed = !parser.FeedEof().ok();
  if (!failed) {
    FUZZ_CHECK(parser.done());
    FUZZ_CHECK(parser.headers_done());
    FUZZ_CHECK(parser.status_code() >= 200 && parser.status_code() <= 599);
    if (!streamed) ParseJson(parser.body());
  }
  return 0;
}
