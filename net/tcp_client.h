// TcpClient: one outgoing connection that can reconnect: a Connector plus
// the TcpConnection it produces.
//
// Internal (rpc::IoChannel builds on it). Threading: every public method is
// thread-safe, the destructor included, and may be called while a connect
// is in progress. Callbacks run on the client's loop; none runs after the
// destructor returns. The loop must be running (or be the caller's) when
// the client is destroyed, and must outlive it.
//
// Example:
//   TcpClient client(loop, server_address, TcpClient::Options{});
//   client.SetMessageCallback(...);
//   client.Connect();
#ifndef MRPC_NET_TCP_CLIENT_H_
#define MRPC_NET_TCP_CLIENT_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "net/callbacks.h"
#include "net/connector.h"
#include "net/inet_address.h"
#include "net/tcp_connection.h"

namespace mrpc {

class EventLoop;
class TlsContext;

class TcpClient {
 public:
  struct Options {
    // For logs. Default: "client".
    std::string name = "client";
    // Reconnect (after the connector's backoff) when an established
    // connection closes. Default: false.
    bool reconnect = false;
    // Connect attempts: backoff, jitter, timeout, retries.
    Connector::Options connector;
    // The connection's buffers, idle timeout, LT/ET.
    TcpConnection::Options connection;
    // TLS: when set, each connection runs a handshake (verifying the
    // server as `tls_server_name`, a DNS name or an IP address) before it
    // is reported up; a failed or timed-out handshake counts as a failed
    // connect attempt (the error callback, then the connector's backoff).
    // Default: null (plaintext).
    std::shared_ptr<const TlsContext> tls;
    std::string tls_server_name;
    absl::Duration tls_handshake_timeout = absl::Seconds(10);
  };

  // `loop` is not owned and must outlive the client.
  TcpClient(EventLoop* loop, const InetAddress& server, Options options);
  // Stops connecting, closes the connection (its "down" callback runs before
  // this returns) and waits for the loop to finish with the client.
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  // Set before Connect().
  void SetConnectionCallback(ConnectionCallback cb);
  void SetMessageCallback(MessageCallback cb);
  void SetWriteCompleteCallback(WriteCompleteCallback cb);
  // Each failed connect attempt, with the reason.
  void SetConnectErrorCallback(Connector::ErrorCallback cb);

  // Starts connecting (retrying per Options::connector).
  void Connect();
  // Half-closes the connection (Shutdown) and does not reconnect.
  void Disconnect();
  // Stops connecting and reconnecting; an open connection stays open.
  void Stop();

  // The open connection, or null.
  TcpConnectionPtr connection() const;
  const InetAddress& server_address() const;
  // Connect attempts so far.
  int connect_attempts() const;

 private:
  class Core;
  std::shared_ptr<Core> core_;
};

}  // namespace mrpc

#endif  // MRPC_NET_TCP_CLIENT_H_
