// ServerCall: one call being served, from its REQUEST to its one RESPONSE.
//
// Internal to the server. Shared-owned: by the handler's `done` (until
// called), so a stray or late `done` finds a live object, and by whoever
// is running it, who passes that reference in (`self`; not
// enable_shared_from_this, whose weak count costs two atomic operations per
// call). All methods run on the connection's loop except Finish() (the
// handler's `done`: any thread, once) and the handler itself (loop or
// worker).
//
// Most calls end within the batch of input that read them (an inline
// handler calling `done` before it returns): such a call borrows its
// connection from that batch and never enters the connection's call table.
// A call that outlives its Start() is pending: it takes a reference to its
// TCP connection and its ServerConnection and enters the call table (which
// holds it until it is answered), where CANCEL, the deadline, shutdown and
// the connection's close find it. The fast path so pays no table insert or
// erase and no reference count but `done`'s.
//
// Two things end separately and both must happen:
//   answered      the RESPONSE went out (or the connection is gone). The
//                 correlation id is free from then on. Happens when the
//                 handler finishes, or earlier on CANCEL, at the deadline,
//                 on a protocol error or when the connection closes; the
//                 handler's later result is then dropped.
//   handler done  `done` was called (or the handler never ran). Only then
//                 do the request and response messages go back to the
//                 connection's pool: the handler may still be using them.
#ifndef MRPC_RPC_SERVER_CALL_H_
#define MRPC_RPC_SERVER_CALL_H_

#include <google/protobuf/message.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/callbacks.h"
#include "rpc/concurrency_limiter.h"
#include "rpc/server_connection.h"
#include "rpc/server_context.h"
#include "rpc/server_shared.h"

namespace mrpc {

class ServerCall {
 public:
  // `conn` and `connection` are borrowed: see the file comment.
  ServerCall(const ServerMethod* method, uint64_t id, absl::Time arrival,
             absl::Time deadline, const TcpConnectionPtr& conn,
             ServerConnection* connection, ServerShared* shared,
             LoopHandle* handle);
  ~ServerCall();
  ServerCall(const ServerCall&) = delete;
  ServerCall& operator=(const ServerCall&) = delete;

  ServerContext* context() { return &ctx_; }
  const ServerMethod* method() const { return method_; }
  uint64_t id() const { return id_; }
  bool answered() const { return answered_; }
  // The call came over HTTP (rpc/http/http_session.h): its request is
  // parsed as JSON (`json`) or binary protobuf, and its answer goes to the
  // connection's HTTP session instead of a RESPONSE frame. Before Start().
  void SetHttp(bool json) {
    http_ = true;
    json_ = json;
  }
  // For the HTTP answer: the response (null once released) and whether the
  // handler is done with it and with the response metadata.
  const google::protobuf::Message* response() const { return response_.get(); }
  bool json() const { return json_; }
  // Its TCP connection; pending calls only (HTTP calls always are).
  const TcpConnectionPtr& connection() const { return conn_ref_; }
  bool handler_done() const {
    return handler_done_.load(std::memory_order_acquire);
  }

  // Overload protection: `limiter` admitted the call at `admitted_ns` (the
  // loop's cached clock), as a light caller's if `light`; it is released
  // when the call is answered.
  void SetLimiter(ConcurrencyLimiter* limiter, int64_t admitted_ns,
                  bool light) {
    limiter_ = limiter;
    admitted_ns_ = admitted_ns;
    admitted_light_ = light;
  }
  // Takes the request's metadata (RpcMeta's entries, moved).
  void SetMetadata(Metadata metadata) { ctx_.metadata_ = std::move(metadata); }
  // Runs the interceptors' OnRequest, parses the request, and runs the
  // handler inline or queues it for a worker; any failure answers the call.
  // `conn` is the connection the request came on and `self` the caller's
  // reference to this call; the call is pending (in its connection's table)
  // when this returns unanswered.
  void Start(const TcpConnectionPtr& conn, absl::string_view payload,
             const std::shared_ptr<ServerCall>& self);
  // Answers the call now with `status` (CANCELLED, DEADLINE_EXCEEDED,
  // UNAVAILABLE) and marks it cancelled; a no-op if already answered. The
  // caller holds a reference (answering retires the call from its table).
  void Abort(const absl::Status& status);
  // The connection is gone: marks the call cancelled and retires it
  // without an answer.
  void Disconnected();

  // The handler's `done`: any thread, once. `self`: the caller's reference.
  void Finish(absl::Status status, const std::shared_ptr<ServerCall>& self);

 private:
  // Worker-pool hand-off: who gets the call first, the worker or a cancel.
  enum RunState : int { kNotQueued, kQueued, kStarted, kSkipped };

