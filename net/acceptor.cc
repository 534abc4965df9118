#include "net/acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <unistd.h>

#include <cstring>

#include "net/event_loop.h"

namespace mrpc {
namespace {

// Most connections one wake-up accepts before other events get a turn; the
// level-triggered listener reports the rest on the next iteration.
constexpr int kMaxAcceptsPerWakeup = 256;
constexpr absl::Duration kPauseWhenStuck = absl::Milliseconds(100);

int OpenSpareFd() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

absl::StatusOr<std::unique_ptr<Acceptor>> Acceptor::Create(
    EventLoop* loop, const InetAddress& listen_address, const Options& options,
    std::atomic<uint64_t>* fd_exhaustion_drops) {
  absl::StatusOr<Socket> socket = Socket::CreateTcp(listen_address.family());
  if (!socket.ok()) return socket.status();
  absl::Status status = socket->SetReuseAddr(true);
  if (status.ok() && options.reuse_port) status = socket->SetReusePort(true);
  if (status.ok()) status = socket->Bind(listen_address);
  if (status.ok()) status = socket->Listen(options.backlog);
  if (!status.ok()) return status;
  absl::StatusOr<InetAddress> bound = socket->LocalAddress();
  if (!bound.ok()) return bound.status();
  return std::unique_ptr<Acceptor>(
      new Acceptor(loop, std::move(*socket), *bound, fd_exhaustion_drops));
}

Acceptor::Acceptor(EventLoop* loop, Socket socket, const InetAddress& bound,
                   std::atomic<uint64_t>* fd_exhaustion_drops)
    : loop_(loop),
      socket_(std::move(socket)),
      channel_(loop, socket_.fd()),
      listen_address_(bound),
      spare_fd_(OpenSpareFd()),
      fd_exhaustion_drops_(fd_exhaustion_drops),
      alive_(std::make_shared<bool>(true)) {
  PLOG_IF(WARNING, spare_fd_ < 0) << "cannot open the spare fd (/dev/null)";
  channel_.SetReadCallback([this] { HandleRead(); });
}

Acceptor::~Acceptor() {
  if (channel_.in_poller()) {
    loop_->AssertInLoopThread();
    channel_.Remove();
  }
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void Acceptor::Listen() {
  loop_->AssertInLoopThread();
  CHECK(new_connection_callback_) << "Acceptor: no new-connection callback";
  listening_ = true;
  if (!paused_) channel_.EnableReading();
}

void Acceptor::StopListening() {
  loop_->AssertInLoopThread();
  listening_ = false;
  channel_.DisableAll();
}

void Acceptor::HandleRead() {
  loop_->AssertInLoopThread();
  for (int i = 0; i < kMaxAcceptsPerWakeup; ++i) {
    InetAddress peer;
    int err = 0;
    const int fd = socket_.Accept(&peer, &err);
    if (fd >= 0) {
      new_connection_callback_(Socket(fd), peer);
      continue;
    }
    switch (err) {
      case EAGAIN:
        return;
      case EINTR:
      case ECONNABORTED:  // The client gave up while queued; take the next.
      case EPROTO:
      case EPERM:  // A firewall rule refused it.
        continue;
      case EMFILE:
      case ENFILE:
        if (!DropWithSpareFd()) return;
        continue;
      default:  // ENOBUFS, ENOMEM: the kernel is short; back off, don't spin.
        LOG_EVERY_T(ERROR, 1)
            << "accept on " << listen_address_.ToString() << ": "
            << std::strerror(err) << "; pausing accepts";
        PauseAccepting();
        return;
    }
  }
}

bool Acceptor::DropWithSpareFd() {
  if (spare_fd_ < 0) spare_fd_ = OpenSpareFd();
  if (spare_fd_ < 0) {
    PauseAccepting();
    return false;
  }
  // accept4 reports EMFILE before it looks at the queue, so this may find
  // nothing pending: only a connection actually taken counts as a drop.
  ::close(spare_fd_);
  InetAddress peer;
  int err = 0;
  const int fd = socket_.Accept(&peer, &err);
  if (fd >= 0) {
    // Count before closing: whoever sees the close may read the counter.
    const uint64_t drops = fd_exhaustion_drops_->fetch_add(1) + 1;
    ::close(fd);
    LOG_EVERY_T(WARNING, 1)
        << "out of file descriptors accepting on " << listen_address_.ToString()
        << ": closed " << peer.ToString() << " at once (" << drops
        << " so far)";
  }
  spare_fd_ = OpenSpareFd();
  if (fd < 0 && err == EAGAIN) return false;  // Queue empty: done.
  if (spare_fd_ < 0 || fd < 0) {
    // Another thread took the freed fd, or accept failed otherwise.
    PauseAccepting();
    return false;
  }
  return true;
}

void Acceptor::PauseAccepting() {
  if (paused_) return;
  paused_ = true;
  channel_.DisableAll();
  std::weak_ptr<bool> alive = alive_;
  loop_->RunAfter(kPauseWhenStuck, [this, alive] {
    if (alive.expired()) return;
    paused_ = false;
    if (spare_fd_ < 0) spare_fd_ = OpenSpareFd();
    if (listening_) channel_.EnableReading();
  });
}

}  // namespace mrpc
