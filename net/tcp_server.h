// TcpServer: a multi-reactor TCP server. The acceptor runs on a base loop
// the caller owns; each accepted connection goes to the next of N sub-loop
// threads, round-robin, and lives there until it closes.
//
// Internal (rpc::Server builds on it). Threading: Start() and Stop() from
// any thread except the server's own sub-loops; the base loop must be
// running Loop() (or be the caller's loop). Callbacks run on the
// connection's sub-loop. Each sub-loop's connection table is touched only on
// that loop; counters are atomics.
//
// Example:
//   absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
//   CHECK_OK(loop.status());
//   TcpServer server(loop->get(), InetAddress::Any(8080), TcpServerOptions{});
//   server.SetMessageCallback([](const TcpConnectionPtr& c, Buffer* in) {
//     c->Send(in->View());  // echo
//     in->RetrieveAll();
//   });
//   CHECK_OK(server.Start());
//   (*loop)->Loop();
#ifndef MRPC_NET_TCP_SERVER_H_
#define MRPC_NET_TCP_SERVER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/acceptor.h"
#include "net/callbacks.h"
#include "net/event_loop_thread.h"
#include "net/inet_address.h"
#include "net/tcp_connection.h"

namespace mrpc {

struct TcpServerOptions {
  // Thread names are "<name><index>"; also used in logs. Default: "mrpc".
  std::string name = "mrpc";
  // Sub-loop threads that own connections. -1: one per hardware thread;
  // 0: connections live on the base loop. Default: -1.
  int num_threads = -1;
  // Listening socket options (SO_REUSEPORT, backlog).
  Acceptor::Options acceptor;
  // Open connections beyond which new ones are closed at once (with a
  // rate-limited log line). Default: 100000.
  int max_connections = 100000;
  // Per-connection options (buffers, idle timeout, LT/ET).
  TcpConnection::Options connection;
};

class TcpServer {
 public:
  // `loop` (the acceptor's loop) is not owned and must outlive the server.
  TcpServer(EventLoop* loop, const InetAddress& listen_address,
            TcpServerOptions options);
  // CHECKs that a started server was stopped.
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Set before Start().
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
  // Runs on each sub-loop thread before it starts looping.
  void SetThreadInitCallback(EventLoopThread::InitCallback cb) {
    thread_init_callback_ = std::move(cb);
  }

  // Binds, listens and starts the sub-loops; errors (address in use, bad
  // options, RESOURCE_EXHAUSTED when out of fds for the socket or a
  // sub-loop) come back here. A failed Start() leaves nothing open or
  // running; the server may be destroyed or started again. Accepting begins
  // once the base loop runs.
  absl::Status Start();
  // Closes the listening socket (the port is free at once); open
  // connections are untouched. Blocks until done; idempotent.
  void StopAccepting();
  // Stops accepting, closes every connection (their "down" callbacks run on
  // their loops) and joins the sub-loop threads. Blocks; idempotent.
  void Stop();
  // As Stop(), with a bound: runs `before_close` (may be null) on each
  // connection, on its loop, just before closing it, and gives each loop
  // until `deadline` to do so. A loop that has not by then (a callback
  // blocks it) is left running, detached, and false is returned: the
  // server must then never be destroyed, since that loop still uses it
  // once its callback returns. Leak it.
  bool Stop(absl::Time deadline, ConnectionCallback before_close);

  // The bound address, with the real port if port 0 was asked. Valid after
  // Start().
  const InetAddress& listen_address() const { return listen_address_; }
  // Thread-safe counters.
  int num_connections() const { return num_connections_.load(); }
  // Open connections on each sub-loop, in loop order.
  std::vector<int> ConnectionsPerLoop() const;
  // Connections accepted (and not refused) since Start().
  uint64_t accepted() const { return accepted_.load(); }
  // Connections that closed for `reason` (idle timeout, output overflow, ...).
  uint64_t closes(TcpConnection::CloseReason reason) const {
    return closes_[static_cast<int>(reason)].load();
  }
  // Connections closed at once: over max_connections, or out of fds.
  uint64_t rejected_over_cap() const { return rejected_over_cap_.load(); }
  uint64_t fd_exhaustion_drops() const { return fd_exhaustion_drops_.load(); }
  // The sub-loops (valid between Start() and Stop()).
  const std::vector<EventLoop*>& loops() const { return pool_->loops(); }

 private:
  // A sub-loop's connections; touched on that loop only.
  struct LoopState {
    absl::flat_hash_map<uint64_t, TcpConnectionPtr> connections;
    std::atomic<int> count{0};
  };

  void NewConnection(Socket socket, const InetAddress& peer);
  void RemoveConnection(size_t loop_index, const TcpConnectionPtr& conn);

  EventLoop* const loop_;
  InetAddress listen_address_;
  const TcpServerOptions options_;
  std::unique_ptr<EventLoopThreadPool> pool_;
  std::unique_ptr<Acceptor> acceptor_;
  std::vector<std::unique_ptr<LoopState>> loop_states_;
  bool started_ = false;
  bool stopped_ = false;
  uint64_t next_connection_id_ = 1;  // Base loop only.
  std::atomic<int> num_connections_{0};
  std::atomic<uint64_t> rejected_over_cap_{0};
  std::atomic<uint64_t> accepted_{0};
  std::array<std::atomic<uint64_t>, TcpConnection::kNumCloseReasons>
      closes_{};  // By CloseReason.
  std::atomic<uint64_t> fd_exhaustion_drops_{0};

  ConnectionCallback connection_callback_;
  MessageCallback message_callback_;
  WriteCompleteCallback write_complete_callback_;
  HighWaterMarkCallback high_water_mark_callback_;
  EventLoopThread::InitCallback thread_init_callback_;
};

}  // namespace mrpc

#endif  // MRPC_NET_TCP_SERVER_H_
