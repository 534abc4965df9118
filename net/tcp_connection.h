// TcpConnection: one established TCP connection, owned by shared_ptr and
// driven by the event loop it was assigned to.
//
// Internal (rpc/ builds its server and channel on it). Threading: Send(),
// Shutdown(), ForceClose() and the const accessors marked so are thread-safe;
// everything else runs on the connection's loop (asserted). Callbacks run on
// the loop.
//
// Lifetime: the owner (TcpServer or TcpClient) holds the shared_ptr while the
// connection is up and drops it from the close callback; the channel's weak
// tie keeps the object alive while its own event handler runs, and queued
// tasks hold shared_from_this(). Timers hold a weak_ptr.
//
// States: kConnecting -> kConnected -> (kDisconnecting: Shutdown() waits for
// the output to drain) -> kDisconnected.
//
// Reading: read() == 0 means the peer half-closed; pending output is still
// flushed (and calls the layer above marked busy are let finish) before the
// connection closes. Writing: Send() writes straight to the socket when
// nothing is queued; what the kernel does not take waits in the output
// buffer. Sends made inside the message callback are coalesced into one
// write after it returns. Writes use MSG_NOSIGNAL, so a closed peer can
// never raise SIGPIPE.
//
// TLS: StartTls() puts a TlsSession (net/tls_session.h) between the socket
// and the buffers. The message callback then sees decrypted bytes and
// Send() takes plaintext; output_bytes() counts both the plaintext waiting
// for the handshake and the records waiting for the socket. Shutdown()
// sends close_notify first.
#ifndef MRPC_NET_TCP_CONNECTION_H_
#define MRPC_NET_TCP_CONNECTION_H_

#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/buffer.h"
#include "net/callbacks.h"
#include "net/inet_address.h"
#include "net/io_channel.h"
#include "net/socket.h"

namespace mrpc {

class EventLoop;
class MemoryBudget;
class TlsSession;

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  struct Options {
    // Output bytes at which the high-water-mark callback fires (once per
    // crossing). The layer above typically stops reading until the output
    // drains. Default: 64 MiB.
    size_t high_water_mark = size_t{64} << 20;
    // Output bytes past which the connection is reset (a reader this slow
    // is treated as dead, so memory stays bounded). 0: no cap.
    // Default: 256 MiB.
    size_t max_output_bytes = size_t{256} << 20;
    // Disable Nagle's algorithm: RPC messages go out at once. Default: true.
    bool tcp_nodelay = true;
    // Register the socket edge-triggered (read/write until EAGAIN) instead of
    // level-triggered. docs/design.md has the measurement. Default: false.
    bool edge_triggered = false;
    // Close the connection after this long without inbound bytes, unless the
    // layer above marks it busy. Zero: never. Default: zero.
    absl::Duration idle_timeout = absl::ZeroDuration();
    // Close the connection, with a reset, when output has been pending this
    // long without a single byte drained (the peer stopped reading),
    // whether or not the layer above marks it busy. Bytes the kernel's
    // socket buffer drains count (checked when the timer fires), so the
    // close comes one to two timeouts after the peer last took a byte.
    // Zero: never. Default: zero.
    absl::Duration output_stall_timeout = absl::ZeroDuration();
    // Charged with the bytes allocated for this connection's buffers, as
    // they grow and shrink, until ConnectDestroyed(). Not owned; must
    // outlive ConnectDestroyed(). Null: not counted. Default: null.
    MemoryBudget* memory_budget = nullptr;
  };

  // Why the connection closed; for logs and counters.
  enum class CloseReason {
    kNone,            // Still open.
    kPeerClosed,      // Orderly close (FIN) by the peer.
    kError,           // A socket error (reset, timeout, ...).
    kIdleTimeout,     // Silent for longer than idle_timeout.
    kOutputOverflow,  // Output buffer past max_output_bytes.
    kLocalClose,      // ForceClose() or Shutdown() on this side.
    kOutputStalled,   // Output pending, none drained for output_stall_timeout.
    kTlsError,        // A TLS failure (handshake, record, timeout): tls_error().
  };
  static constexpr int kNumCloseReasons = 8;
  static const char* CloseReasonName(CloseReason reason);

