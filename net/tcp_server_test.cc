// End-to-end tests of TcpServer + TcpConnection over loopback: a framed echo
// server on a base loop thread, driven by raw blocking sockets that play
// well-behaved and badly-behaved peers.
#include "net/tcp_server.h"

#include <glog/logging.h>
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/length_codec.h"
#include "net/sync.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

using ::mrpc::testing::LengthPrefixed;
using ::mrpc::testing::RawClient;

class EchoServerTest : public ::testing::Test {
 protected:
  // Starts a framed echo server with `options` on a fresh base loop.
  void StartServer(TcpServerOptions options) {
    base_ = std::make_unique<EventLoopThread>("test-base");
    EventLoop* base_loop = testing::StartOrDie(base_.get());
    server_ = std::make_unique<TcpServer>(base_loop, InetAddress::Loopback(0),
                                          std::move(options));
    server_->SetConnectionCallback([this](const TcpConnectionPtr& conn) {
      MutexLock lock(&mutex_);
      if (conn->connected()) {
        up_loops_[conn->id()] = conn->loop();
        ++ups_;
      } else {
        close_reasons_[conn->id()] = conn->close_reason();
        ++downs_;
      }
      changed_.SignalAll();
    });
    server_->SetMessageCallback([](const TcpConnectionPtr& conn, Buffer* in) {
      const int frames =
          ForEachFrame(in, 64 << 20, [&](absl::string_view payload) {
            conn->SendInPlace([&](Buffer* out) { AppendFrame(payload, out); });
          });
      if (frames < 0) conn->ForceClose();
    });
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    base_.reset();
  }

  // Waits until `n` connections have come up (down) in total.
  bool WaitForUps(int n) ABSL_LOCKS_EXCLUDED(mutex_) {
    return WaitFor(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return ups_ >= n; });
  }
  bool WaitForDowns(int n) ABSL_LOCKS_EXCLUDED(mutex_) {
    return WaitFor(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return downs_ >= n; });
  }
  // `done` runs under mutex_.
  template <typename Predicate>
  bool WaitFor(Predicate done) ABSL_LOCKS_EXCLUDED(mutex_) {
    MutexLock lock(&mutex_);
    return changed_.WaitUntil(&mutex_, absl::Now() + absl::Seconds(30), done);
  }

  RawClient Connect() {
    absl::StatusOr<RawClient> client =
        RawClient::Connect(server_->listen_address());
    CHECK(client.ok()) << client.status();
    return std::move(*client);
  }

  // Sends one frame and checks the echo.
  void ExpectEcho(RawClient& client, const std::string& payload) {
    ASSERT_TRUE(client.Write(LengthPrefixed(payload)).ok());
    absl::StatusOr<std::string> echo = client.ReadExactly(4 + payload.size());
    ASSERT_TRUE(echo.ok()) << echo.status();
    EXPECT_TRUE(*echo == LengthPrefixed(payload)) << "echo differs";
  }

  std::unique_ptr<EventLoopThread> base_;
  std::unique_ptr<TcpServer> server_;
  Mutex mutex_;
  CondVar changed_;
  int ups_ ABSL_GUARDED_BY(mutex_) = 0;
  int downs_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<uint64_t, EventLoop*> up_loops_ ABSL_GUARDED_BY(mutex_);
  std::map<uint64_t, TcpConnection::CloseReason> close_reasons_
      ABSL_GUARDED_BY(mutex_);
};

TEST_F(EchoServerTest, FourLoopsTake400ConnectionsExactlyRoundRobin) {
  TcpServerOptions options;
  options.num_threads = 4;
  StartServer(options);
  std::vector<RawClient> clients;
  for (int i = 0; i < 400; ++i) clients.push_back(Connect());
  ASSERT_TRUE(WaitForUps(400));
  EXPECT_EQ(server_->ConnectionsPerLoop(),
            (std::vector<int>{100, 100, 100, 100}));
  EXPECT_EQ(server_->num_connections(), 400);
  // Not just the totals: the i-th accepted connection went to loop i % 4.
  const std::vector<EventLoop*>& loops = server_->loops();
  MutexLock lock(&mutex_);
  for (const auto& [id, loop] : up_loops_) {
    EXPECT_EQ(loop, loops[(id - 1) % 4]) << "connection " << id;
  }
}

TEST_F(EchoServerTest, FrameSentOneByteAtATimeArrivesIntact) {
  TcpServerOptions options;
  options.num_threads = 1;
  StartServer(options);
  RawClient client = Connect();
  int one = 1;  // Each 1-byte write its own segment.
  ::setsockopt(client.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string payload;
  for (int i = 0; i < 200; ++i) payload.push_back(static_cast<char>(i));
  const std::string frame = LengthPrefixed(payload);
  for (char c : frame) ASSERT_TRUE(client.Write(std::string(1, c)).ok());
  absl::StatusOr<std::string> echo = client.ReadExactly(frame.size());
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, frame);
}

TEST_F(EchoServerTest, OneMegabyteFrameArrivesIntact) {
  TcpServerOptions options;
  options.num_threads = 2;
  StartServer(options);
  RawClient client = Connect();
  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i * 31 + 7);
  ExpectEcho(client, payload);
}

