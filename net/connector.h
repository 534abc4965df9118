// Connector: makes (and retries) one outgoing TCP connection: non-blocking
// connect(2), completion via writability, SO_ERROR check, self-connect
// check, a connect timeout, and exponential backoff with jitter between
// attempts.
//
// Internal (TcpClient owns one). Owned by shared_ptr: retry and timeout
// timers hold a weak_ptr, so a dead connector's timers do nothing.
// Start() and Stop() are thread-safe; the rest runs on the loop. Callbacks
// run on the loop.
#ifndef MRPC_NET_CONNECTOR_H_
#define MRPC_NET_CONNECTOR_H_

#include <atomic>
#include <functional>
#include <memory>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/callbacks.h"
#include "net/inet_address.h"
#include "net/io_channel.h"
#include "net/socket.h"

namespace mrpc {

class EventLoop;

class Connector : public std::enable_shared_from_this<Connector> {
 public:
  struct Options {
    // Delay before the first retry; it grows by `backoff_multiplier` per
    // failed attempt up to `max_backoff`. Default: 100 ms.
    absl::Duration initial_backoff = absl::Milliseconds(100);
    // Default: 10 s.
    absl::Duration max_backoff = absl::Seconds(10);
    // Default: 2.
    double backoff_multiplier = 2.0;
    // Each delay is scaled by a random factor in [1 - jitter, 1 + jitter],
    // so clients that lost the same server do not return in lockstep.
    // Default: 0.2.
    double jitter = 0.2;
    // An attempt with no answer (SYN lost, host down) is abandoned after
    // this long and retried. Default: 5 s.
    absl::Duration connect_timeout = absl::Seconds(5);
    // Retry failed attempts. Default: true.
    bool retry = true;
  };
  using NewConnectionCallback = std::function<void(Socket socket)>;
  // Each failed attempt, with the reason (UNAVAILABLE for refused, reset,
  // unreachable; DEADLINE_EXCEEDED for a timeout).
  using ErrorCallback = std::function<void(const absl::Status& status)>;

  // `loop` is not owned and must outlive the connector.
  Connector(EventLoop* loop, const InetAddress& server, const Options& options);
  ~Connector();
  Connector(const Connector&) = delete;
  Connector& operator=(const Connector&) = delete;

  // Set before Start().
  void SetNewConnectionCallback(NewConnectionCallback cb) {
    new_connection_callback_ = std::move(cb);
  }
  void SetErrorCallback(ErrorCallback cb) { error_callback_ = std::move(cb); }

  // Starts connecting. Thread-safe.
  void Start();
  // Connects again at once with the backoff reset (after a connection that
  // worked has closed). Loop thread only.
  void Restart();
  // The connection this connector made failed before it was of use (its
  // TLS handshake failed): reports `status` to the error callback and
  // retries after the backoff, which keeps growing across such failures
  // (a TCP connect alone does not reset it; Restart() does). Loop only.
  void RetryAfterFailure(const absl::Status& status);
  // Abandons any attempt in progress and cancels retries. Thread-safe.
  void Stop();

  const InetAddress& server_address() const { return server_; }
  // Attempts made so far. Thread-safe.
  int attempts() const { return attempts_.load(); }

 private:
  enum class State { kDisconnected, kConnecting, kConnected };

  void StartInLoop();
  void StopInLoop();
  void Connect();
  void WaitForConnect(Socket socket);
  void HandleWrite();
  void HandleTimeout();
  // Ends the current attempt; retries (with backoff) if allowed.
  void Fail(const absl::Status& status, bool retriable);
  // Unregisters the in-progress channel; it is destroyed after the current
  // event handler returns.
  void DropChannel();

  EventLoop* const loop_;
  const InetAddress server_;
  const Options options_;
  std::atomic<bool> wanted_{false};  // Start() called and not Stop()ped.
  std::atomic<int> attempts_{0};

  // Loop-owned.
  State state_ = State::kDisconnected;
  Socket socket_;  // The attempt in progress.
  std::unique_ptr<IoChannel> channel_;
  absl::Duration backoff_;
  TimerId retry_timer_;
  TimerId timeout_timer_;
  absl::BitGen rng_;

  NewConnectionCallback new_connection_callback_;
  ErrorCallback error_callback_;
};

}  // namespace mrpc

#endif  // MRPC_NET_CONNECTOR_H_
