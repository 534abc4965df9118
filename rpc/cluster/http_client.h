// A minimal HTTP/1.1 client for mrpc's etcd client (rpc/cluster/etcd_client.h):
// one request per connection ("Connection: close"), a body with
// Content-Length, and a response parser that takes Content-Length, chunked
// and read-until-close bodies under hard size caps.
//
// Internal (rpc/cluster). Threading: HttpResponseParser is a plain value
// (one thread at a time). HttpCall is loop-owned: Start() and Cancel() on its
// loop only; its callbacks run on the loop, and none after Cancel().
//
// Hostile input (a bad status line, a header past the cap, a chunk size
// that is not hex or exceeds the cap, a body past the cap, a connection cut
// mid-body) ends the call with an error and closes the connection; the
// bytes buffered for a response never exceed the header cap plus one read.
//
// Example:
//   HttpRequest request{"POST", "/v3/kv/range", "127.0.0.1:2379", json};
//   auto call = HttpCall::Start(loop, etcd, request, HttpCall::Options{},
//                               nullptr, [](absl::StatusOr<HttpResponse> r) {
//                                 ...
//                               });
#ifndef MRPC_RPC_CLUSTER_HTTP_CLIENT_H_
#define MRPC_RPC_CLUSTER_HTTP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/callbacks.h"
#include "net/inet_address.h"
#include "rpc/http/chunked.h"

namespace mrpc {

class Buffer;
class EventLoop;
class TcpClient;
class TlsContext;

struct HttpLimits {
  // Status line plus headers (and chunked trailers). Default: 64 KiB.
  size_t max_header_bytes = size_t{64} << 10;
  // The body (accumulated), or one chunk (streamed). Default: 4 MiB.
  size_t max_body_bytes = size_t{4} << 20;
};

// Incremental HTTP/1.1 response parser. Body bytes go to the sink if one is
// given (a stream: nothing accumulates here), else into body().
class HttpResponseParser {
 public:
  // Takes a piece of decoded body; an error aborts the parse with it.
  using BodySink = std::function<absl::Status(absl::string_view piece)>;

  explicit HttpResponseParser(HttpLimits limits = {}, BodySink sink = nullptr);

  // Consumes what it can of `input`; an incomplete line stays buffered
  // there. The first error is sticky: later calls return it.
  absl::Status Feed(Buffer* input);
  // The peer closed: completes a read-until-close body, else an error if
  // the response is not complete.
  absl::Status FeedEof();

  bool headers_done() const { return state_ > State::kHeaders; }
  bool done() const { return state_ == State::kDone; }
  int status_code() const { return status_code_; }
  bool chunked() const { return chunked_; }
  const std::string& body() const { return body_; }
  std::string* mutable_body() { return &body_; }

 private:
  enum class State {
    kHeaders,
    kChunked,  // In chunk_decoder_.
    kLengthBody,
    kUntilClose,
    kDone,
    kFailed,
  };
  absl::Status Fail(absl::Status status);
  absl::Status ParseHeaders(absl::string_view head);
  absl::Status Emit(absl::string_view piece);
  absl::Status Step(Buffer* input, bool* progress);

  const HttpLimits limits_;
  const BodySink sink_;
  State state_ = State::kHeaders;
  absl::Status error_;
  int status_code_ = 0;
  bool chunked_ = false;
  bool has_length_ = false;
  uint64_t remaining_ = 0;  // Of the Content-Length body.
  ChunkedDecoder chunk_decoder_;  // The same chunked decoding as the server's.
  std::string body_;
};

struct HttpRequest {
  std::string method = "POST";
  std::string path;
  std::string host;  // The Host header.
  std::string body;  // Sent with Content-Type: application/json.
};

struct HttpResponse {
  int status_code = 0;
  std::string body;  // Empty for a streamed call (the sink had it).
};

// One request on a connection of its own.
class HttpCall : public std::enable_shared_from_this<HttpCall> {
 public:
  struct Options {
    // Whole call (connect included); for a streamed call only until the
    // response headers arrive. Default: 5 s.
    absl::Duration timeout = absl::Seconds(5);
    HttpLimits limits;
    // TLS (https); null: plaintext. The name the server's certificate
    // must carry; empty: the server's IP.
    std::shared_ptr<const TlsContext> tls;
    std::string tls_server_name;
    absl::Duration tls_handshake_timeout = absl::Seconds(10);
  };
  // The call's end: the response (any status code), or UNAVAILABLE (could
  // not connect, or the connection closed before the response ended),
  // DEADLINE_EXCEEDED, or DATA_LOSS / RESOURCE_EXHAUSTED for a response
  // that is malformed or over the caps. A sink's error ends it too.
  using Done = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>)>;

  // Connects to `server` and sends `request`. With a `sink`, body bytes are
  // streamed to it as they arrive. Loop only.
  static std::shared_ptr<HttpCall> Start(EventLoop* loop,
                                         const InetAddress& server,
                                         const HttpRequest& request,
                                         const Options& options,
                                         HttpResponseParser::BodySink sink,
                                         Done done);
  // Private; use Start().
  HttpCall(EventLoop* loop, const InetAddress& server, const Options& options,
           HttpResponseParser::BodySink sink, Done done);
  ~HttpCall();
  HttpCall(const HttpCall&) = delete;
  HttpCall& operator=(const HttpCall&) = delete;

  // Closes the connection; the done callback never runs. Loop only.
  void Cancel();
  // Headers of the response have arrived (its status code is known).
  bool headers_done() const { return parser_.headers_done(); }
  int status_code() const { return parser_.status_code(); }
  const InetAddress& server() const { return server_; }

 private:
  void Begin(const HttpRequest& request);
  void OnConnection(const TcpConnectionPtr& conn);
  void OnMessage(Buffer* input);
  void OnTimeout();
  void Finish(absl::StatusOr<HttpResponse> result);
  // Drops the connection from a queued task: it may be mid-callback now.
  void ReleaseClient();

  EventLoop* const loop_;
  const InetAddress server_;
  const Options options_;
  const bool streamed_;
  HttpResponseParser parser_;
  Done done_;
  std::string request_bytes_;
  std::unique_ptr<TcpClient> client_;
  TimerId timer_;
  bool connected_ = false;
  bool finished_ = false;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_HTTP_CLIENT_H_
