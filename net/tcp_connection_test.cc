// TcpConnection behaviour seen from a raw peer: cross-thread sends,
// backpressure (StopRead/StartRead) in both trigger modes, errors.
#include "net/tcp_connection.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/length_codec.h"
#include "net/sync.h"
#include "net/tcp_server.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

using ::mrpc::testing::LengthPrefixed;
using ::mrpc::testing::RawClient;

// A server that hands its single connection to the test and records what
// arrives; the test decides what the server does.
class ConnectionTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    EventLoop* loop = testing::StartOrDie(&base_);
    TcpServerOptions options;
    options.num_threads = 1;
    options.connection.edge_triggered = GetParam();
    server_ =
        std::make_unique<TcpServer>(loop, InetAddress::Loopback(0), options);
    server_->SetConnectionCallback([this](const TcpConnectionPtr& conn) {
      MutexLock lock(&mutex_);
      if (conn->connected()) {
        conn_ = conn;
      } else {
        close_reason_ = conn->close_reason();
        closed_ = true;
      }
      changed_.SignalAll();
    });
    server_->SetMessageCallback([this](const TcpConnectionPtr&, Buffer* in) {
      MutexLock lock(&mutex_);
      received_ += in->RetrieveAllAsString();
      changed_.SignalAll();
    });
    ASSERT_TRUE(server_->Start().ok());
    absl::StatusOr<RawClient> client =
        RawClient::Connect(server_->listen_address());
    ASSERT_TRUE(client.ok());
    client_ = std::make_unique<RawClient>(std::move(*client));
    ASSERT_TRUE(WaitForConnection());
  }
  void TearDown() override {
    {
      MutexLock lock(&mutex_);
      conn_.reset();
    }
    server_->Stop();
  }
  // Each waits up to 30 s for what it names; false on timeout.
  bool WaitForConnection() ABSL_LOCKS_EXCLUDED(mutex_) {
    return WaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return conn_ != nullptr;
    });
  }
  bool WaitForReceived(absl::string_view bytes) ABSL_LOCKS_EXCLUDED(mutex_) {
    return WaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
      return received_ == bytes;
    });
  }
  bool WaitForClosed() ABSL_LOCKS_EXCLUDED(mutex_) {
    return WaitFor(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return closed_; });
  }
  // `done` runs under mutex_.
  template <typename Predicate>
  bool WaitFor(Predicate done) ABSL_LOCKS_EXCLUDED(mutex_) {
    MutexLock lock(&mutex_);
    return changed_.WaitUntil(&mutex_, absl::Now() + absl::Seconds(30), done);
  }
  TcpConnectionPtr conn() ABSL_LOCKS_EXCLUDED(mutex_) {
    MutexLock lock(&mutex_);
    return conn_;
  }

  EventLoopThread base_{"test-base"};
  std::unique_ptr<TcpServer> server_;
  std::unique_ptr<RawClient> client_;
  Mutex mutex_;
  CondVar changed_;
  TcpConnectionPtr conn_ ABSL_GUARDED_BY(mutex_);
  std::string received_ ABSL_GUARDED_BY(mutex_);
  bool closed_ ABSL_GUARDED_BY(mutex_) = false;
  TcpConnection::CloseReason close_reason_ ABSL_GUARDED_BY(mutex_);
};

TEST_P(ConnectionTest, SendsFromManyThreadsKeepEachThreadsOrder) {
  constexpr int kThreads = 4;
  constexpr int kFrames = 500;
  TcpConnectionPtr c = conn();
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([c, t] {
      Buffer frame;
      for (int i = 0; i < kFrames; ++i) {
        // Alternate the two Send forms; both are thread-safe.
        const std::string payload = std::to_string(t) + ":" + std::to_string(i);
        if (i % 2 == 0) {
          c->Send(LengthPrefixed(payload));
        } else {
          AppendFrame(payload, &frame);
          c->Send(&frame);
          EXPECT_EQ(frame.ReadableBytes(), 0u);
        }
      }
    });
  }
  for (auto& s : senders) s.join();
  Buffer in;
  std::vector<int> next(kThreads, 0);
  int total = 0;
  while (total < kThreads * kFrames) {
    absl::StatusOr<std::string> bytes = client_->ReadExactly(1);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    in.Append(*bytes);
    ForEachFrame(&in, 100, [&](absl::string_view payload) {
      const int t = payload[0] - '0';
      EXPECT_EQ(std::string(payload.substr(2)), std::to_string(next[t]));
      ++next[t];
      ++total;
    });
  }
}

TEST_P(ConnectionTest, StopReadHoldsBytesUntilStartRead) {
  TcpConnectionPtr c = conn();
  RunInLoopAndWait(c->loop(), [c] { c->StopRead(); });
  ASSERT_TRUE(client_->Write("held back").ok());
  // The bytes sit in the kernel while reading is stopped. Prove that by
  // round-tripping the loop a few times: nothing may be delivered.
  for (int i = 0; i < 5; ++i) RunInLoopAndWait(c->loop(), [] {});
  {
    MutexLock lock(&mutex_);
    EXPECT_EQ(received_, "");
  }
  RunInLoopAndWait(c->loop(), [c] {
    EXPECT_FALSE(c->reading());
    c->StartRead();
  });
  ASSERT_TRUE(WaitForReceived("held back"));
}

TEST_P(ConnectionTest, WritingToAResetPeerClosesTheConnectionNotTheProcess) {
  TcpConnectionPtr c = conn();
  ASSERT_TRUE(client_->SetLingerZero().ok());
  client_->Close();  // RST.
  // Keep sending: the first write after the reset gets ECONNRESET or EPIPE
  // (and would raise SIGPIPE without MSG_NOSIGNAL).
  const std::string chunk(16 * 1024, 'x');
  for (int i = 0; i < 1000 && !c->disconnected(); ++i) c->Send(chunk);
  ASSERT_TRUE(WaitForClosed());
  MutexLock lock(&mutex_);
  EXPECT_TRUE(close_reason_ == TcpConnection::CloseReason::kError ||
              close_reason_ == TcpConnection::CloseReason::kPeerClosed)
      << TcpConnection::CloseReasonName(close_reason_);
}

TEST_P(ConnectionTest, ForceCloseFromAnotherThread) {
  conn()->ForceClose();
  EXPECT_TRUE(client_->WaitForClose().ok());
  ASSERT_TRUE(WaitForClosed());
  MutexLock lock(&mutex_);
  EXPECT_EQ(close_reason_, TcpConnection::CloseReason::kLocalClose);
}

TEST_P(ConnectionTest, ShutdownSendsFinAfterPendingOutput) {
  TcpConnectionPtr c = conn();
  const std::string big(2 << 20, 'b');
  c->Send(big);
  c->Shutdown();  // Half-close once the 2 MiB are out.
  std::string received;
  EXPECT_TRUE(client_->WaitForClose(absl::Seconds(30), &received).ok());
  EXPECT_EQ(received.size(), big.size());
  // Our side may still write: the server reads it (reading goes on).
  ASSERT_TRUE(client_->Write("after fin").ok());
  ASSERT_TRUE(WaitForReceived("after fin"));
}

INSTANTIATE_TEST_SUITE_P(TriggerModes, ConnectionTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "EdgeTriggered"
                                             : "LevelTriggered";
                         });

}  // namespace
}  // namespace mrpc
