#include "net/connector.h"

#include <errno.h>
#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"

namespace mrpc {

Connector::Connector(EventLoop* loop, const InetAddress& server,
                     const Options& options)
    : loop_(loop),
      server_(server),
      options_(options),
      backoff_(options.initial_backoff) {}

Connector::~Connector() {
  CHECK(channel_ == nullptr || !channel_->in_poller())
      << "Connector destroyed while connecting; Stop() it on its loop first";
}

void Connector::Start() {
  wanted_ = true;
  loop_->RunInLoop([self = shared_from_this()] { self->StartInLoop(); });
}

void Connector::StartInLoop() {
  loop_->AssertInLoopThread();
  if (!wanted_ || state_ != State::kDisconnected) return;
  Connect();
}

void Connector::Restart() {
  loop_->AssertInLoopThread();
  state_ = State::kDisconnected;
  backoff_ = options_.initial_backoff;
  wanted_ = true;
  StartInLoop();
}

void Connector::RetryAfterFailure(const absl::Status& status) {
  loop_->AssertInLoopThread();
  wanted_ = true;
  Fail(status, /*retriable=*/true);
}

void Connector::Stop() {
  wanted_ = false;
  loop_->RunInLoop([self = shared_from_this()] { self->StopInLoop(); });
}

void Connector::StopInLoop() {
  loop_->AssertInLoopThread();
  loop_->Cancel(retry_timer_);
  loop_->Cancel(timeout_timer_);
  if (state_ == State::kConnecting) {
    DropChannel();
    socket_ = Socket();
  }
  state_ = State::kDisconnected;
}

void Connector::Connect() {
  attempts_.fetch_add(1);
  absl::StatusOr<Socket> socket = Socket::CreateTcp(server_.family());
  if (!socket.ok()) {  // EMFILE and the like: try again later.
    Fail(socket.status(), /*retriable=*/true);
    return;
  }
  const int err = socket->Connect(server_);
  switch (err) {
    case 0:
    case EINPROGRESS:
    case EINTR:
    case EISCONN:
      WaitForConnect(std::move(*socket));
      return;
    case EAGAIN:  // Out of local ports.
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case ECONNREFUSED:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ETIMEDOUT:
      Fail(absl::ErrnoToStatus(err,
                               absl::StrCat("connect ", server_.ToString())),
           /*retriable=*/true);
      return;
    default:  // EACCES, EPERM, EAFNOSUPPORT, ...: retrying will not help.
      Fail(absl::ErrnoToStatus(err,
                               absl::StrCat("connect ", server_.ToString())),
           /*retriable=*/false);
      return;
  }
}

void Connector::WaitForConnect(Socket socket) {
  state_ = State::kConnecting;
  socket_ = std::move(socket);
  channel_ = std::make_unique<IoChannel>(loop_, socket_.fd());
  // Completion (or failure) of a non-blocking connect shows as writability;
  // errors also raise EPOLLERR, handled the same way.
  channel_->SetWriteCallback([this] { HandleWrite(); });
  channel_->SetErrorCallback([this] { HandleWrite(); });
  channel_->EnableWriting();
  std::weak_ptr<Connector> weak = shared_from_this();
  timeout_timer_ = loop_->RunAfter(options_.connect_timeout, [weak] {
    if (auto self = weak.lock()) self->HandleTimeout();
  });
}

void Connector::HandleWrite() {
  if (state_ != State::kConnecting) return;
  DropChannel();
  loop_->Cancel(timeout_timer_);
  const int err = socket_.PendingError();
  if (err != 0) {
    socket_ = Socket();
    Fail(absl::ErrnoToStatus(err, absl::StrCat("connect ", server_.ToString())),
         /*retriable=*/true);
    return;
  }
  if (socket_.IsSelfConnect()) {
    // Connecting to a free local port can pair the socket with itself.
    socket_ = Socket();
    Fail(absl::UnavailableError(absl::StrCat("connect ", server_.ToString(),
                                             ": connected to itself")),
         /*retriable=*/true);
    return;
  }
  state_ = State::kConnected;
  Socket connected = std::move(socket_);
  if (wanted_ && new_connection_callback_) {
    new_connection_callback_(std::move(connected));
  }
}

void Connector::HandleTimeout() {
  if (state_ != State::kConnecting) return;
  DropChannel();
  socket_ = Socket();
  Fail(absl::DeadlineExceededError(
           absl::StrCat("connect ", server_.ToString(), ": no answer within ",
                        absl::FormatDuration(options_.connect_timeout))),
       /*retriable=*/true);
}

void Connector::Fail(const absl::Status& status, bool retriable) {
  state_ = State::kDisconnected;
  if (error_callback_) error_callback_(status);
  if (!wanted_) return;
  if (!retriable || !options_.retry) {
    LOG(WARNING) << status << "; not retrying";
    return;
  }
  const double factor =
      absl::Uniform(rng_, 1.0 - options_.jitter, 1.0 + options_.jitter);
  const absl::Duration delay = backoff_ * factor;
  LOG_EVERY_T(INFO, 1) << status << "; retrying in "
                       << absl::FormatDuration(delay);
  std::weak_ptr<Connector> weak = shared_from_this();
  retry_timer_ = loop_->RunAfter(delay, [weak] {
    if (auto self = weak.lock()) self->StartInLoop();
  });
  backoff_ =
      std::min(backoff_ * options_.backoff_multiplier, options_.max_backoff);
}

void Connector::DropChannel() {
  channel_->Remove();
  // We may be inside this channel's handler: destroy it after it returns.
  loop_->QueueInLoop([channel = std::move(channel_)] {});
}

}  // namespace mrpc
