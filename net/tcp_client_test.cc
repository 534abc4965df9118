// TcpClient and Connector against a framed echo server on loopback.
#include "net/tcp_client.h"

#include <glog/logging.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/length_codec.h"
#include "net/sync.h"
#include "net/tcp_server.h"
#include "net/test_util.h"
#include "net/tls_context.h"
#include "net/tls_test_certs.h"

namespace mrpc {
namespace {

// A framed echo server on its own loops, restartable on the same port.
class EchoServer {
 public:
  explicit EchoServer(uint16_t port = 0) : base_("echo-base") {
    EventLoop* loop = testing::StartOrDie(&base_);
    TcpServerOptions options;
    options.num_threads = 1;
    server_ =
        std::make_unique<TcpServer>(loop, InetAddress::Loopback(port), options);
    server_->SetMessageCallback([](const TcpConnectionPtr& conn, Buffer* in) {
      ForEachFrame(in, 1 << 20, [&](absl::string_view payload) {
        conn->SendInPlace([&](Buffer* out) { AppendFrame(payload, out); });
      });
    });
    absl::Status status = server_->Start();
    CHECK(status.ok()) << status;
  }
  ~EchoServer() { server_->Stop(); }
  const InetAddress& address() const { return server_->listen_address(); }

 private:
  EventLoopThread base_;
  std::unique_ptr<TcpServer> server_;
};

InetAddress DeadAddress() {
  absl::StatusOr<Socket> tmp = Socket::CreateTcp(AF_INET);
  CHECK(tmp.ok());
  CHECK(tmp->Bind(InetAddress::Loopback(0)).ok());
  return *tmp->LocalAddress();  // Closed on return: nobody listens there.
}

TcpClient::Options FastRetry() {
  TcpClient::Options options;
  options.connector.initial_backoff = absl::Milliseconds(10);
  options.connector.max_backoff = absl::Milliseconds(100);
  return options;
}

// Records the client's events; Wait* block until they happen.
struct Recorder {
  Mutex mutex;
  CondVar changed;
  int ups ABSL_GUARDED_BY(mutex) = 0;
  int downs ABSL_GUARDED_BY(mutex) = 0;
  std::vector<std::string> frames ABSL_GUARDED_BY(mutex);
  std::vector<absl::Status> connect_errors ABSL_GUARDED_BY(mutex);
  std::vector<absl::Time> connect_error_times ABSL_GUARDED_BY(mutex);

  void Attach(TcpClient* client) {
    client->SetConnectionCallback([this](const TcpConnectionPtr& conn) {
      MutexLock lock(&mutex);
      conn->connected() ? ++ups : ++downs;
      changed.SignalAll();
    });
    client->SetMessageCallback([this](const TcpConnectionPtr&, Buffer* in) {
      MutexLock lock(&mutex);
      ForEachFrame(in, 1 << 20,
                   [&](absl::string_view p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                       mutex) { frames.emplace_back(p); });
      changed.SignalAll();
    });
    client->SetConnectErrorCallback([this](const absl::Status& status) {
      MutexLock lock(&mutex);
      connect_errors.push_back(status);
      connect_error_times.push_back(absl::Now());
      changed.SignalAll();
    });
  }
  // Each waits up to 30 s until its count reaches `n`; false on timeout.
  bool WaitForUps(int n) ABSL_LOCKS_EXCLUDED(mutex) {
    return WaitFor(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) { return ups >= n; });
  }
  bool WaitForDowns(int n) ABSL_LOCKS_EXCLUDED(mutex) {
    return WaitFor(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) { return downs >= n; });
  }
  bool WaitForFrames(size_t n) ABSL_LOCKS_EXCLUDED(mutex) {
    return WaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
      return frames.size() >= n;
    });
  }
  bool WaitForConnectErrors(size_t n) ABSL_LOCKS_EXCLUDED(mutex) {
    return WaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
      return connect_errors.size() >= n;
    });
  }

 private:
  // `done` runs under `mutex`. Callers are members so that its annotation
  // names this object's mutex: clang cannot match `rec.mutex` written at a
  // call site outside against `mutex` held in here.
  template <typename Predicate>
  bool WaitFor(Predicate done) ABSL_LOCKS_EXCLUDED(mutex) {
    MutexLock lock(&mutex);
    return changed.WaitUntil(&mutex, absl::Now() + absl::Seconds(30), done);
  }
};

std::string Frame(absl::string_view payload) {
  Buffer buf;
  AppendFrame(payload, &buf);
  return buf.RetrieveAllAsString();
}

