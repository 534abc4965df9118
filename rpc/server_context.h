// ServerContext: what a server handler knows about the call it is serving:
// the caller's deadline, whether the call was cancelled, the peer, the
// request metadata and trace, and the loop it runs on; and what it sends
// back beside the response (response metadata).
//
// Public. Created by the server for each call and valid until the handler's
// `done` has been called. deadline(), RemainingTime(), IsCancelled(),
// NotifyOnCancel() and the name/peer accessors are thread-safe (a
// worker-pool handler reads them off the loop). metadata(), trace() and
// AddResponseMetadata() belong to the handler (and to interceptors before
// it): call them from one thread at a time.
//
// Cancellation: the call is cancelled when the client sends CANCEL, when
// its deadline passes, when its connection closes, or when the server shuts
// down. The server answers the caller at that moment (CANCELLED,
// DEADLINE_EXCEEDED) or cannot answer at all (connection gone); whatever the
// handler then passes to `done` is dropped, so stop working.
//
// Example (inside a handler):
//   if (ctx->RemainingTime() < absl::Milliseconds(5)) {
//     done(absl::DeadlineExceededError("not enough time left"));
//     return;
//   }
//   ctx->NotifyOnCancel([job] { job->Abandon(); });
#ifndef MRPC_RPC_SERVER_CONTEXT_H_
#define MRPC_RPC_SERVER_CONTEXT_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "net/inet_address.h"
#include "net/tls_peer.h"
#include "rpc/metadata.h"
#include "rpc/trace.h"

namespace mrpc {

class EventLoop;
class ServerCall;

class ServerContext {
 public:
  // `service`, `method` and `peer` are not copied: they must outlive the
  // context (the server's method table and the connection do).
  ServerContext(const std::string& service, const std::string& method,
                const InetAddress& peer, absl::Time deadline, EventLoop* loop)
      : service_(service),
        method_(method),
        peer_(peer),
        deadline_(deadline),
        loop_(loop) {}
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // The caller's deadline (sent as a relative timeout, taken from when the
  // request arrived); absl::InfiniteFuture() if it set none.
  absl::Time deadline() const { return deadline_; }
  // Time left until the deadline (negative once past).
  absl::Duration RemainingTime() const { return deadline_ - absl::Now(); }
  // True once the call was cancelled (see the file comment): the response
  // will not be delivered, so stop working.
  bool IsCancelled() const {
    return cancelled_.load(std::memory_order_acquire);
  }
  // Runs `callback` once when the call is cancelled, on the connection's
  // loop; at once, on this thread, if it already is. Never runs after the
  // handler's `done` has been called and the call answered normally. One
  // callback per call; a second replaces the first.
  void NotifyOnCancel(absl::AnyInvocable<void()> callback);

  const std::string& service() const { return service_; }
  const std::string& method() const { return method_; }
  const InetAddress& peer() const { return peer_; }
  // The connection's TLS: protocol, cipher, SNI and, if the client
  // presented a certificate that verified (ServerOptions::tls.ca_file), its
  // identity: subject and subjectAltNames (docs/guide.md, "Mutual TLS").
  // Null for a plaintext connection.
  const TlsPeer* tls() const { return tls_.get(); }
  // The event loop of the caller's connection: for timers that finish the
  // call later (loop()->RunAfter(...)). A Channel placed on this loop
  // (ChannelOptions::loop) saves a thread hop on chained calls, but must be
  // destroyed before the server stops its loops.
  EventLoop* loop() const { return loop_; }

  // The request's metadata, in the order sent.
  const Metadata& metadata() const { return metadata_; }
  // Appends response metadata, sent with the response (or the error).
  // INVALID_ARGUMENT for a malformed or reserved key.
  absl::Status AddResponseMetadata(absl::string_view key,
                                   absl::string_view value);
  const Metadata& response_metadata() const { return response_metadata_; }

  // The trace this call belongs to: the caller's traceparent if it sent a
  // valid one (span_id is then the caller's span), else a new trace started
  // here on first use. ClientContext::set_parent() continues it.
  const TraceContext& trace() const;

 private:
  friend class ServerCall;
  // Marks the call cancelled and runs the NotifyOnCancel callback; false if
  // it already was.
  bool MarkCancelled();
  // The handler is done: a later cancellation runs no callback.
  void DropCancelCallback();

  const std::string& service_;
  const std::string& method_;
  const InetAddress& peer_;
  const absl::Time deadline_;
  EventLoop* const loop_;
  std::atomic<bool> cancelled_{false};
  // Set once a callback was registered: spares the common call the lock.
  std::atomic<bool> has_cancel_callback_{false};
  // Guards on_cancel_ only; std::mutex keeps this public header free of
  // mrpc's internal lock wrappers.
  std::mutex cancel_mutex_;
  absl::AnyInvocable<void()> on_cancel_;
  Metadata metadata_;
  Metadata response_metadata_;
  mutable absl::optional<TraceContext> trace_;
  std::shared_ptr<const TlsPeer> tls_;  // Set by the server; null: plaintext.
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_CONTEXT_H_