  // `loop` is not owned and must outlive the connection. Call
  // ConnectEstablished() on the loop to start it.
  TcpConnection(EventLoop* loop, uint64_t id, Socket socket,
                const InetAddress& local_address,
                const InetAddress& peer_address, const Options& options);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Sends bytes; on the loop thread without copying what the kernel takes at
  // once, from other threads after one copy. Thread-safe.
  void Send(absl::string_view data);
  // Sends and empties *data; no copy of the bytes from any thread.
  // Thread-safe.
  void Send(Buffer* data);
  // Appends to the output buffer in place (how a codec encodes a frame
  // without an intermediate copy), then sends. Loop thread only.
  void SendInPlace(absl::FunctionRef<void(Buffer*)> fill);
  // Half-close: stop writing once the output drains; reading goes on until
  // the peer closes. Thread-safe.
  void Shutdown();
  // Closes now, dropping unsent output. Thread-safe.
  void ForceClose();
  // As ForceClose(), with a reason for logs. Loop thread only.
  void ForceCloseInLoop(CloseReason reason = CloseReason::kLocalClose);

  // Runs once, on the loop, when a StartTls() handshake ends: OK, or why it
  // failed (the connection then closes, kTlsError; a close for any other
  // reason before the handshake ends reports that too).
  using TlsHandshakeCallback =
      std::function<void(const TcpConnectionPtr&, const absl::Status&)>;
  // From now on the bytes on the wire are TLS records (see the file
  // comment). Bytes already in the input buffer are taken as the peer's
  // first TLS bytes (a server that recognized a ClientHello in them); a
  // client session sends its ClientHello at once. The handshake must end
  // within `timeout` (zero: no limit). Plaintext sent before it ends waits.
  // May be called inside the message callback. Loop thread only.
  void StartTls(std::unique_ptr<TlsSession> session, absl::Duration timeout,
                TlsHandshakeCallback done);
  // The TLS session, or null for a plaintext connection. Loop thread only.
  const TlsSession* tls() const;
  // Why the connection failed with kTlsError. Loop thread only.
  const std::string& tls_error() const { return tls_error_; }

  // Stop and resume reading (backpressure). Loop thread only.
  void StopRead();
  void StartRead();
  bool reading() const { return reading_; }
  // Calls in flight: a busy connection is never idle-closed, and a
  // half-closed one waits for it to become idle. Loop thread only.
  void SetBusy(bool busy);

  // Thread-safe.
  bool connected() const { return state_.load() == State::kConnected; }
  bool disconnected() const { return state_.load() == State::kDisconnected; }
  uint64_t id() const { return id_; }
  EventLoop* loop() const { return loop_; }
  const InetAddress& local_address() const { return local_address_; }
  const InetAddress& peer_address() const { return peer_address_; }
  // "#<id> <peer>" for logs.
  const std::string& name() const { return name_; }

  // Loop thread only.
  size_t output_bytes() const { return OutputBytes(); }
  size_t input_bytes() const { return input_.ReadableBytes(); }
  // The bytes read and not yet consumed, for a protocol that resumes
  // parsing outside the message callback. Loop only.
  Buffer* input_buffer() { return &input_; }
  // Bytes allocated for the input and output buffers.
  size_t buffer_capacity() const;
  uint64_t bytes_received() const { return bytes_received_; }
  uint64_t bytes_sent() const { return bytes_sent_; }
  CloseReason close_reason() const { return close_reason_; }
  // A slot for the layer above's per-connection state.
  std::any& context() { return context_; }

  // Set before ConnectEstablished() (or, for a TLS client that reports "up"
  // only after its handshake, before StartTls's callback returns).
  void SetConnectionCallback(ConnectionCallback cb) {
    connection_callback_ = std::move(cb);
  }
  void SetMessageCallback(MessageCallback cb) {
    message_callback_ = std::move(cb);
  }
  void SetWriteCompleteCallback(WriteCompleteCallback cb) {
    write_complete_callback_ = std::move(cb);
  }
  void SetHighWaterMarkCallback(HighWaterMarkCallback cb) {
    high_water_mark_callback_ = std::move(cb);
  }
  void SetCloseCallback(CloseCallback cb) { close_callback_ = std::move(cb); }