TEST(TcpClientTest, ConnectsAndEchoes) {
  EchoServer server;
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  TcpClient client(loop, server.address(), TcpClient::Options{});
  Recorder rec;
  rec.Attach(&client);
  client.Connect();
  ASSERT_TRUE(rec.WaitForUps(1));
  TcpConnectionPtr conn = client.connection();
  ASSERT_NE(conn, nullptr);
  conn->Send(Frame("hello"));  // From this (non-loop) thread.
  ASSERT_TRUE(rec.WaitForFrames(1));
  MutexLock lock(&rec.mutex);
  EXPECT_EQ(rec.frames[0], "hello");
}

TEST(TcpClientTest, ReconnectsAfterServerRestartsOnSamePort) {
  auto server = std::make_unique<EchoServer>();
  const uint16_t port = server->address().port();
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  TcpClient::Options options = FastRetry();
  options.reconnect = true;
  TcpClient client(loop, server->address(), options);
  Recorder rec;
  rec.Attach(&client);
  client.Connect();
  ASSERT_TRUE(rec.WaitForUps(1));

  server.reset();  // Stop: the client's connection goes down.
  ASSERT_TRUE(rec.WaitForDowns(1));
  // While the server is down the client keeps trying and is refused.
  ASSERT_TRUE(rec.WaitForConnectErrors(1));
  {
    MutexLock lock(&rec.mutex);
    EXPECT_EQ(rec.connect_errors[0].code(), absl::StatusCode::kUnavailable)
        << rec.connect_errors[0];
  }
  server = std::make_unique<EchoServer>(port);  // Same port: SO_REUSEADDR.
  ASSERT_TRUE(rec.WaitForUps(2));
  client.connection()->Send(Frame("back again"));
  ASSERT_TRUE(rec.WaitForFrames(1));
  MutexLock lock(&rec.mutex);
  EXPECT_EQ(rec.frames[0], "back again");
}

TEST(TcpClientTest, RefusedConnectsBackOffExponentiallyWithJitter) {
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  TcpClient::Options options;
  options.connector.initial_backoff = absl::Milliseconds(20);
  options.connector.max_backoff = absl::Seconds(10);
  options.connector.jitter = 0.2;
  TcpClient client(loop, DeadAddress(), options);
  Recorder rec;
  rec.Attach(&client);
  client.Connect();
  ASSERT_TRUE(rec.WaitForConnectErrors(5));
  client.Stop();
  MutexLock lock(&rec.mutex);
  for (const absl::Status& status : rec.connect_errors) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  }
  // Gaps: ~20, 40, 80, 160 ms, each within +-20% jitter (plus scheduling
  // slack upward only).
  double expected_ms = 20;
  for (size_t i = 1; i < 5; ++i) {
    const double gap_ms = absl::ToDoubleMilliseconds(
        rec.connect_error_times[i] - rec.connect_error_times[i - 1]);
    EXPECT_GE(gap_ms, expected_ms * 0.8 - 1) << "gap " << i;
    EXPECT_LE(gap_ms, expected_ms * 1.2 + 50) << "gap " << i;
    expected_ms *= 2;
  }
  EXPECT_EQ(client.connect_attempts(),
            static_cast<int>(rec.connect_errors.size()));
}