  void Run(const std::shared_ptr<ServerCall>& self);
  // The call outlives Start(): takes its references and enters the call
  // table (loop only, within Start()). False if the connection closed
  // meanwhile: the call is then retired as Disconnected().
  bool Pend(const TcpConnectionPtr& conn,
            const std::shared_ptr<ServerCall>& self);
  // Takes the skipped call off the worker queue (loop only).
  void Unqueue();
  void OnHandlerDone();
  void ArmDeadline(const std::shared_ptr<ServerCall>& self);
  void OnDeadline();
  // Sends the RESPONSE (if the connection is up) and retires the call.
  void Answer(const absl::Status& status);
  // The uncommon answer: an error, or response metadata. Returns the
  // status sent (RESOURCE_EXHAUSTED if the metadata is past the limits).
  absl::Status SendWithMetadata(const absl::Status& status);
  void ReleaseMessages();
  // Charges the request held for the handler (its parsed size, estimated)
  // to the connection's share of the memory budget (and so to the budget).
  void ChargeHeld(size_t request_bytes);
  // The request's parsed size, estimated (rpc/wire_cost.h); stops soon
  // after passing `limit`.
  size_t CountParsedBytes(absl::string_view payload, size_t limit) const;
  // Encodes the RESPONSE for `status` (with `metadata`, may be null) into
  // the connection's output. A response over max_frame_size, or over 64 KiB
  // while the memory budget has no room for it, is replaced by
  // RESOURCE_EXHAUSTED; returns the status sent.
  absl::Status SendResponse(const absl::Status& status,
                            const Metadata* metadata);
  // Tells the limiter that admitted the call it was answered with `sent`,
  // and counts the answer in the method's statistics.
  void ReleaseAdmission(const absl::Status& sent, int64_t now_ns);
  // Keeps the call for /rpcz if it was slow or failed (the test inline,
  // the rest out of line: the fast path pays a compare or two).
  void MaybeKeepForRpcz(const absl::Status& sent, int64_t now_ns) {
    if (ABSL_PREDICT_FALSE(
            shared_->rpcz.Wants(now_ns - arrival_ns_, sent.ok()))) {
      KeepForRpcz(sent, now_ns);
    }
  }
  void KeepForRpcz(const absl::Status& sent, int64_t now_ns);

  const InetAddress peer_;  // A copy: a late `done` may outlive the connection.
  ServerContext ctx_;
  const ServerMethod* const method_;
  const uint64_t id_;
  const absl::Time arrival_;
  const int64_t arrival_ns_;  // The loop's clock when the request was read.
  // The connection's pool of this method's messages (connection_, which
  // owns it, outlives the call).
  ServerConnection::MessagePool* const pool_;
  std::unique_ptr<google::protobuf::Message> request_;
  std::unique_ptr<google::protobuf::Message> response_;
  // Borrowed from the batch that read the request until the call is
  // pending; then alive through conn_ref_ and connection_ref_.
  TcpConnection* const conn_;
  ServerConnection* const connection_;
  ServerShared* const shared_;  // Held by connection_.
  LoopHandle* const handle_;    // Owned by connection_.
  TcpConnectionPtr conn_ref_;   // Set by Pend().
  std::shared_ptr<ServerConnection> connection_ref_;
  bool pending_ = false;  // In the call table (Pend() to its answer).
  std::atomic<bool> handler_done_{false};
  std::atomic<int> run_state_{kNotQueued};
  absl::Status status_;  // Written by Finish, read by OnHandlerDone.
  // Loop only.
  bool answered_ = false;
  bool started_ = false;  // The handler was (or will be) invoked.
  size_t admitted_ = 0;   // Interceptors whose OnRequest ran.
  int64_t start_ns_ = 0;  // With interceptors: when they first saw it.
  TimerId deadline_timer_;
  // Bytes charged to the memory budget while the call outlives the batch
  // that read it (its request, held for the handler).
  int64_t charge_ = 0;
  // Large messages are freed, not pooled: an idle connection must not keep
  // the memory of its largest call.
  bool pool_messages_ = true;
  bool http_ = false;  // See SetHttp().
  bool json_ = false;
  uint64_t task_id_ = 0;  // Its worker queue entry while kQueued.
  ConcurrencyLimiter* limiter_ = nullptr;  // The loop's; outlives the call.
  int64_t admitted_ns_ = 0;
  bool admitted_light_ = false;
  // For /rpcz's phases (the monotonic clock, ns). The handler's start: the
  // arrival for an inline handler (it runs in the batch that read the
  // request), a clock read on the worker; 0 until it starts. Its `done`:
  // a clock read in Finish(), except when the handler calls `done` before
  // returning on the loop (the answer's own clock read then stands for it);
  // 0 until then. Atomic: an Abort on the loop may read them while a
  // worker writes.
  std::atomic<int64_t> handler_start_ns_{0};
  std::atomic<int64_t> done_ns_{0};
  uint64_t request_bytes_ = 0;
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_CALL_H_