  // For the owner, on the loop: start (registers with epoll, reports "up").
  void ConnectEstablished();
  // For the owner, on the loop, last: unregisters and closes the socket
  // (reports "down" first if the connection was still up, e.g. the server
  // is stopping).
  void ConnectDestroyed();

 private:
  enum class State { kConnecting, kConnected, kDisconnecting, kDisconnected };
  struct Tls;  // The session, its buffers and handshake state.

  void HandleRead();
  void HandleWrite();
  void HandleClose(CloseReason reason);
  void HandleError();
  void HandleSocketError(int err, const char* operation);
  // A failure found while sending (a write error, the output cap): the
  // connection closes from the loop's queue, not inside the Send() that
  // found it, so no close callback re-enters a caller mid-Send (a channel
  // still starting the call it is sending). Sends until then are dropped.
  void CloseSoon(CloseReason reason);
  void HandlePeerClosed();
  void SendInLoop(const char* data, size_t length);
  // Takes the bytes the caller appended to output_ (from `old_size` on)
  // through the cap and high-water checks. False if the connection closed.
  bool AcceptOutput(size_t old_size);
  void Flush();
  void OnOutputDrained();
  void ShutdownInLoop();
  void MaybeFinishHalfClose();
  void ArmIdleTimer(int64_t delay_ms);
  void HandleIdleTimer();
  // Output is left pending after a write attempt: watch that it drains.
  void WatchOutputStall();
  void ArmStallTimer(absl::Duration delay);
  void HandleStallTimer();
  // Brings the memory budget's charge in line with the buffers' capacity.
  void UpdateCharge();
  // Output not yet on the wire: records, and plaintext not yet encrypted.
  size_t OutputBytes() const;
  // TLS: decrypts what the socket delivered into input_. False if the
  // connection closed.
  bool ReceiveTls(bool* peer_closed);
  // TLS: encrypts the pending plaintext into output_ (once the handshake is
  // done). False if the connection closed.
  bool EncryptPending();
  // TLS: the handshake ended (OK) or the connection fails with `status`.
  void FinishHandshake(const absl::Status& status);
  void FailTls(const absl::Status& status);
  // TLS: a write failed (the peer reset the connection; HandleError() does
  // the same for EPOLLERR through HandleRead()).
  // Reads and decrypts what it sent before: a TLS 1.3 server that refuses
  // this client's certificate resets right after its alert, and the alert
  // says why. Non-OK: that TLS error.
  absl::Status ReadTlsAlert();
  // TLS: the peer sent close_notify. Sends what is owed and close_notify
  // back, then closes as for a peer's FIN.
  void AnswerCloseNotify();

  EventLoop* const loop_;
  const uint64_t id_;
  Socket socket_;
  IoChannel channel_;
  const InetAddress local_address_;
  const InetAddress peer_address_;
  const std::string name_;
  const Options options_;
  std::atomic<State> state_{State::kConnecting};

  // Loop-owned.
  Buffer input_;
  Buffer output_;
  bool reading_ = false;
  bool in_message_callback_ = false;
  bool peer_closed_ = false;
  bool close_queued_ = false;  // CloseSoon() ran; the close is queued.
  bool busy_ = false;
  int64_t last_active_ms_ = 0;
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
  TimerId idle_timer_;
  TimerId stall_timer_;  // Armed while output is pending (stall timeout set).
  int64_t last_drain_ms_ = 0;  // Output last made progress (or was queued).
  int64_t kernel_queued_ = -1;  // Socket's queued output at the last check.
  MemoryBudget* budget_;  // Null once ConnectDestroyed() released the charge.
  size_t charged_ = 0;    // Bytes charged to budget_.
  CloseReason close_reason_ = CloseReason::kNone;
  std::unique_ptr<Tls> tls_;  // Null: plaintext.
  std::string tls_error_;
  std::any context_;

  ConnectionCallback connection_callback_;
  MessageCallback message_callback_;
  WriteCompleteCallback write_complete_callback_;
  HighWaterMarkCallback high_water_mark_callback_;
  CloseCallback close_callback_;
};

}  // namespace mrpc

#endif  // MRPC_NET_TCP_CONNECTION_H_
