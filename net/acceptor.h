// Acceptor: the listening socket of a TcpServer, on the server's main loop.
//
// Internal. Create() on any thread; everything else on the acceptor's loop.
//
// On readable it accepts until EAGAIN (bounded per wake-up) and hands each new
// socket to the callback. Running out of fds (EMFILE/ENFILE) is the classic
// trap: the pending connection stays in the backlog, the listening socket
// stays readable, and a level-triggered loop spins at 100% CPU. The answer
// (libev's and muduo's) is a spare fd: close it, accept the connection,
// close that at once (the client sees an orderly close, not a hang), reopen
// the spare. If even that fails, accepting pauses for 100 ms instead of
// spinning.
#ifndef MRPC_NET_ACCEPTOR_H_
#define MRPC_NET_ACCEPTOR_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "net/callbacks.h"
#include "net/inet_address.h"
#include "net/io_channel.h"
#include "net/socket.h"

namespace mrpc {

class EventLoop;

class Acceptor {
 public:
  using NewConnectionCallback =
      std::function<void(Socket socket, const InetAddress& peer)>;

  struct Options {
    // Let several processes (or servers) bind the same port; the kernel
    // spreads connections between them. Default: false.
    bool reuse_port = false;
    // listen(2) backlog: completed connections waiting for accept().
    // Default: SOMAXCONN (the kernel caps it at net.core.somaxconn).
    int backlog = SOMAXCONN;
  };

  // Binds and listens (SO_REUSEADDR always, so a restart does not trip
  // over connections in TIME_WAIT). Accepting starts with Listen(). Not
  // owned, must outlive the acceptor: `loop`, and `fd_exhaustion_drops`, the
  // counter of connections closed at once because the process was out of
  // fds (the owner reads it from any thread).
  static absl::StatusOr<std::unique_ptr<Acceptor>> Create(
      EventLoop* loop, const InetAddress& listen_address,
      const Options& options, std::atomic<uint64_t>* fd_exhaustion_drops);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Must be set before Listen().
  void SetNewConnectionCallback(NewConnectionCallback cb) {
    new_connection_callback_ = std::move(cb);
  }
  // Starts accepting. Loop thread only.
  void Listen();
  // Stops accepting; pending connections stay in the backlog. Loop thread only.
  void StopListening();

  // The bound address (with the real port when asked for port 0).
  const InetAddress& listen_address() const { return listen_address_; }

 private:
  Acceptor(EventLoop* loop, Socket socket, const InetAddress& bound,
           std::atomic<uint64_t>* fd_exhaustion_drops);
  void HandleRead();
  // Out of fds: drop one pending connection using the spare fd. Returns false
  // if that was impossible (accepting is then paused).
  bool DropWithSpareFd();
  void PauseAccepting();

  EventLoop* const loop_;
  Socket socket_;
  IoChannel channel_;
  InetAddress listen_address_;
  int spare_fd_;
  bool listening_ = false;
  bool paused_ = false;
  std::atomic<uint64_t>* const fd_exhaustion_drops_;
  NewConnectionCallback new_connection_callback_;
  std::shared_ptr<bool> alive_;  // Lets the pause timer see the acceptor died.
};

}  // namespace mrpc

#endif  // MRPC_NET_ACCEPTOR_H_
