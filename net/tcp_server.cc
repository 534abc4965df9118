#include "net/tcp_server.h"

#include <glog/logging.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>
#include <utility>

#include "net/event_loop.h"
#include "net/sync.h"

namespace mrpc {

TcpServer::TcpServer(EventLoop* loop, const InetAddress& listen_address,
                     TcpServerOptions options)
    : loop_(loop),
      listen_address_(listen_address),
      options_(std::move(options)),
      pool_(std::make_unique<EventLoopThreadPool>(loop, options_.name)) {}

TcpServer::~TcpServer() {
  CHECK(!started_ || stopped_) << "TcpServer " << options_.name
                               << " destroyed while running; call Stop() first";
}

absl::Status TcpServer::Start() {
  if (started_)
    return absl::FailedPreconditionError("TcpServer already started");
  if (options_.num_threads < -1) {
    return absl::InvalidArgumentError("num_threads must be -1, 0 or positive");
  }
  if (options_.max_connections < 1) {
    return absl::InvalidArgumentError("max_connections must be positive");
  }
  absl::StatusOr<std::unique_ptr<Acceptor>> acceptor = Acceptor::Create(
      loop_, listen_address_, options_.acceptor, &fd_exhaustion_drops_);
  if (!acceptor.ok()) return acceptor.status();

  const int threads =
      options_.num_threads >= 0
          ? options_.num_threads
          : static_cast<int>(std::thread::hardware_concurrency());
  // On failure the pool has stopped what it started, and the acceptor, not
  // yet listening (so not in the poller), closes here on any thread: the
  // server is as if Start() had never been called.
  if (absl::Status status = pool_->Start(threads, thread_init_callback_);
      !status.ok()) {
    return status;
  }
  acceptor_ = std::move(*acceptor);
  listen_address_ = acceptor_->listen_address();
  acceptor_->SetNewConnectionCallback(
      [this](Socket socket, const InetAddress& peer) {
        NewConnection(std::move(socket), peer);
      });
  for (size_t i = 0; i < pool_->loops().size(); ++i) {
    loop_states_.push_back(std::make_unique<LoopState>());
  }
  started_ = true;
  loop_->RunInLoop([this] { acceptor_->Listen(); });
  LOG(INFO) << "server " << options_.name << " listening on "
            << listen_address_.ToString() << " with " << pool_->loops().size()
            << " loop(s)";
  return absl::OkStatus();
}

void TcpServer::NewConnection(Socket socket, const InetAddress& peer) {
  loop_->AssertInLoopThread();
  if (num_connections_.load() >= options_.max_connections) {
    rejected_over_cap_.fetch_add(1);
    LOG_EVERY_T(WARNING, 1)
        << "server " << options_.name << ": at the cap of "
        << options_.max_connections << " connections; refusing "
        << peer.ToString() << " (" << rejected_over_cap_.load() << " so far)";
    return;  // `socket` closes here.
  }
  EventLoop* io_loop = pool_->GetNextLoop();
  const size_t index = pool_->last_index();
  absl::StatusOr<InetAddress> local = socket.LocalAddress();
  auto conn = std::make_shared<TcpConnection>(
      io_loop, next_connection_id_++, std::move(socket),
      local.ok() ? *local : listen_address_, peer, options_.connection);
  conn->SetConnectionCallback(connection_callback_);
  conn->SetMessageCallback(message_callback_);
  conn->SetWriteCompleteCallback(write_complete_callback_);
  conn->SetHighWaterMarkCallback(high_water_mark_callback_);
  // The server outlives its connections: Stop() closes them all and joins
  // their loops before the server can be destroyed.
  conn->SetCloseCallback(
      [this, index](const TcpConnectionPtr& c) { RemoveConnection(index, c); });
  num_connections_.fetch_add(1);
  accepted_.fetch_add(1);
  loop_states_[index]->count.fetch_add(1);
  io_loop->RunInLoop([this, index, conn] {
    loop_states_[index]->connections.emplace(conn->id(), conn);
    conn->ConnectEstablished();
  });
}

void TcpServer::RemoveConnection(size_t index, const TcpConnectionPtr& conn) {
  conn->loop()->AssertInLoopThread();
  if (loop_states_[index]->connections.erase(conn->id()) == 0) return;
  closes_[static_cast<int>(conn->close_reason())].fetch_add(1);
  loop_states_[index]->count.fetch_sub(1);
  num_connections_.fetch_sub(1);
  // Not now: we are inside the connection's own event handler.
  conn->loop()->QueueInLoop([conn] { conn->ConnectDestroyed(); });
}

void TcpServer::Stop() { Stop(absl::InfiniteFuture(), nullptr); }

bool TcpServer::Stop(absl::Time deadline, ConnectionCallback before_close) {
  if (!started_ || stopped_) return true;
  for (EventLoop* sub_loop : pool_->loops()) {
    CHECK(!sub_loop->IsInLoopThread() || sub_loop == loop_)
        << "TcpServer::Stop() called from one of its own sub-loops";
  }
  StopAccepting();
  const size_t n = pool_->loops().size();
  // Shared: a loop that misses the deadline runs its task later, after we
  // have returned.
  std::vector<std::shared_ptr<Notification>> closed;
  for (size_t i = 0; i < n; ++i) {
    auto done = std::make_shared<Notification>();
    closed.push_back(done);
    pool_->loops()[i]->RunInLoop([this, i, done, before_close] {
      std::vector<TcpConnectionPtr> open;
      for (auto& [id, conn] : loop_states_[i]->connections)
        open.push_back(conn);
      for (const TcpConnectionPtr& conn : open) {
        if (before_close) before_close(conn);
        conn->ForceCloseInLoop();
      }
      done->Notify();
    });
  }
  bool all_closed = true;
  for (size_t i = 0; i < n; ++i) {
    if (deadline == absl::InfiniteFuture()) {
      closed[i]->WaitForNotification();
    } else if (!closed[i]->WaitForNotificationWithTimeout(
                   std::max(deadline - absl::Now(), absl::ZeroDuration()))) {
      all_closed = false;
      LOG(ERROR) << "server " << options_.name << ": loop " << i
                 << " did not close its connections in time (a callback "
                    "blocks it)";
    }
  }
  // Joining runs what the loops still have queued (ConnectDestroyed). The
  // loops that closed their connections quit at once; give them a moment
  // even if a stuck one used up the deadline.
  bool all_joined = true;
  if (deadline == absl::InfiniteFuture()) {
    pool_->Stop();
  } else {
    all_joined = pool_->StopUntil(
        std::max(deadline, absl::Now() + absl::Milliseconds(100)));
  }
  stopped_ = true;
  LOG(INFO) << "server " << options_.name << " stopped";
  return all_closed && all_joined;
}

void TcpServer::StopAccepting() {
  if (!started_) return;
  RunInLoopAndWait(loop_, [this] {
    if (acceptor_ == nullptr) return;
    acceptor_->StopListening();
    acceptor_.reset();
  });
}

std::vector<int> TcpServer::ConnectionsPerLoop() const {
  std::vector<int> counts;
  for (const auto& state : loop_states_) counts.push_back(state->count.load());
  return counts;
}

}  // namespace mrpc
