// HttpSession: the HTTP/1.1 side of a server connection whose first bytes
// were an HTTP request line (rpc/protocol_detect.h). It parses requests
// (rpc/http/http_parser.h) under size limits and timeouts, hands each to its
// Handler, and writes the replies in request order: a keep-alive client may
// pipeline, and requests are served one at a time, the next only after the
// previous one's reply is written.
//
// Errors answer and close: a request the parser rejects gets its 4xx/5xx
// (400, 413, 414, 431, 501, 505) with "Connection: close"; a request line
// and headers not complete within `header_timeout` of their first byte, or
// a body not complete within `body_timeout` of its headers (slowloris), get
// 408 and a close. Each logs one rate-limited line naming the peer.
//
// Internal to the server. Loop only: every method runs on the
// connection's loop.
#ifndef MRPC_RPC_HTTP_HTTP_SESSION_H_
#define MRPC_RPC_HTTP_HTTP_SESSION_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "net/callbacks.h"
#include "rpc/http/http_parser.h"

namespace mrpc {

class Buffer;
class EventLoop;
class MemoryBudget;

struct HttpOptions {
  HttpServerLimits limits;
  // From a request's first byte until its headers are complete.
  absl::Duration header_timeout = absl::Seconds(10);
  // From the end of the headers until the body is complete.
  absl::Duration body_timeout = absl::Seconds(30);
};

// What the server answers to one request.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // Close the connection after this reply.
};

// Counters an HttpSession adds to: one set per loop, written by that loop
// only, read by anyone.
struct HttpCounters {
  std::atomic<uint64_t> requests{0};      // Requests parsed completely.
  std::atomic<uint64_t> bad_requests{0};  // Rejected by the parser; closed.
  std::atomic<uint64_t> timeouts{0};      // 408: headers or body too slow.
};

class HttpSession {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Serves `request` (its body may be moved out). Must lead to exactly
    // one Reply(), now or later, on the loop.
    virtual void OnHttpRequest(const TcpConnectionPtr& conn,
                               HttpServerRequest* request) = 0;
  };

  // `budget` (may be null) is charged the request body being read; a body
  // that does not fit its room is answered 503 and the connection closed.
  HttpSession(EventLoop* loop, const HttpOptions& options, Handler* handler,
              HttpCounters* counters, MemoryBudget* budget);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Bytes arrived: parses and serves what it can.
  void OnMessage(const TcpConnectionPtr& conn, Buffer* input);
  // Answers the request being served. Once per request.
  void Reply(const TcpConnectionPtr& conn, HttpReply reply);
  // After a reply made later than its request (outside OnHttpRequest):
  // serves the requests pipelined meanwhile. Call it once the code that
  // replied is done with its own state; a no-op otherwise.
  void Resume(const TcpConnectionPtr& conn);
  // A request is being served (its reply not yet written).
  bool serving() const { return serving_; }
  // The request being served was a HEAD.
  bool head_only() const { return head_only_; }

 private:
  // Parses and serves buffered requests until one is outstanding or more
  // bytes are needed.
  void Serve(const TcpConnectionPtr& conn, Buffer* input);
  // Answers `status` with a plain-text `reason`, logs, and closes.
  void Fail(const TcpConnectionPtr& conn, Buffer* input, int status,
            const std::string& reason);
  void ArmTimer(const TcpConnectionPtr& conn, absl::Duration timeout,
                bool headers);
  void CancelTimer();
  // Charges the budget for the body held now; false if it has no room.
  bool ChargeBody();
  void ReleaseBody();

  EventLoop* const loop_;
  const HttpOptions options_;
  Handler* const handler_;
  HttpCounters* const counters_;
  MemoryBudget* const budget_;
  int64_t charged_ = 0;  // Body bytes charged to budget_.
  HttpRequestParser parser_;
  TimerId timer_;
  bool timer_for_headers_ = false;
  bool serving_ = false;
  bool in_serve_ = false;    // Serve() is on the stack.
  bool keep_alive_ = true;   // Of the request being served.
  bool head_only_ = false;
  bool closing_ = false;     // Failed or closing: input is discarded.
};

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_HTTP_SESSION_H_
