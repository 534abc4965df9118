#include "net/tcp_connection.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/memory_budget.h"
#include "net/tls_session.h"

namespace mrpc {
namespace {

// After a burst, buffers larger than this are given back when they empty,
// so an idle connection costs little memory.
constexpr size_t kShrinkAbove = 64 * 1024;
// A connection's buffers start small: reads go through a 64 KiB stack spill
// area anyway (Buffer::ReadFd), so the initial size does not limit
// throughput; it is what each of 10,000 quiet connections keeps. Busy
// connections grow theirs as needed.
constexpr size_t kInitialBufferSize = 256;
// What a TLS session's own state (OpenSSL's SSL object and, while busy,
// its record buffers) is charged to the memory budget: an estimate, since
// OpenSSL allocates it out of sight.
constexpr size_t kTlsSessionCharge = 16 * 1024;

}  // namespace

struct TcpConnection::Tls {
  std::unique_ptr<TlsSession> session;
  Buffer wire_in{kInitialBufferSize};    // Records read, not yet decrypted.
  Buffer plain_out{kInitialBufferSize};  // Plaintext, not yet encrypted.
  TlsHandshakeCallback done;             // Until the handshake ends.
  TimerId timer;                         // The handshake's deadline.
};

const char* TcpConnection::CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kNone:
      return "open";
    case CloseReason::kPeerClosed:
      return "closed by peer";
    case CloseReason::kError:
      return "socket error";
    case CloseReason::kIdleTimeout:
      return "idle timeout";
    case CloseReason::kOutputOverflow:
      return "output buffer overflow";
    case CloseReason::kLocalClose:
      return "closed locally";
    case CloseReason::kOutputStalled:
      return "output stalled";
    case CloseReason::kTlsError:
      return "TLS error";
  }
  return "?";
}

TcpConnection::TcpConnection(EventLoop* loop, uint64_t id, Socket socket,
                             const InetAddress& local_address,
                             const InetAddress& peer_address,
                             const Options& options)
    : loop_(loop),
      id_(id),
      socket_(std::move(socket)),
      channel_(loop, socket_.fd()),
      local_address_(local_address),
      peer_address_(peer_address),
      name_(absl::StrCat("#", id, " ", peer_address.ToString())),
      options_(options),
      input_(kInitialBufferSize),
      output_(kInitialBufferSize),
      budget_(options.memory_budget) {
  channel_.SetReadCallback([this] { HandleRead(); });
  channel_.SetWriteCallback([this] { HandleWrite(); });
  channel_.SetCloseCallback([this] { HandleClose(CloseReason::kPeerClosed); });
  channel_.SetErrorCallback([this] { HandleError(); });
  channel_.SetEdgeTriggered(options_.edge_triggered);
  if (options_.tcp_nodelay) {
    absl::Status status = socket_.SetTcpNoDelay(true);
    if (!status.ok())  // E.g. ENOTCONN: the peer reset first.
      MRPC_PEER_LOG(WARNING, "tcp socket call failed", peer_address_)
          << "connection " << name_ << ": " << status;
  }
}

TcpConnection::~TcpConnection() {
  const State state = state_.load();
  CHECK(state == State::kDisconnected || state == State::kConnecting)
      << "connection " << name_ << " destroyed while open";
  CHECK(!channel_.in_poller())
      << "connection " << name_ << " destroyed before ConnectDestroyed()";
}

void TcpConnection::ConnectEstablished() {
  loop_->AssertInLoopThread();
  CHECK(state_.load() == State::kConnecting);
  state_ = State::kConnected;
  channel_.Tie(shared_from_this());
  reading_ = true;
  last_active_ms_ = loop_->CachedNowMs();
  channel_.EnableReading();
  // Edge-triggered: register for writability once; it is reported only on
  // transitions, so it costs nothing while the socket stays writable.
  if (options_.edge_triggered) channel_.EnableWriting();
  if (options_.idle_timeout > absl::ZeroDuration()) {
    ArmIdleTimer(absl::ToInt64Milliseconds(options_.idle_timeout));
  }
  if (connection_callback_) connection_callback_(shared_from_this());
}

