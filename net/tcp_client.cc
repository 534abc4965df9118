#include "net/tcp_client.h"

#include <glog/logging.h>

#include <atomic>
#include <utility>

#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/sync.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "absl/strings/str_cat.h"

namespace mrpc {

// The client's state, shared with the loop's callbacks through weak_ptrs:
// whatever fires after the handle is gone finds nothing to call.
class TcpClient::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(EventLoop* loop, const InetAddress& server, Options options)
      : loop_(loop),
        options_(std::move(options)),
        connector_(
            std::make_shared<Connector>(loop, server, options_.connector)) {}

  void Init() {
    std::weak_ptr<Core> weak = shared_from_this();
    connector_->SetNewConnectionCallback([weak](Socket socket) {
      if (auto self = weak.lock()) self->NewConnection(std::move(socket));
    });
    connector_->SetErrorCallback([weak](const absl::Status& status) {
      auto self = weak.lock();
      if (self && self->connect_error_callback_)
        self->connect_error_callback_(status);
    });
  }

  void NewConnection(Socket socket) {
    loop_->AssertInLoopThread();
    absl::StatusOr<InetAddress> local = socket.LocalAddress();
    absl::StatusOr<InetAddress> peer = socket.PeerAddress();
    const InetAddress server = connector_->server_address();
    auto conn = std::make_shared<TcpConnection>(
        loop_, next_id_++, std::move(socket),
        local.ok() ? *local : InetAddress(), peer.ok() ? *peer : server,
        options_.connection);
    // TLS: "up" once the handshake is done, not at the TCP connect.
    if (options_.tls == nullptr) conn->SetConnectionCallback(connection_callback_);
    conn->SetMessageCallback(message_callback_);
    conn->SetWriteCompleteCallback(write_complete_callback_);
    std::weak_ptr<Core> weak = shared_from_this();
    conn->SetCloseCallback([weak](const TcpConnectionPtr& c) {
      if (auto self = weak.lock()) {
        self->RemoveConnection(c);
      } else {
        c->loop()->QueueInLoop([c] { c->ConnectDestroyed(); });
      }
    });
    {
      MutexLock lock(&mutex_);
      connection_ = conn;
    }
    conn->ConnectEstablished();
    if (options_.tls != nullptr) StartTls(conn);
  }

  void StartTls(const TcpConnectionPtr& conn) {
    std::weak_ptr<Core> weak = shared_from_this();
    conn->StartTls(
        options_.tls->NewSession(options_.tls_server_name),
        options_.tls_handshake_timeout,
        [weak](const TcpConnectionPtr& c, const absl::Status& status) {
          auto self = weak.lock();
          if (self == nullptr || !status.ok()) return;  // The close reports it.
          c->SetConnectionCallback(self->connection_callback_);
          if (self->connection_callback_) self->connection_callback_(c);
        });
  }

  void RemoveConnection(const TcpConnectionPtr& conn) {
    loop_->AssertInLoopThread();
    {
      MutexLock lock(&mutex_);
      if (connection_ == conn) connection_.reset();
    }
    loop_->QueueInLoop([conn] { conn->ConnectDestroyed(); });
    if (options_.tls != nullptr && conn->tls() != nullptr &&
        !conn->tls()->handshake_done()) {
      // Never up: a failed attempt, with the TLS error and backoff.
      if (!connecting_) return;
      connector_->RetryAfterFailure(absl::UnavailableError(
          conn->tls_error().empty()
              ? absl::StrCat("connection closed during the TLS handshake (",
                             TcpConnection::CloseReasonName(
                                 conn->close_reason()),
                             ")")
              : conn->tls_error()));
      return;
    }
    if (options_.reconnect && connecting_) {
      MRPC_PEER_LOG(INFO, "tcp client reconnect", connector_->server_address())
          << options_.name << ": connection to "
          << connector_->server_address().ToString() << " closed; reconnecting";
      connector_->Restart();
    }
  }

  void Teardown() {
    loop_->AssertInLoopThread();
    connecting_ = false;
    connector_->Stop();
    TcpConnectionPtr conn;
    {
      MutexLock lock(&mutex_);
      conn.swap(connection_);
    }
    if (conn == nullptr) return;
    // The "down" callback runs now, inside the destructor's wait (and the
    // close callback queues ConnectDestroyed); then the connection is cut
    // loose so nothing still queued can reach user code.
    conn->ForceCloseInLoop();
    conn->SetConnectionCallback(nullptr);
    conn->SetMessageCallback(nullptr);
    conn->SetWriteCompleteCallback(nullptr);
  }

  EventLoop* const loop_;
  const Options options_;
  const std::shared_ptr<Connector> connector_;
  std::atomic<bool> connecting_{false};
  uint64_t next_id_ = 1;  // Loop only.
  mutable Mutex mutex_;
  TcpConnectionPtr connection_ ABSL_GUARDED_BY(mutex_);
  // Set before Connect(); read on the loop.
  ConnectionCallback connection_callback_;
  MessageCallback message_callback_;
  WriteCompleteCallback write_complete_callback_;
  Connector::ErrorCallback connect_error_callback_;
};

TcpClient::TcpClient(EventLoop* loop, const InetAddress& server,
                     Options options)
    : core_(std::make_shared<Core>(loop, server, std::move(options))) {
  core_->Init();
}

TcpClient::~TcpClient() {
  std::shared_ptr<Core> core = core_;
  RunInLoopAndWait(core->loop_, [core] { core->Teardown(); });
}

void TcpClient::SetConnectionCallback(ConnectionCallback cb) {
  core_->connection_callback_ = std::move(cb);
}
void TcpClient::SetMessageCallback(MessageCallback cb) {
  core_->message_callback_ = std::move(cb);
}
void TcpClient::SetWriteCompleteCallback(WriteCompleteCallback cb) {
  core_->write_complete_callback_ = std::move(cb);
}
void TcpClient::SetConnectErrorCallback(Connector::ErrorCallback cb) {
  core_->connect_error_callback_ = std::move(cb);
}

void TcpClient::Connect() {
  core_->connecting_ = true;
  core_->connector_->Start();
}

void TcpClient::Disconnect() {
  core_->connecting_ = false;
  core_->connector_->Stop();
  if (TcpConnectionPtr conn = connection()) conn->Shutdown();
}

void TcpClient::Stop() {
  core_->connecting_ = false;
  core_->connector_->Stop();
}

TcpConnectionPtr TcpClient::connection() const {
  MutexLock lock(&core_->mutex_);
  return core_->connection_;
}

const InetAddress& TcpClient::server_address() const {
  return core_->connector_->server_address();
}

int TcpClient::connect_attempts() const {
  return core_->connector_->attempts();
}

}  // namespace mrpc