TEST(TcpClientTest, DestroyFromAnotherThreadWhileConnectingOrBackingOff) {
  EchoServer server;
  const InetAddress dead = DeadAddress();
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  std::atomic<bool> destroyed{false};
  std::atomic<int> late_callbacks{0};
  for (int i = 0; i < 50; ++i) {
    destroyed = false;
    {
      // Alternate: a live server (connect in flight) and a dead one
      // (refused, then waiting in backoff).
      TcpClient client(loop, i % 2 ? server.address() : dead, FastRetry());
      client.SetConnectionCallback([&](const TcpConnectionPtr&) {
        if (destroyed) ++late_callbacks;
      });
      client.SetConnectErrorCallback([&](const absl::Status&) {
        if (destroyed) ++late_callbacks;
      });
      client.Connect();
      if (i % 4 == 3) {
        // Sometimes let it get further before the destructor runs.
        RunInLoopAndWait(loop, [] {});
      }
    }  // Destructor on this thread, while the loop thread runs.
    destroyed = true;
  }
  // Let anything still queued or timed run: none of it may reach a callback.
  Notification flushed;
  loop->RunAfter(absl::Milliseconds(150), [&] { flushed.Notify(); });
  ASSERT_TRUE(flushed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(late_callbacks.load(), 0);
}

TEST(TcpClientTest, DestroyWithOpenConnectionReportsDownBeforeReturning) {
  EchoServer server;
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  Recorder rec;
  {
    TcpClient client(loop, server.address(), TcpClient::Options{});
    rec.Attach(&client);
    client.Connect();
    ASSERT_TRUE(rec.WaitForUps(1));
  }
  MutexLock lock(&rec.mutex);
  EXPECT_EQ(rec.downs, 1);  // Already, without waiting.
}

TEST(TcpClientTest, DisconnectHalfClosesAndDoesNotReconnect) {
  EchoServer server;
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  TcpClient::Options options = FastRetry();
  options.reconnect = true;
  TcpClient client(loop, server.address(), options);
  Recorder rec;
  rec.Attach(&client);
  client.Connect();
  ASSERT_TRUE(rec.WaitForUps(1));
  client.Disconnect();  // FIN; the server closes its side; we see down.
  ASSERT_TRUE(rec.WaitForDowns(1));
  // A reconnect, had it been scheduled, would come after 10 ms of backoff.
  Notification waited;
  loop->RunAfter(absl::Milliseconds(100), [&] { waited.Notify(); });
  ASSERT_TRUE(waited.WaitForNotificationWithTimeout(absl::Seconds(30)));
  MutexLock lock(&rec.mutex);
  EXPECT_EQ(rec.ups, 1);
  EXPECT_EQ(client.connection(), nullptr);
}

// A TLS server that refuses the client sends an alert, then closes; what
// the client sent after that draws a reset. When the alert and the reset
// are both waiting by the time the client's loop looks, epoll reports the
// error first: the queued alert is read before it, so the attempt fails
// with the server's reason, not with "connection reset".
TEST(TcpClientTest, TlsAlertQueuedBeforeAResetIsTheReason) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len),
            0);

  const TestCa ca = TestCa::Create("mrpc test CA");
  TlsContext::Config config;
  config.role = TlsContext::Role::kClient;
  TlsContext::Material material;
  material.ca_pem = ca.cert_pem();
  absl::StatusOr<std::shared_ptr<TlsContext>> tls =
      TlsContext::CreateFromPem(config, material);
  ASSERT_TRUE(tls.ok()) << tls.status();
  EventLoopThread loop_thread("client-loop");
  EventLoop* loop = testing::StartOrDie(&loop_thread);
  TcpClient::Options options = FastRetry();
  options.connector.retry = false;
  options.tls = *tls;
  options.tls_server_name = "localhost";
  // The reason is copied on the loop: a Status shared with this thread is
  // freed by whichever side drops it last, synchronized by a refcount in
  // Debian's uninstrumented abseil, which TSan cannot see. Declared before
  // the client, whose destructor may still call back.
  Mutex mutex;
  std::string reason;
  int ups = 0;
  Notification failed;
  TcpClient client(loop, InetAddress::Loopback(ntohs(addr.sin_port)), options);
  client.SetConnectionCallback([&](const TcpConnectionPtr& conn) {
    MutexLock lock(&mutex);
    if (conn->connected()) ++ups;
  });
  client.SetConnectErrorCallback([&](const absl::Status& status) {
    {
      MutexLock lock(&mutex);
      reason = std::string(status.message());
    }
    failed.Notify();
  });
  client.Connect();

  pollfd pfd{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  const int peer = ::accept(listener, nullptr, nullptr);
  ASSERT_GE(peer, 0);
  char hello[4096];
  pfd = {peer, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  ASSERT_GT(::read(peer, hello, sizeof hello), 0);  // The ClientHello.
  ASSERT_EQ(hello[0], '\x16');
  // Hold the client's loop while the alert and the reset arrive.
  Notification held;
  Notification release;
  loop->RunInLoop([&] {
    held.Notify();
    release.WaitForNotification();
  });
  ASSERT_TRUE(held.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 48};  // unknown_ca
  ASSERT_EQ(::write(peer, alert, sizeof alert), 7);
  const linger abort_on_close{1, 0};
  ASSERT_EQ(::setsockopt(peer, SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof abort_on_close),
            0);
  ::close(peer);  // RST, behind the alert.
  absl::SleepFor(absl::Milliseconds(100));
  release.Notify();

  ASSERT_TRUE(failed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  MutexLock lock(&mutex);
  EXPECT_TRUE(absl::StrContains(reason, "alert unknown ca")) << reason;
  EXPECT_EQ(ups, 0);
  ::close(listener);
}

}  // namespace
}  // namespace mrpc
