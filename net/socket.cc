#include "net/socket.h"

#include <errno.h>
#include <glog/logging.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {

Socket::~Socket() {
  if (fd_ >= 0 && ::close(fd_) != 0) {
    PLOG(ERROR) << "close(" << fd_ << ")";
  }
}

Socket::Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    Socket old(std::exchange(fd_, std::exchange(other.fd_, -1)));
  }
  return *this;
}

absl::StatusOr<Socket> Socket::CreateTcp(sa_family_t family) {
  const int fd =
      ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  return Socket(fd);
}

int Socket::Release() { return std::exchange(fd_, -1); }

absl::Status Socket::Bind(const InetAddress& addr) {
  if (::bind(fd_, addr.sockaddr(), addr.sockaddr_length()) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind ", addr.ToString()));
  }
  return absl::OkStatus();
}

absl::Status Socket::Listen(int backlog) {
  if (::listen(fd_, backlog) != 0) return absl::ErrnoToStatus(errno, "listen");
  return absl::OkStatus();
}

int Socket::Accept(InetAddress* peer, int* saved_errno) {
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  const int fd = ::accept4(fd_, reinterpret_cast<struct sockaddr*>(&addr), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    *saved_errno = errno;
    return -1;
  }
  absl::StatusOr<InetAddress> from =
      InetAddress::FromSockaddr(reinterpret_cast<struct sockaddr*>(&addr), len);
  if (from.ok()) *peer = *from;
  return fd;
}

int Socket::Connect(const InetAddress& addr) {
  if (::connect(fd_, addr.sockaddr(), addr.sockaddr_length()) == 0) return 0;
  return errno;
}

absl::Status Socket::ShutdownWrite() {
  if (::shutdown(fd_, SHUT_WR) != 0) {
    return absl::ErrnoToStatus(errno, "shutdown(SHUT_WR)");
  }
  return absl::OkStatus();
}

absl::Status Socket::SetIntOption(int level, int name, int value,
                                  absl::string_view what) {
  if (::setsockopt(fd_, level, name, &value, sizeof value) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("setsockopt ", what));
  }
  return absl::OkStatus();
}

absl::Status Socket::SetTcpNoDelay(bool on) {
  return SetIntOption(IPPROTO_TCP, TCP_NODELAY, on, "TCP_NODELAY");
}

absl::Status Socket::SetReuseAddr(bool on) {
  return SetIntOption(SOL_SOCKET, SO_REUSEADDR, on, "SO_REUSEADDR");
}

absl::Status Socket::SetReusePort(bool on) {
  return SetIntOption(SOL_SOCKET, SO_REUSEPORT, on, "SO_REUSEPORT");
}

absl::Status Socket::SetKeepAlive(bool on) {
  return SetIntOption(SOL_SOCKET, SO_KEEPALIVE, on, "SO_KEEPALIVE");
}

absl::Status Socket::SetLingerZero() {
  struct linger linger = {1, 0};
  if (::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &linger, sizeof linger) != 0) {
    return absl::ErrnoToStatus(errno, "setsockopt SO_LINGER");
  }
  return absl::OkStatus();
}

absl::StatusOr<InetAddress> Socket::LocalAddress() const {
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (::getsockname(fd_, reinterpret_cast<struct sockaddr*>(&addr), &len) !=
      0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  return InetAddress::FromSockaddr(reinterpret_cast<struct sockaddr*>(&addr),
                                   len);
}

absl::StatusOr<InetAddress> Socket::PeerAddress() const {
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  if (::getpeername(fd_, reinterpret_cast<struct sockaddr*>(&addr), &len) !=
      0) {
    return absl::ErrnoToStatus(errno, "getpeername");
  }
  return InetAddress::FromSockaddr(reinterpret_cast<struct sockaddr*>(&addr),
                                   len);
}

int Socket::PendingError() const {
  int error = 0;
  socklen_t len = sizeof error;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
  return error;
}

int64_t Socket::QueuedOutputBytes() const {
  int queued = 0;
  if (::ioctl(fd_, SIOCOUTQ, &queued) != 0) return -1;
  return queued;
}

bool Socket::IsSelfConnect() const {
  absl::StatusOr<InetAddress> local = LocalAddress();
  absl::StatusOr<InetAddress> peer = PeerAddress();
  return local.ok() && peer.ok() && *local == *peer;
}

}  // namespace mrpc