TEST_F(EchoServerTest, ManyFramesInOneSegmentAreAllDelivered) {
  TcpServerOptions options;
  options.num_threads = 1;
  StartServer(options);
  RawClient client = Connect();
  std::string burst;
  for (int i = 0; i < 100; ++i)
    burst += LengthPrefixed("frame-" + std::to_string(i));
  ASSERT_TRUE(client.Write(burst).ok());  // One write: coalesced frames.
  absl::StatusOr<std::string> echo = client.ReadExactly(burst.size());
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, burst);
}

TEST_F(EchoServerTest, EdgeTriggeredModeEchoesToo) {
  TcpServerOptions options;
  options.num_threads = 2;
  options.connection.edge_triggered = true;
  StartServer(options);
  RawClient client = Connect();
  ExpectEcho(client, "edge");
  ExpectEcho(client,
             std::string(3 << 20, 'e'));  // Needs many reads and writes.
}

TEST_F(EchoServerTest, PeerHalfCloseStillGetsPendingOutputThenClose) {
  TcpServerOptions options;
  options.num_threads = 1;
  StartServer(options);
  absl::StatusOr<RawClient> connected =
      RawClient::Connect(server_->listen_address(), absl::Seconds(10), 4096);
  ASSERT_TRUE(connected.ok());
  RawClient& client = *connected;
  // A 16 MiB echo cannot fit in the socket buffers (tcp_wmem tops out at
  // 4 MB) while we do not read, so most of it is still in the server's
  // output buffer when our FIN arrives.
  const std::string frame = LengthPrefixed(std::string(16 << 20, 'h'));
  ASSERT_TRUE(client.Write(frame).ok());
  ASSERT_TRUE(client.ShutdownWrite().ok());
  std::string received;
  ASSERT_TRUE(client.WaitForClose(absl::Seconds(30), &received).ok())
      << received.size() << " of " << frame.size() << " bytes";
  EXPECT_EQ(received.size(), frame.size());
  EXPECT_TRUE(received == frame);
  ASSERT_TRUE(WaitForDowns(1));
  MutexLock lock(&mutex_);
  EXPECT_EQ(close_reasons_.begin()->second,
            TcpConnection::CloseReason::kPeerClosed);
}

TEST_F(EchoServerTest, TwoThousandConnectionsEchoAcrossLoops) {
  TcpServerOptions options;
  options.num_threads = 4;
  StartServer(options);
  constexpr int kClients = 2000;
  std::vector<RawClient> clients;
  for (int i = 0; i < kClients; ++i) clients.push_back(Connect());
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(
        clients[i].Write(LengthPrefixed("client " + std::to_string(i))).ok());
  }
  for (int i = 0; i < kClients; ++i) {
    const std::string want = LengthPrefixed("client " + std::to_string(i));
    absl::StatusOr<std::string> echo = clients[i].ReadExactly(want.size());
    ASSERT_TRUE(echo.ok()) << i << ": " << echo.status();
    ASSERT_EQ(*echo, want);
  }
  const std::vector<int> per_loop = server_->ConnectionsPerLoop();
  EXPECT_EQ(per_loop, (std::vector<int>{500, 500, 500, 500}));
}

TEST_F(EchoServerTest, OversizedFrameClosesOnlyThatConnection) {
  TcpServerOptions options;
  options.num_threads = 2;
  StartServer(options);
  RawClient good = Connect();
  RawClient bad = Connect();
  ASSERT_TRUE(bad.Write(std::string("\x7f\xff\xff\xff", 4)).ok());  // 2 GiB.
  EXPECT_TRUE(bad.WaitForClose().ok());
  ExpectEcho(good, "still here");
}

TEST_F(EchoServerTest, ConnectionCapRefusesExtraConnections) {
  TcpServerOptions options;
  options.num_threads = 1;
  options.max_connections = 3;
  StartServer(options);
  std::vector<RawClient> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(Connect());
  ASSERT_TRUE(WaitForUps(3));
  RawClient extra = Connect();  // The kernel accepts it; the server closes it.
  EXPECT_TRUE(extra.WaitForClose().ok());
  EXPECT_EQ(server_->rejected_over_cap(), 1u);
  for (auto& c : clients) ExpectEcho(c, "under the cap");
}

TEST_F(EchoServerTest, ResetByPeerClosesConnectionAndServerLivesOn) {
  TcpServerOptions options;
  options.num_threads = 1;
  StartServer(options);
  {
    RawClient doomed = Connect();
    ASSERT_TRUE(WaitForUps(1));
    ASSERT_TRUE(doomed.SetLingerZero().ok());
  }  // RST.
  ASSERT_TRUE(WaitForDowns(1));
  RawClient next = Connect();
  ExpectEcho(next, "after the reset");
}

