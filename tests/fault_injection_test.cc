// Fault injection against a live server: resets mid-frame, a client that
// never reads, slowloris, connection floods, and a slow, stalled or cut
// network (through FaultProxy). Every case checks the status each call got,
// that no fd leaked (the process's fd count after teardown equals the count
// before setup; LeakSanitizer covers memory in the asan config), and that a
// bystander connection to the same server kept working throughout.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/codec.h"
#include "rpc/server.h"
#include "tests/fault_proxy.h"
#include "tests/test_service.h"
#include "tools/proc_stat.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::FaultProxy;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;

std::string RequestFrame(uint64_t id, const std::string& method,
                         const std::string& arg) {
  EchoRequest request;
  request.set_payload(arg);
  RpcMeta meta;
  meta.set_type(REQUEST);
  meta.set_correlation_id(id);
  meta.set_service(kTestService);
  meta.set_method(method);
  Buffer out;
  EncodeFrame(meta, &request, &out);
  return out.RetrieveAllAsString();
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { fds_before_ = ::mrpc::testing::CountOpenFds(); }

  void StartServer(ServerOptions options) {
    options.num_threads = 2;
    options.shutdown_grace = absl::Milliseconds(200);
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(
        ::mrpc::testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    bystander_ = NewChannel(server_address());
    ExpectWorks(bystander_.get());
  }

  void TearDown() override {
    if (bystander_) {
      ExpectWorks(bystander_.get());
      EXPECT_EQ(bystander_->stats().connection_losses, 0u)
          << "the bystander was disturbed";
      bystander_.reset();
    }
    if (server_) {
      server_->Shutdown();
      server_->Wait();
      server_.reset();
    }
    // Everything is closed: the process holds exactly the fds it began with.
    EXPECT_TRUE(Eventually(
        [&] { return ::mrpc::testing::CountOpenFds() == fds_before_; },
        absl::Seconds(5)))
        << ::mrpc::testing::CountOpenFds() << " fds open, " << fds_before_
        << " before";
  }

  std::string server_address() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  std::unique_ptr<Channel> NewChannel(
      const std::string& target,
      ChannelOptions options = HeartbeatingOptions()) {
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(target, options);
    CHECK(channel.ok()) << channel.status();
    return std::move(*channel);
  }
  static ChannelOptions HeartbeatingOptions() {
    ChannelOptions options;
    options.heartbeat_interval = absl::Milliseconds(50);
    options.heartbeat_timeout = absl::Milliseconds(400);
    options.connect.initial_backoff = absl::Milliseconds(20);
    options.connect.max_backoff = absl::Milliseconds(200);
    return options;
  }

  static absl::Status Call(Channel* channel, const std::string& method,
                           const std::string& arg,
                           absl::Duration timeout = absl::Seconds(5)) {
    EchoRequest request;
    request.set_payload(arg);
    EchoResponse response;
    ClientContext ctx;
    ctx.set_timeout(timeout);
    return channel->CallMethodBlocking(kTestService, method, request, &response,
                                       &ctx);
  }
  static void ExpectWorks(Channel* channel) {
    absl::Status s = Call(channel, "Echo", "ping");
    EXPECT_TRUE(s.ok()) << s;
  }

  int fds_before_ = 0;
  ::mrpc::testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> bystander_;
};

TEST_F(FaultInjectionTest, PeerResetInTheMiddleOfAFrame) {
  StartServer(ServerOptions());
  {
    absl::StatusOr<RawClient> raw =
        RawClient::Connect(InetAddress::Loopback(server_->port()));
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(Eventually([&] { return server_->stats().connections == 2; }));
    const std::string frame = RequestFrame(1, "Echo", std::string(1000, 'r'));
    ASSERT_TRUE(raw->Write(frame.substr(0, frame.size() / 2)).ok());
    ASSERT_TRUE(raw->SetLingerZero().ok());
  }  // RST with half a frame delivered.
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections == 1; }));
  EXPECT_EQ(server_->stats().error_closes, 1u);
  EXPECT_EQ(server_->stats().protocol_errors, 0u);
}