void TcpConnection::ConnectDestroyed() {
  loop_->AssertInLoopThread();
  if (state_.load() != State::kDisconnected) {
    state_ = State::kDisconnected;
    if (close_reason_ == CloseReason::kNone)
      close_reason_ = CloseReason::kLocalClose;
    channel_.DisableAll();
    loop_->Cancel(idle_timer_);
    loop_->Cancel(stall_timer_);
    if (tls_ != nullptr && tls_->done != nullptr) {
      FinishHandshake(
          absl::UnavailableError("connection closed during the TLS handshake"));
    }
    if (connection_callback_) connection_callback_(shared_from_this());
  }
  channel_.Remove();
  // Nothing reads or writes from now on: the buffers' memory goes back now,
  // and so does their charge (the object may outlive the budget's owner).
  if (input_.Capacity() + output_.Capacity() >= kTrimAfterFreeing) {
    TrimFreedMemorySoon(loop_);
  }
  input_.RetrieveAll();
  input_.Shrink(0);
  output_.RetrieveAll();
  output_.Shrink(0);
  if (tls_ != nullptr) {
    loop_->Cancel(tls_->timer);
    tls_->session.reset();  // The peer identity was copied by whoever needs it.
    tls_->wire_in.RetrieveAll();
    tls_->wire_in.Shrink(0);
    tls_->plain_out.RetrieveAll();
    tls_->plain_out.Shrink(0);
  }
  UpdateCharge();
  budget_ = nullptr;
  // Close the fd now, not when the last reference goes: whoever still holds
  // a TcpConnectionPtr must not keep the socket (and the peer) hanging.
  // Only after Remove(): a closed fd number can be reused at once, and
  // EPOLL_CTL_DEL on it would unregister a stranger.
  socket_ = Socket();
}

void TcpConnection::HandleRead() {
  loop_->AssertInLoopThread();
  // Edge-triggered events arrive even while reading is paused; the data
  // waits in the kernel until StartRead().
  while (reading_ && !close_queued_ && state_.load() != State::kDisconnected) {
    Buffer* const target = tls_ == nullptr ? &input_ : &tls_->wire_in;
    const size_t writable = target->WritableBytes();
    const size_t capacity =
        writable +
        (writable < Buffer::kReadSpillSize ? Buffer::kReadSpillSize : 0);
    int err = 0;
    const ssize_t n = target->ReadFd(socket_.fd(), &err);
    if (n > 0) {
      bytes_received_ += n;
      last_active_ms_ = loop_->CachedNowMs();
      bool tls_closed = false;
      if (tls_ != nullptr) {
        const size_t before = input_.ReadableBytes();
        if (!ReceiveTls(&tls_closed)) return;
        if (input_.ReadableBytes() == before) {  // Handshake bytes only.
          if (tls_closed) {
            AnswerCloseNotify();
            return;
          }
          Flush();
          UpdateCharge();
          if (!options_.edge_triggered || static_cast<size_t>(n) < capacity)
            return;
          continue;
        }
      }
      in_message_callback_ = true;
      message_callback_(shared_from_this(), &input_);
      in_message_callback_ = false;
      if (input_.ReadableBytes() == 0 && input_.Capacity() > kShrinkAbove) {
        if (input_.Capacity() >= kTrimAfterFreeing) TrimFreedMemorySoon(loop_);
        input_.Shrink(kInitialBufferSize);
      }
      Flush();
      UpdateCharge();
      if (tls_closed) {  // close_notify: the peer sends nothing more.
        AnswerCloseNotify();
        return;
      }
      // Level-triggered: epoll reports what is left. Edge-triggered: a read
      // shorter than the room offered proves the socket is drained.
      if (!options_.edge_triggered || static_cast<size_t>(n) < capacity) return;
    } else if (n == 0) {
      HandlePeerClosed();
      return;
    } else {
      if (err != EAGAIN && err != EINTR) HandleSocketError(err, "read");
      return;
    }
  }
}

