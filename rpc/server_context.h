// ServerContext: what a server handler knows about the call it is serving:
// the caller's deadline, whether the call was cancelled, the peer, and the
// loop it runs on.
//
// Public. Created by the server for each call and valid until the handler's
// `done` has been called. deadline(), RemainingTime(), IsCancelled() and the
// accessors are thread-safe (a worker-pool handler reads them off the loop).
//
// Example (inside a handler):
//   if (ctx->RemainingTime() < absl::Milliseconds(5)) {
//     done(absl::DeadlineExceededError("not enough time left"));
//     return;
//   }
#ifndef MRPC_RPC_SERVER_CONTEXT_H_
#define MRPC_RPC_SERVER_CONTEXT_H_

#include <atomic>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/inet_address.h"

namespace mrpc {

class EventLoop;

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
  // True once the client cancelled, its connection closed, or the server is
  // shutting down: the response will not be delivered, so stop working.
  bool IsCancelled() const {
    return cancelled_.load(std::memory_order_acquire);
  }

  const std::string& service() const { return service_; }
  const std::string& method() const { return method_; }
  const InetAddress& peer() const { return peer_; }
  // The event loop of the caller's connection: for timers that finish the
  // call later (loop()->RunAfter(...)). A Channel placed on this loop
  // (ChannelOptions::loop) saves a thread hop on chained calls, but must be
  // destroyed before the server stops its loops.
  EventLoop* loop() const { return loop_; }

  // For the server: marks the call cancelled.
  void MarkCancelled() { cancelled_.store(true, std::memory_order_release); }

 private:
  const std::string& service_;
  const std::string& method_;
  const InetAddress& peer_;
  const absl::Time deadline_;
  EventLoop* const loop_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_CONTEXT_H_