TEST_F(FaultInjectionTest, AClientThatNeverReadsIsClosedAtTheOutputCap) {
  ServerOptions options;
  options.output_high_water_mark = 1 << 20;
  options.max_output_bytes = 4 << 20;
  StartServer(options);
  const long long rss_before = ProcessRssBytes(getpid());
  absl::StatusOr<RawClient> raw = RawClient::Connect(
      InetAddress::Loopback(server_->port()), absl::Seconds(10), 4096);
  ASSERT_TRUE(raw.ok());
  // 64 requests for 256 KiB each in one write: 16 MiB of responses for a
  // client that reads none of them.
  std::string burst;
  for (int i = 1; i <= 64; ++i)
    burst += RequestFrame(i, "Big", std::to_string(256 << 10));
  ASSERT_TRUE(raw->Write(burst).ok());
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().overflow_closes == 1; }));
  std::string drained;
  EXPECT_TRUE(raw->WaitForClose(absl::Seconds(10), &drained).ok());
  // What the server buffered stayed near the cap, not the 16 MiB asked for.
  EXPECT_LT(ProcessRssBytes(getpid()) - rss_before, 48ll << 20);
}

TEST_F(FaultInjectionTest, ASlowReaderIsPausedNotClosedBelowTheCap) {
  ServerOptions options;
  options.output_high_water_mark = 1 << 20;
  options.max_output_bytes = 64 << 20;
  StartServer(options);
  absl::StatusOr<RawClient> raw = RawClient::Connect(
      InetAddress::Loopback(server_->port()), absl::Seconds(10), 4096);
  ASSERT_TRUE(raw.ok());
  std::string burst;
  for (int i = 1; i <= 8; ++i)
    burst += RequestFrame(i, "Big", std::to_string(512 << 10));
  ASSERT_TRUE(raw->Write(burst).ok());  // 4 MiB of responses: past the mark.
  ExpectWorks(bystander_.get());        // Others are served meanwhile.
  // The slow reader finally reads: it gets everything, and is served again.
  size_t total = 0;
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<std::string> header =
        raw->ReadExactly(kFrameHeaderSize, absl::Seconds(30));
    ASSERT_TRUE(header.ok()) << header.status();
    Buffer b;
    b.Append(*header);
    b.Retrieve(4);
    absl::StatusOr<std::string> body =
        raw->ReadExactly(b.ReadUint32(), absl::Seconds(30));
    ASSERT_TRUE(body.ok()) << body.status();
    total += body->size();
  }
  EXPECT_GT(total, 8u * (512 << 10));
  ASSERT_TRUE(raw->Write(RequestFrame(9, "Echo", "again")).ok());
  EXPECT_TRUE(raw->ReadExactly(kFrameHeaderSize).ok());
  EXPECT_EQ(server_->stats().overflow_closes, 0u);
}

TEST_F(FaultInjectionTest, SlowlorisOneByteASecondIsClosedByTheFrameTimeout) {
  ServerOptions options;
  options.frame_timeout = absl::Seconds(2);
  options.idle_timeout = absl::Seconds(30);  // Each byte would reset it anyway.
  StartServer(options);
  absl::StatusOr<RawClient> raw =
      RawClient::Connect(InetAddress::Loopback(server_->port()));
  ASSERT_TRUE(raw.ok());
  const std::string frame = RequestFrame(1, "Echo", "a slow frame");
  const absl::Time start = absl::Now();
  bool closed = false;
  for (size_t i = 0; i < frame.size() && !closed; ++i) {
    if (!raw->Write(frame.substr(i, 1)).ok()) break;
    // One byte a second; a closed connection shows up as EOF meanwhile.
    closed = raw->WaitForClose(absl::Seconds(1)).ok();
  }
  EXPECT_TRUE(closed || raw->WaitForClose(absl::Seconds(5)).ok());
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Seconds(2));
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_EQ(server_->stats().frame_timeouts, 1u);
}

TEST_F(FaultInjectionTest,
       AConnectionFloodPastTheCapIsRefusedAndTheServerRecovers) {
  ServerOptions options;
  options.max_connections = 20;
  StartServer(options);  // The bystander is connection 1.
  std::vector<RawClient> flood;
  for (int i = 0; i < 60; ++i) {
    absl::StatusOr<RawClient> c =
        RawClient::Connect(InetAddress::Loopback(server_->port()));
    ASSERT_TRUE(c.ok());  // The kernel accepts; the server closes the extras.
    flood.push_back(std::move(*c));
  }
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().rejected_over_cap == 41; }));
  EXPECT_EQ(server_->stats().connections, 20);
  ExpectWorks(bystander_.get());
  flood.clear();
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections == 1; }));
  auto fresh = NewChannel(server_address());
  ExpectWorks(fresh.get());
}