void TcpConnection::HandlePeerClosed() {
  if (state_.load() == State::kDisconnected) return;
  peer_closed_ = true;
  reading_ = false;
  if (tls_ != nullptr && tls_->done != nullptr) {
    FailTls(absl::UnavailableError(
        "the peer closed the connection during the TLS handshake"));
    return;
  }
  if (OutputBytes() == 0 && !busy_) {
    HandleClose(CloseReason::kPeerClosed);
    return;
  }
  // Half-closed: keep writing what is owed, then close (OnOutputDrained,
  // SetBusy). Stop reading: end-of-stream stays readable forever.
  if (!options_.edge_triggered) channel_.DisableReading();
}

void TcpConnection::HandleWrite() {
  loop_->AssertInLoopThread();
  Flush();
}

void TcpConnection::Flush() {
  if (close_queued_ || state_.load() == State::kDisconnected) return;
  if (tls_ != nullptr && !EncryptPending()) return;
  if (output_.ReadableBytes() == 0) return;
  bool drained = false;
  while (output_.ReadableBytes() > 0) {
    const ssize_t n = ::send(socket_.fd(), output_.Peek(),
                             output_.ReadableBytes(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes_sent_ += n;
      drained = true;
      output_.Retrieve(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      const int err = errno;
      if (tls_ != nullptr) {
        absl::Status alert = ReadTlsAlert();
        if (!alert.ok()) {  // Closed inside a send: from the queue.
          tls_error_ = std::string(alert.message());
          MRPC_PEER_LOG(WARNING, "tls error", peer_address_)
              << "connection " << name_ << ": " << alert.message()
              << "; closing";
          CloseSoon(CloseReason::kTlsError);
          return;
        }
      }
      MRPC_PEER_LOG(WARNING, "tcp write error", peer_address_)
          << "connection " << name_ << ": write: " << std::strerror(err)
          << "; closing";
      CloseSoon(CloseReason::kError);
      return;
    }
    break;  // EAGAIN: the socket buffer is full.
  }
  // The stall clock, while it runs, restarts at each drain. The real time,
  // not the loop's cached one: this iteration may have run for a while.
  if (drained && stall_timer_.valid()) last_drain_ms_ = MonotonicMillis();
  if (output_.ReadableBytes() > 0) {
    if (!options_.edge_triggered && !channel_.IsWriting())
      channel_.EnableWriting();
    WatchOutputStall();
    return;
  }
  if (!options_.edge_triggered && channel_.IsWriting())
    channel_.DisableWriting();
  // TLS: plaintext still waiting for the handshake is not drained.
  if (tls_ == nullptr || tls_->plain_out.ReadableBytes() == 0)
    OnOutputDrained();
}

void TcpConnection::OnOutputDrained() {
  if (output_.Capacity() > kShrinkAbove) {
    if (output_.Capacity() >= kTrimAfterFreeing) TrimFreedMemorySoon(loop_);
    output_.Shrink(0);
    UpdateCharge();
  }
  if (write_complete_callback_) {
    loop_->QueueInLoop([self = shared_from_this()] {
      if (self->write_complete_callback_) self->write_complete_callback_(self);
    });
  }
  if (state_.load() == State::kDisconnecting) {
    absl::Status status = socket_.ShutdownWrite();
    if (!status.ok())  // E.g. ENOTCONN: the peer reset first.
      MRPC_PEER_LOG(WARNING, "tcp socket call failed", peer_address_)
          << "connection " << name_ << ": " << status;
  }
  if (peer_closed_) MaybeFinishHalfClose();
}

void TcpConnection::Send(absl::string_view data) {
  if (state_.load() != State::kConnected) return;
  if (loop_->IsInLoopThread()) {
    SendInLoop(data.data(), data.size());
  } else {
    loop_->QueueInLoop([self = shared_from_this(), copy = std::string(data)] {
      self->SendInLoop(copy.data(), copy.size());
    });
  }
}

void TcpConnection::Send(Buffer* data) {
  if (state_.load() != State::kConnected) return;
  if (loop_->IsInLoopThread()) {
    SendInLoop(data->Peek(), data->ReadableBytes());
    data->RetrieveAll();
  } else {
    auto taken = std::make_unique<Buffer>(0);
    taken->Swap(*data);
    loop_->QueueInLoop([self = shared_from_this(), taken = std::move(taken)] {
      self->SendInLoop(taken->Peek(), taken->ReadableBytes());
    });
  }
}

void TcpConnection::SendInLoop(const char* data, size_t length) {
  loop_->AssertInLoopThread();
  const State state = state_.load();
  if (close_queued_) return;
  if (state == State::kDisconnected || state == State::kDisconnecting) {
    MRPC_PEER_LOG(WARNING, "tcp send after close", peer_address_)
        << "connection " << name_ << ": dropping a send after close/shutdown";
    return;
  }
  if (tls_ != nullptr) {
    const size_t old_size = OutputBytes();
    tls_->plain_out.Append(data, length);
    if (!AcceptOutput(old_size)) return;
    if (!in_message_callback_) {
      Flush();
      UpdateCharge();
    }
    return;
  }
  size_t written = 0;
  // Nothing queued and not inside the message callback (which coalesces):
  // try the socket directly, so the common case copies nothing.
  if (output_.ReadableBytes() == 0 && !in_message_callback_) {
    const ssize_t n = ::send(socket_.fd(), data, length, MSG_NOSIGNAL);
    if (n >= 0) {
      written = n;
      bytes_sent_ += n;
      if (written == length) {
        OnOutputDrained();
        return;
      }
    } else if (errno != EAGAIN && errno != EINTR) {
      MRPC_PEER_LOG(WARNING, "tcp write error", peer_address_)
          << "connection " << name_ << ": write: " << std::strerror(errno)
          << "; closing";
      CloseSoon(CloseReason::kError);
      return;
    }
  }
  const size_t old_size = output_.ReadableBytes();
  output_.Append(data + written, length - written);
  if (!AcceptOutput(old_size)) return;
  if (!in_message_callback_) {
    if (!options_.edge_triggered && !channel_.IsWriting()) {
      channel_.EnableWriting();
    }
    WatchOutputStall();
    UpdateCharge();
  }
}

void TcpConnection::SendInPlace(absl::FunctionRef<void(Buffer*)> fill) {
  loop_->AssertInLoopThread();
  const State state = state_.load();
  if (close_queued_ || state == State::kDisconnected ||
      state == State::kDisconnecting) {
    return;
  }
  const size_t old_size = OutputBytes();
  fill(tls_ == nullptr ? &output_ : &tls_->plain_out);
  if (!AcceptOutput(old_size)) return;
  if (!in_message_callback_) {
    Flush();
    UpdateCharge();
  }
}

bool TcpConnection::AcceptOutput(size_t old_size) {
  const size_t size = OutputBytes();
  if (options_.max_output_bytes > 0 && size > options_.max_output_bytes) {
    MRPC_PEER_LOG(ERROR, "tcp output overflow", peer_address_)
        << "connection " << name_ << ": output buffer at " << size
        << " bytes, past the cap of " << options_.max_output_bytes
        << " (the peer is not reading); closing";
    CloseSoon(CloseReason::kOutputOverflow);
    return false;
  }
  if (old_size < options_.high_water_mark && size >= options_.high_water_mark &&
      high_water_mark_callback_) {
    loop_->QueueInLoop([self = shared_from_this(), size] {
      if (self->high_water_mark_callback_)
        self->high_water_mark_callback_(self, size);
    });
  }
  return true;
}

void TcpConnection::Shutdown() {
  if (state_.load() != State::kConnected) return;
  loop_->RunInLoop([self = shared_from_this()] { self->ShutdownInLoop(); });
}

void TcpConnection::ShutdownInLoop() {
  loop_->AssertInLoopThread();
  if (state_.load() != State::kConnected) return;
  if (tls_ != nullptr && tls_->session->handshake_done()) {
    // close_notify after the last plaintext: the peer can tell an orderly
    // end from a truncation.
    if (!EncryptPending()) return;
    tls_->session->SendCloseNotify(&output_);
    Flush();
  }
  state_ = State::kDisconnecting;
  if (OutputBytes() == 0) {
    absl::Status status = socket_.ShutdownWrite();
    if (!status.ok())  // E.g. ENOTCONN: the peer reset first.
      MRPC_PEER_LOG(WARNING, "tcp socket call failed", peer_address_)
          << "connection " << name_ << ": " << status;
  }
}

void TcpConnection::ForceClose() {
  const State state = state_.load();
  if (state == State::kDisconnected) return;
  loop_->QueueInLoop([self = shared_from_this()] { self->ForceCloseInLoop(); });
}

void TcpConnection::ForceCloseInLoop(CloseReason reason) {
  loop_->AssertInLoopThread();
  HandleClose(reason);
}

void TcpConnection::StopRead() {
  loop_->AssertInLoopThread();
  if (!reading_) return;
  reading_ = false;
  if (!options_.edge_triggered && state_.load() != State::kDisconnected) {
    channel_.DisableReading();
  }
}

void TcpConnection::StartRead() {
  loop_->AssertInLoopThread();
  if (reading_ || peer_closed_ || state_.load() == State::kDisconnected) return;
  reading_ = true;
  if (options_.edge_triggered) {
    // No new edge will announce bytes that arrived while paused: look now.
    loop_->QueueInLoop([self = shared_from_this()] { self->HandleRead(); });
  } else {
    channel_.EnableReading();
  }
}

void TcpConnection::SetBusy(bool busy) {
  loop_->AssertInLoopThread();
  if (busy_ == busy) return;
  busy_ = busy;
  if (busy) return;
  // Idle time counts from the end of the last call, not from its request.
  last_active_ms_ = loop_->CachedNowMs();
  if (peer_closed_) {
    loop_->QueueInLoop(
        [self = shared_from_this()] { self->MaybeFinishHalfClose(); });
  }
}

void TcpConnection::MaybeFinishHalfClose() {
  if (state_.load() == State::kDisconnected) return;
  if (OutputBytes() == 0 && !busy_) HandleClose(CloseReason::kPeerClosed);
}

void TcpConnection::HandleClose(CloseReason reason) {
  loop_->AssertInLoopThread();
  if (state_.load() == State::kDisconnected) return;
  state_ = State::kDisconnected;
  close_reason_ = reason;
  reading_ = false;
  channel_.DisableAll();
  loop_->Cancel(idle_timer_);
  loop_->Cancel(stall_timer_);
  VLOG(1) << "connection " << name_ << " closed: " << CloseReasonName(reason);
  if (reason == CloseReason::kOutputStalled ||
      reason == CloseReason::kOutputOverflow) {
    // What is owed is discarded: close with a reset. A normal close would
    // leave the kernel's copy (up to the send buffer, 4 MiB by default)
    // behind a zero window in an orphaned socket, held until its probes
    // give up, minutes for a peer that answers them.
    absl::Status abort = socket_.SetLingerZero();
    if (!abort.ok()) VLOG(1) << "connection " << name_ << ": " << abort;
  }
  TcpConnectionPtr guard = shared_from_this();
  if (tls_ != nullptr && tls_->done != nullptr) {
    loop_->Cancel(tls_->timer);
    TlsHandshakeCallback done = std::move(tls_->done);
    tls_->done = nullptr;
    done(guard,
         absl::UnavailableError(absl::StrCat(
             "connection closed during the TLS handshake: ",
             tls_error_.empty() ? CloseReasonName(reason) : tls_error_)));
  }
  if (connection_callback_) connection_callback_(guard);
  if (close_callback_) close_callback_(guard);
}

void TcpConnection::HandleError() {
  const int err = socket_.PendingError();
  if (err == 0) return;
  // TLS: a peer that refused us sends an alert, closes, and answers what we
  // sent after that with a reset. The alert is still queued ahead of the
  // reset, but the channel reports the error before the read; read what is
  // queued first, so the connection fails with the peer's reason ("alert
  // unknown ca"), not with "broken pipe". (Only what is queued: a read of
  // the end of the stream would turn the reset into an orderly close.)
  int unread = 0;
  if (tls_ != nullptr && tls_->session != nullptr &&
      ::ioctl(socket_.fd(), FIONREAD, &unread) == 0 && unread > 0) {
    HandleRead();
    if (state_.load() == State::kDisconnected || close_queued_) return;
  }
  HandleSocketError(err, "socket");
}

void TcpConnection::CloseSoon(CloseReason reason) {
  if (close_queued_) return;
  close_queued_ = true;
  // connected() says so at once; HandleClose() finishes the job.
  if (state_.load() == State::kConnected) state_ = State::kDisconnecting;
  loop_->QueueInLoop(
      [self = shared_from_this(), reason] { self->HandleClose(reason); });
}

void TcpConnection::HandleSocketError(int err, const char* operation) {
  // A peer's fault (reset, broken pipe, timeout): this connection pays.
  MRPC_PEER_LOG(WARNING, "tcp socket error", peer_address_)
      << "connection " << name_ << ": " << operation << ": "
      << std::strerror(err) << "; closing";
  HandleClose(CloseReason::kError);
}

void TcpConnection::ArmIdleTimer(int64_t delay_ms) {
  std::weak_ptr<TcpConnection> weak = shared_from_this();
  idle_timer_ = loop_->RunAfter(absl::Milliseconds(delay_ms), [weak] {
    if (TcpConnectionPtr self = weak.lock()) self->HandleIdleTimer();
  });
}

void TcpConnection::HandleIdleTimer() {
  if (state_.load() == State::kDisconnected) return;
  const int64_t timeout_ms = absl::ToInt64Milliseconds(options_.idle_timeout);
  if (busy_) {
    ArmIdleTimer(timeout_ms);
    return;
  }
  // Bytes the kernel already holds arrived before this decision, even if
  // their read event is queued behind this timer in the same poll round.
  int unread = 0;
  if (::ioctl(socket_.fd(), FIONREAD, &unread) == 0 && unread > 0) {
    last_active_ms_ = loop_->CachedNowMs();
  }
  // Reads refresh last_active_ms_ with one store; the timer checks it
  // lazily here instead of being moved on every read.
  const int64_t idle_ms = MonotonicMillis() - last_active_ms_;
  if (idle_ms < timeout_ms) {
    ArmIdleTimer(timeout_ms - idle_ms);
    return;
  }
  MRPC_PEER_LOG(INFO, "tcp idle timeout", peer_address_)
      << "connection " << name_ << ": no inbound bytes for " << idle_ms
      << " ms (idle timeout " << timeout_ms << " ms); closing";
  HandleClose(CloseReason::kIdleTimeout);
}

size_t TcpConnection::OutputBytes() const {
  return output_.ReadableBytes() +
         (tls_ == nullptr ? 0 : tls_->plain_out.ReadableBytes());
}

size_t TcpConnection::buffer_capacity() const {
  size_t capacity = input_.Capacity() + output_.Capacity();
  if (tls_ != nullptr && tls_->session != nullptr) {
    capacity += tls_->wire_in.Capacity() + tls_->plain_out.Capacity() +
                kTlsSessionCharge;
  }
  return capacity;
}

const TlsSession* TcpConnection::tls() const {
  return tls_ == nullptr ? nullptr : tls_->session.get();
}

void TcpConnection::StartTls(std::unique_ptr<TlsSession> session,
                             absl::Duration timeout,
                             TlsHandshakeCallback done) {
  loop_->AssertInLoopThread();
  CHECK(tls_ == nullptr) << "connection " << name_ << ": TLS started twice";
  tls_ = std::make_unique<Tls>();
  tls_->session = std::move(session);
  tls_->done = std::move(done);
  if (state_.load() == State::kDisconnected) return;
  if (timeout > absl::ZeroDuration()) {
    std::weak_ptr<TcpConnection> weak = shared_from_this();
    tls_->timer = loop_->RunAfter(timeout, [weak, timeout] {
      TcpConnectionPtr self = weak.lock();
      if (self == nullptr || self->tls_->done == nullptr) return;
      self->FailTls(absl::DeadlineExceededError(
          absl::StrCat("TLS handshake not finished within ",
                       absl::FormatDuration(timeout))));
    });
  }
  // What was read so far is the peer's first TLS bytes.
  tls_->wire_in.Swap(input_);
  bool closed = false;
  absl::Status status;
  if (tls_->wire_in.ReadableBytes() > 0) {
    if (!ReceiveTls(&closed)) return;
  } else if (!tls_->session->handshake_done()) {
    status = tls_->session->StartClient(&output_);
    if (!status.ok()) {
      FailTls(status);
      return;
    }
  }
  if (!in_message_callback_) Flush();
  UpdateCharge();
  // Plaintext cannot precede the handshake's end, but if some came with
  // it, deliver it as a read would.
  if (input_.ReadableBytes() > 0) {
    loop_->QueueInLoop([self = shared_from_this()] {
      if (self->connected() && self->input_.ReadableBytes() > 0) {
        self->message_callback_(self, &self->input_);
        self->Flush();
      }
    });
  }
}

bool TcpConnection::ReceiveTls(bool* peer_closed) {
  const bool was_done = tls_->session->handshake_done();
  absl::Status status =
      tls_->session->Receive(&tls_->wire_in, &input_, &output_, peer_closed);
  if (!status.ok()) {
    FailTls(status);
    return false;
  }
  if (tls_->wire_in.ReadableBytes() == 0 &&
      tls_->wire_in.Capacity() > kShrinkAbove) {
    tls_->wire_in.Shrink(kInitialBufferSize);
  }
  if (!was_done && tls_->session->handshake_done()) {
    FinishHandshake(absl::OkStatus());
    if (state_.load() == State::kDisconnected) return false;
  }
  return true;
}

bool TcpConnection::EncryptPending() {
  Buffer& plain = tls_->plain_out;
  if (plain.ReadableBytes() == 0 || !tls_->session->handshake_done())
    return true;
  absl::Status status =
      tls_->session->Send(plain.Peek(), plain.ReadableBytes(), &output_);
  plain.RetrieveAll();
  if (plain.Capacity() > kShrinkAbove) plain.Shrink(kInitialBufferSize);
  if (!status.ok()) {
    FailTls(status);
    return false;
  }
  return true;
}

void TcpConnection::FinishHandshake(const absl::Status& status) {
  loop_->Cancel(tls_->timer);
  TlsHandshakeCallback done = std::move(tls_->done);
  tls_->done = nullptr;
  if (done) done(shared_from_this(), status);
}

void TcpConnection::AnswerCloseNotify() {
  // RFC 8446 6.1: each side sends close_notify before it closes its write
  // side; what is owed (tickets, responses) goes first.
  if (state_.load() == State::kDisconnected) return;
  if (EncryptPending()) {
    tls_->session->SendCloseNotify(&output_);
    Flush();
  }
  HandlePeerClosed();
}

absl::Status TcpConnection::ReadTlsAlert() {
  char chunk[4096];
  for (int i = 0; i < 16; ++i) {
    const ssize_t n = ::recv(socket_.fd(), chunk, sizeof chunk, MSG_DONTWAIT);
    if (n <= 0) break;
    tls_->wire_in.Append(chunk, static_cast<size_t>(n));
  }
  Buffer plain(0);
  Buffer out(0);
  bool closed = false;
  return tls_->session->Receive(&tls_->wire_in, &plain, &out, &closed);
}

void TcpConnection::FailTls(const absl::Status& status) {
  if (state_.load() == State::kDisconnected) return;
  tls_error_ = std::string(status.message());
  MRPC_PEER_LOG(WARNING, "tls error", peer_address_)
      << "connection " << name_ << ": " << status.message() << "; closing";
  // Best effort: the alert OpenSSL queued tells the peer why. Unread
  // input would turn the close into a reset that can destroy the alert
  // before the peer reads it (a TLS 1.3 client sends its first request
  // before it learns that the server refused its certificate), so what
  // already arrived is read and dropped first.
  if (output_.ReadableBytes() > 0) {
    const ssize_t n = ::send(socket_.fd(), output_.Peek(),
                             output_.ReadableBytes(), MSG_NOSIGNAL);
    if (n > 0) bytes_sent_ += n;
    char discard[4096];
    for (int i = 0; i < 16; ++i) {
      if (::recv(socket_.fd(), discard, sizeof discard, MSG_DONTWAIT) <= 0)
        break;
    }
    (void)socket_.ShutdownWrite();
  }
  TcpConnectionPtr guard = shared_from_this();
  if (tls_->done != nullptr) FinishHandshake(status);
  HandleClose(CloseReason::kTlsError);
}

void TcpConnection::UpdateCharge() {
  if (budget_ == nullptr) return;
  const size_t capacity = buffer_capacity();
  if (capacity == charged_) return;
  budget_->Charge(static_cast<int64_t>(capacity) -
                  static_cast<int64_t>(charged_));
  charged_ = capacity;
}

void TcpConnection::WatchOutputStall() {
  if (options_.output_stall_timeout <= absl::ZeroDuration() ||
      stall_timer_.valid()) {
    return;
  }
  // The clock starts when output first waits; every byte drained restarts it.
  last_drain_ms_ = MonotonicMillis();
  kernel_queued_ = socket_.QueuedOutputBytes();
  ArmStallTimer(options_.output_stall_timeout);
}

void TcpConnection::ArmStallTimer(absl::Duration delay) {
  std::weak_ptr<TcpConnection> weak = shared_from_this();
  stall_timer_ = loop_->RunAfter(delay, [weak] {
    if (TcpConnectionPtr self = weak.lock()) self->HandleStallTimer();
  });
}

void TcpConnection::HandleStallTimer() {
  stall_timer_ = TimerId();
  if (state_.load() == State::kDisconnected || close_queued_ ||
      output_.ReadableBytes() == 0) {
    return;
  }
  const int64_t limit_ms =
      absl::ToInt64Milliseconds(options_.output_stall_timeout);
  const int64_t now_ms = MonotonicMillis();
  // The kernel's copy drains too. A peer reading slowly frees too little of
  // the socket buffer for epoll to call it writable (about a third), so
  // nothing drains here, yet the peer is reading: its progress counts,
  // seen now (it happened since the last check).
  const int64_t queued = socket_.QueuedOutputBytes();
  if (queued >= 0 && queued < kernel_queued_) last_drain_ms_ = now_ms;
  kernel_queued_ = queued;
  const int64_t stalled_ms = now_ms - last_drain_ms_;
  if (stalled_ms < limit_ms) {  // It drained some since: watch on.
    ArmStallTimer(absl::Milliseconds(limit_ms - stalled_ms));
    return;
  }
  MRPC_PEER_LOG(WARNING, "tcp output stalled", peer_address_)
      << "connection " << name_ << ": " << output_.ReadableBytes()
      << " output bytes pending and none drained for " << stalled_ms
      << " ms (output stall timeout " << limit_ms
      << " ms; the peer is not reading); closing";
  HandleClose(CloseReason::kOutputStalled);
}

}  // namespace mrpc