// A server that streams data at a client that never reads: the high-water
// callback fires once, and past the hard cap the connection is closed, so
// the server's memory stays bounded.
TEST(SlowReaderTest, HighWaterMarkThenHardCapCloses) {
  EventLoopThread base("test-base");
  EventLoop* base_loop = testing::StartOrDie(&base);
  TcpServerOptions options;
  options.num_threads = 1;
  options.connection.high_water_mark = 1 << 20;
  options.connection.max_output_bytes = 4 << 20;
  TcpServer server(base_loop, InetAddress::Loopback(0), options);
  std::atomic<int> high_water_calls{0};
  std::atomic<size_t> high_water_bytes{0};
  std::atomic<size_t> queued_when_closed{0};
  Notification closed;
  std::atomic<TcpConnection::CloseReason> reason{
      TcpConnection::CloseReason::kNone};
  server.SetHighWaterMarkCallback([&](const TcpConnectionPtr&, size_t bytes) {
    ++high_water_calls;
    high_water_bytes = bytes;
  });
  server.SetConnectionCallback([&](const TcpConnectionPtr& conn) {
    if (!conn->connected()) {
      reason = conn->close_reason();
      closed.Notify();
    }
  });
  server.SetMessageCallback([&](const TcpConnectionPtr& conn, Buffer* in) {
    in->RetrieveAll();
    // Any request: answer with up to 64 MiB, 64 KiB at a time.
    const std::string chunk(64 * 1024, 's');
    size_t queued = 0;
    while (conn->connected() && queued < (64u << 20)) {
      conn->Send(chunk);
      queued += chunk.size();
    }
    queued_when_closed = queued;
  });
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<RawClient> client =
      RawClient::Connect(server.listen_address(), absl::Seconds(10), 4096);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->Write("go").ok());
  ASSERT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // The high-water callback is queued on the loop; let the queue run.
  RunInLoopAndWait(server.loops()[0], [] {});
  EXPECT_EQ(reason.load(), TcpConnection::CloseReason::kOutputOverflow);
  EXPECT_EQ(high_water_calls.load(), 1);
  EXPECT_GE(high_water_bytes.load(), 1u << 20);
  // Closed after ~4 MiB (plus what the kernel buffers took), not 64 MiB.
  EXPECT_LT(queued_when_closed.load(), 16u << 20);
  // The client sees what the kernel had buffered, then the close.
  std::string drained;
  EXPECT_TRUE(client->WaitForClose(absl::Seconds(30), &drained).ok());
  EXPECT_LT(drained.size(), 16u << 20);
  server.Stop();
}

TEST(IdleTimeoutTest, ClosesSilentConnectionsAndLeavesBusyOnesAlone) {
  EventLoopThread base("test-base");
  EventLoop* base_loop = testing::StartOrDie(&base);
  TcpServerOptions options;
  options.num_threads = 2;
  options.connection.idle_timeout = absl::Milliseconds(200);
  TcpServer server(base_loop, InetAddress::Loopback(0), options);
  Mutex mutex;
  std::map<uint64_t, TcpConnection::CloseReason> reasons;
  server.SetConnectionCallback([&](const TcpConnectionPtr& conn) {
    if (conn->disconnected()) {
      MutexLock lock(&mutex);
      reasons[conn->id()] = conn->close_reason();
    }
  });
  // "busy" marks the connection as having a call in flight, forever;
  // anything else is echoed.
  server.SetMessageCallback([&](const TcpConnectionPtr& conn, Buffer* in) {
    const std::string text = in->RetrieveAllAsString();
    if (text == "busy") {
      conn->SetBusy(true);
    } else {
      conn->Send(text);
    }
  });
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<RawClient> busy = RawClient::Connect(server.listen_address());
  ASSERT_TRUE(busy.ok());
  ASSERT_TRUE(busy->Write("busy").ok());
  absl::StatusOr<RawClient> chatty =
      RawClient::Connect(server.listen_address());
  ASSERT_TRUE(chatty.ok());
  absl::StatusOr<RawClient> silent =
      RawClient::Connect(server.listen_address());
  ASSERT_TRUE(silent.ok());
  const absl::Time silent_since = absl::Now();
  // Keep `chatty` active until the silent one has been closed.
  bool silent_closed = false;
  while (!silent_closed) {
    ASSERT_TRUE(chatty->Write("ping").ok());
    ASSERT_TRUE(chatty->ReadExactly(4).ok());
    silent_closed = silent->WaitForClose(absl::Milliseconds(50)).ok();
    ASSERT_LT(absl::Now() - silent_since, absl::Seconds(30));
  }
  EXPECT_GE(absl::Now() - silent_since, absl::Milliseconds(200));
  // The busy connection (silent for as long, but with a call in flight) and
  // the chatty one are still up.
  ASSERT_TRUE(chatty->Write("alive?").ok());
  EXPECT_TRUE(chatty->ReadExactly(6).ok());
  EXPECT_EQ(server.num_connections(), 2);
  {
    MutexLock lock(&mutex);
    ASSERT_EQ(reasons.size(), 1u);
    EXPECT_EQ(reasons.begin()->second,
              TcpConnection::CloseReason::kIdleTimeout);
  }
  server.Stop();
}

}  // namespace
}  // namespace mrpc
