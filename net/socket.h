// Socket: owns one TCP socket fd (closes it on destruction) and wraps the
// socket syscalls mrpc uses. Every failure becomes an absl::Status carrying
// the errno text and what was being attempted.
//
// Internal. Thread-compatible: a Socket belongs to one owner (an Acceptor, a
// TcpConnection, a Connector) and is used on that owner's loop.
//
// Sockets are always non-blocking and close-on-exec. The hot-path calls
// (Accept) report errno instead of a Status: EAGAIN there is routine and must
// not allocate.
#ifndef MRPC_NET_SOCKET_H_
#define MRPC_NET_SOCKET_H_

#include <sys/socket.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/inet_address.h"

namespace mrpc {

class Socket {
 public:
  // Takes ownership of `fd` (may be -1: no socket).
  explicit Socket(int fd = -1) : fd_(fd) {}
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // A new non-blocking, close-on-exec TCP socket for `family`.
  static absl::StatusOr<Socket> CreateTcp(sa_family_t family);

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership; the caller closes the fd.
  int Release();

  absl::Status Bind(const InetAddress& addr);
  absl::Status Listen(int backlog);
  // Accepts one pending connection as a non-blocking, close-on-exec fd.
  // Returns the fd, or -1 with *saved_errno set (EAGAIN when none is pending).
  int Accept(InetAddress* peer, int* saved_errno);
  // Starts a non-blocking connect. Returns 0, or the errno (EINPROGRESS is
  // the usual answer: completion is signalled by writability).
  int Connect(const InetAddress& addr);
  // Half-close: no more writes; the peer reads end-of-stream.
  absl::Status ShutdownWrite();

  absl::Status SetTcpNoDelay(bool on);
  absl::Status SetReuseAddr(bool on);
  absl::Status SetReusePort(bool on);
  absl::Status SetKeepAlive(bool on);
  // RST instead of FIN on close (SO_LINGER with a zero timeout): an abortive
  // close, which discards what the kernel still holds for the peer.
  absl::Status SetLingerZero();

  absl::StatusOr<InetAddress> LocalAddress() const;
  absl::StatusOr<InetAddress> PeerAddress() const;
  // SO_ERROR: the outcome of a non-blocking connect (0 = connected).
  int PendingError() const;
  // Bytes the kernel still holds for the peer: sent but not acknowledged,
  // or not yet sent (SIOCOUTQ). -1 on error.
  int64_t QueuedOutputBytes() const;
  // True if connected to itself (a local ephemeral port equal to the
  // destination can connect a socket to itself on loopback).
  bool IsSelfConnect() const;

 private:
  absl::Status SetIntOption(int level, int name, int value,
                            absl::string_view what);

  int fd_;
};

}  // namespace mrpc

#endif  // MRPC_NET_SOCKET_H_
