// ServerConnection: the server's side of one client connection: framing,
// dispatch of REQUEST, CANCEL and PING frames, the table of calls in
// flight, protocol errors, the frame timeout, and pausing a client that
// does not read its responses.
//
// Internal to the server. Lives in the TcpConnection's context slot
// (shared-owned, also by each of its calls). Loop only: every method runs on
// the connection's loop (asserted where it matters).
//
// Call semantics (docs/protocol.md, "Calls"): a correlation id is reserved
// from its REQUEST until its one RESPONSE is sent; a REQUEST reusing an id
// in flight is a protocol error. A CANCEL of a call in flight is answered
// CANCELLED at once. A protocol error answers every call in flight with
// UNAVAILABLE, flushes what is owed, half-closes, and resets the connection
// if the client has not closed it within kProtocolErrorLinger.
#ifndef MRPC_RPC_SERVER_CONNECTION_H_
#define MRPC_RPC_SERVER_CONNECTION_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/callbacks.h"
#include "net/tls_peer.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/codec.h"
#include "rpc/http/http_session.h"
#include "rpc/protocol_detect.h"
#include "rpc/server_shared.h"

namespace mrpc {

class Buffer;
class EventLoop;
class ServerCall;

class ServerConnection : public std::enable_shared_from_this<ServerConnection>,
                         public HttpSession::Handler {
 public:
  // After a protocol error: how long the client gets to read what is owed
  // and close before the server resets the connection.
  static constexpr absl::Duration kProtocolErrorLinger = absl::Seconds(2);

  ServerConnection(std::shared_ptr<ServerShared> shared,
                   std::shared_ptr<LoopHandle> handle, EventLoop* loop);
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // The TcpConnection's callbacks.
  void OnMessage(const TcpConnectionPtr& conn, Buffer* input);
  void OnClose();
  void OnHighWaterMark(const TcpConnectionPtr& conn, size_t bytes);
  void OnWriteComplete(const TcpConnectionPtr& conn);
  // Shutdown past its grace: answers every call in flight with `status`
  // now (their handlers' later results are dropped).
  void Abandon(const absl::Status& status);

  // For calls.
  LoopHandle* handle() const { return handle_.get(); }
  // The peer as the TLS handshake established it; null for plaintext.
  const std::shared_ptr<const TlsPeer>& tls_peer() const { return tls_peer_; }
  EventLoop* loop() const { return loop_; }
  // A call outlives the batch that read it: it enters the call table
  // (ServerCall's file comment), which holds it until Retire().
  // False once the connection has closed (OnClose ran): nothing would
  // retire the call.
  bool Adopt(std::shared_ptr<ServerCall> call, TcpConnection& conn);
  // A pending call was answered: its id is free again.
  void Retire(const ServerCall* call, TcpConnection& conn);
  // Answers an HTTP call (ServerCall::SetHttp) with `status` and, if OK,
  // its response as JSON or protobuf. Returns the status sent.
  absl::Status AnswerHttp(ServerCall* call, const absl::Status& status);
  // After an HTTP call was answered and retired: serves the requests the
  // client pipelined behind it.
  void ResumeHttp(const TcpConnectionPtr& conn) {
    if (http_ != nullptr) http_->Resume(conn);
  }

  // The memory budget, per connection. A connection's share is an eighth
  // of the budget (at least two largest frames): what its unfinished calls hold, plus a large frame being
  // read (requests) or its buffered output (responses), must fit its share
  // as well as the budget's room, so the largest holders are refused first
  // and one peer cannot take the budget from the others.
  // Bytes held for calls on this connection (negative: released); also
  // charged to the budget.
  void Hold(int64_t bytes);
  // Bytes of this connection's share still free once `also_held` more
  // are counted.
  size_t ShareLeft(size_t also_held) const;
  // Room for a large request frame being read.
  size_t RequestRoom() const;
  // Room for a request of `wire_bytes` (already read) to be held parsed.
  size_t HeldRoom(size_t wire_bytes) const;
  // Room for a large response on `conn`.
  size_t ResponseRoom(const TcpConnection& conn) const;
  // RESOURCE_EXHAUSTED for `what` ("the request of N bytes"), refused for
  // the budget or this connection's share of it.
  absl::Status MemoryError(absl::string_view what,
                           const TcpConnection& conn) const;

  // Spare request and response messages of one method, cleared, so the
  // next call reuses their memory (strings keep their capacity): in steady
  // state a call allocates no message. Loop only.
  class MessagePool {
   public:
    static constexpr size_t kMaxPooled = 64;  // Per kind.
    explicit MessagePool(const ServerMethod* method) : method_(method) {}
    // (Inline: two of each per call.)
    std::unique_ptr<google::protobuf::Message> Take(bool request) {
      auto& spare = request ? requests_ : responses_;
      if (ABSL_PREDICT_FALSE(spare.empty())) return New(request);
      std::unique_ptr<google::protobuf::Message> message =
          std::move(spare.back());
      spare.pop_back();
      return message;
    }
    void Return(bool request,
                std::unique_ptr<google::protobuf::Message> message) {
      auto& spare = request ? requests_ : responses_;
      if (message == nullptr || spare.size() >= kMaxPooled) return;
      message->Clear();
      spare.push_back(std::move(message));
    }

   private:
    std::unique_ptr<google::protobuf::Message> New(bool request) const;

    const ServerMethod* const method_;
    std::vector<std::unique_ptr<google::protobuf::Message>> requests_;
    std::vector<std::unique_ptr<google::protobuf::Message>> responses_;
  };
  // The pool of `method`'s messages; its address is stable.
  MessagePool* PoolFor(const ServerMethod* method) {
    if (method == last_method_ && last_pool_ != nullptr) return last_pool_;
    return FindPool(method);
  }

 private:
  // The first bytes decide the protocol (rpc/protocol_detect.h); false if
  // nothing more is to be done with this input now.
  bool DetectProtocol(const TcpConnectionPtr& conn, Buffer* input);
  // A TLS handshake began: the connection decrypts from now on.
  void StartTls(const TcpConnectionPtr& conn);
  // PoolFor() for another method than the last one's.
  MessagePool* FindPool(const ServerMethod* method);
  // HTTP (rpc/server_http.cc): a request parsed by the session.
  void OnHttpRequest(const TcpConnectionPtr& conn,
                     HttpServerRequest* request) override;
  // Starts a call of `method` from an HTTP request.
  void StartHttpCall(const TcpConnectionPtr& conn, const ServerMethod& method,
                     HttpServerRequest* request);
  // Replies `status` as a JSON error; `refused` marks it kRefusedKey.
  void ReplyHttpError(const TcpConnectionPtr& conn, const absl::Status& status,
                      bool refused = false);

  // Handles one decoded frame; a non-OK status is a protocol error.
  absl::Status HandleFrame(const TcpConnectionPtr& conn, FrameMeta* meta,
                           absl::string_view payload, absl::Time now);
  absl::Status HandleRequest(const TcpConnectionPtr& conn, FrameMeta* meta,
                             absl::string_view payload, absl::Time now);
  void HandleCancel(uint64_t id);
  // A REQUEST too large for max_frame_size or for the memory budget: it is
  // answered RESOURCE_EXHAUSTED and its body skipped. Other frame types
  // that large are a protocol error.
  absl::Status HandleRefused(const TcpConnectionPtr& conn, const FrameMeta& meta,
                             uint32_t body_size);
  // The method `meta` names, or null after answering UNIMPLEMENTED.
  const ServerMethod* FindMethod(const TcpConnectionPtr& conn,
                                 const FrameMeta& meta);
  // Answers `id` with `status` and no call behind it.
  void SendStatus(const TcpConnectionPtr& conn, uint64_t id,
                  const absl::Status& status);
  // The same for a request refused before its method started, marked so
  // (kRefusedKey) that a cluster channel may send it to another server.
  void SendRefusal(const TcpConnectionPtr& conn, uint64_t id,
                   const absl::Status& status);

  // A protocol error: see the file comment.
  void FailConnection(const TcpConnectionPtr& conn, Buffer* input,
                      const absl::Status& error);
  // Closes the connection if a frame has been arriving for longer than
  // frame_timeout (slowloris).
  void CheckFrameTimeout(const TcpConnectionPtr& conn, Buffer* input,
                         bool frame_completed);

  const std::shared_ptr<ServerShared> shared_;
  const std::shared_ptr<LoopHandle> handle_;
  EventLoop* const loop_;
  LoopCounters& counters_;
  FrameMeta meta_;  // Decoding scratch, reused frame after frame.
  FrameSkip skip_;  // A refused frame's body still arriving.
  // When the frame now partly buffered began to arrive (0: none is).
  int64_t partial_since_ms_ = 0;
  // The method the previous request named: consecutive calls to the same
  // method (the common case) compare two strings instead of hashing them.
  const ServerMethod* last_method_ = nullptr;
  absl::node_hash_map<const ServerMethod*, MessagePool> pools_;
  MessagePool* last_pool_ = nullptr;  // last_method_'s.
  absl::flat_hash_map<uint64_t, std::shared_ptr<ServerCall>> calls_;
  int64_t held_ = 0;      // Bytes charged by this connection's calls.
  bool paused_ = false;   // Reading stopped: responses backed up.
  bool closing_ = false;  // After a protocol error: input is discarded.
  bool closed_ = false;   // OnClose ran: no call may enter calls_.
  WireProtocol protocol_ = WireProtocol::kNeedMore;  // Until detected.
  std::unique_ptr<HttpSession> http_;                // When protocol_ is kHttp.
  uint64_t http_calls_ = 0;                          // Ids for HTTP calls.
  std::shared_ptr<const TlsPeer> tls_peer_;  // Once a TLS handshake is done.
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_CONNECTION_H_