class ProxiedTest : public FaultInjectionTest {
 protected:
  void SetUp() override {
    FaultInjectionTest::SetUp();
    StartServer(ServerOptions());
    absl::StatusOr<std::unique_ptr<FaultProxy>> proxy =
        FaultProxy::Start(InetAddress::Loopback(server_->port()));
    ASSERT_TRUE(proxy.ok());
    proxy_ = std::move(*proxy);
    channel_ = NewChannel(proxy_->address().ToString());
    ExpectWorks(channel_.get());
  }
  void TearDown() override {
    channel_.reset();
    proxy_.reset();
    FaultInjectionTest::TearDown();
  }
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<Channel> channel_;
};

TEST_F(ProxiedTest, NetworkDelayIsPaidAndDeadlinesFireOnTime) {
  proxy_->SetDelay(FaultProxy::kToServer, absl::Milliseconds(40));
  proxy_->SetDelay(FaultProxy::kToClient, absl::Milliseconds(40));
  absl::Time start = absl::Now();
  EXPECT_TRUE(
      Call(channel_.get(), "Echo", "slow network", absl::Seconds(2)).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(80));  // Both ways.
  start = absl::Now();
  absl::Status s =
      Call(channel_.get(), "Echo", "too slow", absl::Milliseconds(50));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(took, absl::Milliseconds(50));
  EXPECT_LT(took,
            absl::Milliseconds(50 + 40));  // On time, not after the reply.
}

TEST_F(ProxiedTest, AStalledLinkFailsCallsOnTimeThenHeartbeatsReconnect) {
  proxy_->SetStalled(FaultProxy::kToClient,
                     true);  // Requests go, nothing returns.
  const absl::Time start = absl::Now();
  absl::Status s =
      Call(channel_.get(), "Echo", "into the void", absl::Milliseconds(100));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100 + 40));
  // A call with no deadline fails when the heartbeat gives the link up.
  s = Call(channel_.get(), "Echo", "no deadline", absl::InfiniteDuration());
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("heartbeat"), std::string::npos) << s;
  EXPECT_GE(channel_->stats().heartbeat_timeouts, 1u);
  proxy_->SetStalled(FaultProxy::kToClient, false);
  EXPECT_TRUE(
      Eventually([&] { return Call(channel_.get(), "Echo", "back").ok(); }));
  EXPECT_GE(channel_->stats().reconnects, 1u);
}

TEST_F(ProxiedTest, ACutFailsEveryPendingCallAtOnceAndTheChannelReconnects) {
  constexpr int kCalls = 10;
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoResponse> responses(kCalls);
  std::vector<absl::Status> statuses(kCalls);
  CountDownLatch done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_payload("5000");
    channel_->CallMethod(kTestService, "Delay", requests[i], &responses[i],
                         nullptr, [&, i](absl::Status s) {
                           statuses[i] = s;
                           done.CountDown();
                         });
  }
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().calls_in_flight == kCalls; }));
  const absl::Time cut = absl::Now();
  proxy_->CutAll(/*reset=*/true);
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(5)));
  EXPECT_LT(absl::Now() - cut, absl::Milliseconds(300));
  for (const absl::Status& s : statuses) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  }
  EXPECT_TRUE(Eventually(
      [&] { return Call(channel_.get(), "Echo", "after the cut").ok(); }));
}

TEST_F(ProxiedTest, DroppedRequestsTimeOutAndNothingElseBreaks) {
  proxy_->SetDropping(FaultProxy::kToServer,
                      true);  // A black hole for requests.
  absl::Status s = Call(channel_.get(), "Echo", "lost", absl::Milliseconds(80));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  proxy_->SetDropping(FaultProxy::kToServer, false);
  // The dropped bytes broke the stream's framing for that connection (the
  // server sees a frame whose start never came): the connection may be
  // closed as a protocol error; the channel reconnects either way.
  EXPECT_TRUE(
      Eventually([&] { return Call(channel_.get(), "Echo", "found").ok(); }));
}

}  // namespace
}  // namespace mrpc
