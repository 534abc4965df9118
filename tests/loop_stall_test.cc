// The server's loop-stall watchdog end to end: an inline handler that
// blocks its loop is reported once, by method and loop name, and counted in
// ServerStats and Server::loop_stats(); fast calls are not.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::LogCapture;

constexpr char kService[] = "mrpc.test.StallService";

class LoopStallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.num_threads = 2;
    options.shutdown_grace = absl::Milliseconds(100);
    server_ = std::make_unique<Server>(options);
    auto echo = [](ServerContext*, const EchoRequest& req, EchoResponse* resp,
                   RpcDone done) {
      resp->set_payload(req.payload());
      done(absl::OkStatus());
    };
    absl::Status registered =
        server_->RegisterMethod<EchoRequest, EchoResponse>(kService, "Fast",
                                                           echo);
    ASSERT_TRUE(registered.ok()) << registered;
    registered = server_->RegisterMethod<EchoRequest, EchoResponse>(
        kService, "Sleep",
        [echo](ServerContext* ctx, const EchoRequest& req, EchoResponse* resp,
               RpcDone done) {
          // Inline: blocks the connection's loop (the bug the watchdog is
          // there to name).
          absl::SleepFor(absl::Milliseconds(200));
          echo(ctx, req, resp, std::move(done));
        });
    ASSERT_TRUE(registered.ok()) << registered;
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = std::move(*channel);
  }
  void TearDown() override {
    channel_.reset();
    server_->Shutdown();
    server_->Wait();
  }
  absl::Status Call(const std::string& method) {
    EchoRequest req;
    req.set_payload("x");
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(10));
    return channel_->CallMethodBlocking(kService, method, req, &resp, &ctx);
  }
  uint64_t StalledNs() {
    uint64_t total = 0;
    for (const LoopStats& s : server_->loop_stats()) {
      total += s.stalled_ns;
    }
    return total;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> channel_;
};

std::vector<std::string> StallWarnings(LogCapture* capture) {
  std::vector<std::string> warnings;
  for (const LogCapture::Line& line : capture->Lines()) {
    if (line.severity == google::GLOG_WARNING &&
        absl::StrContains(line.text, " stalled: ")) {
      warnings.push_back(line.text);
    }
  }
  return warnings;
}

TEST_F(LoopStallTest, LoopsAreWatchedByName) {
  const std::vector<LoopStats> loops = server_->loop_stats();
  std::vector<std::string> names;
  for (const LoopStats& s : loops) names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mrpc-accept", "mrpc-io-0",
                                             "mrpc-io-1"}));
}

TEST_F(LoopStallTest, BlockingHandlerIsReportedOnce) {
  LogCapture capture;
  ASSERT_TRUE(Call("Fast").ok());  // Connected first: the stall is the call.
  ASSERT_TRUE(Call("Sleep").ok());
  ASSERT_TRUE(Eventually([&] { return StalledNs() > 0; }));

  const std::vector<std::string> warnings = StallWarnings(&capture);
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_TRUE(absl::StrContains(warnings[0],
                                "held by mrpc.test.StallService/Sleep"))
      << warnings[0];
  EXPECT_TRUE(absl::StrContains(warnings[0], "event loop mrpc-io-"))
      << warnings[0];

  EXPECT_EQ(server_->stats().loop_stalls, 1u);
  uint64_t stalls = 0;
  for (const LoopStats& s : server_->loop_stats()) {
    stalls += s.stalls;
    if (s.stalls == 0) continue;
    EXPECT_TRUE(absl::StrContains(warnings[0], s.name)) << s.name;
    EXPECT_GE(s.stalled_ns, 200'000'000u);
    EXPECT_EQ(s.slowest_holder, "mrpc.test.StallService/Sleep");
    EXPECT_GE(s.busy_ns, 200'000'000u);
  }
  EXPECT_EQ(stalls, 1u);
}

TEST_F(LoopStallTest, FastCallsAreNoStall) {
  LogCapture capture;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(Call("Fast").ok());
  EXPECT_TRUE(StallWarnings(&capture).empty())
      << ::testing::PrintToString(capture.Texts());
  EXPECT_EQ(server_->stats().loop_stalls, 0u);
  uint64_t iterations = 0;
  for (const LoopStats& s : server_->loop_stats()) {
    EXPECT_EQ(s.stalls, 0u) << s.name;
    iterations += s.iterations;
  }
  EXPECT_GE(iterations, 200u);
}

TEST(LoopStallOptionsTest, ZeroThresholdDisablesTheWatchdog) {
  ServerOptions options;
  options.num_threads = 1;
  options.loop_stall_threshold = absl::ZeroDuration();
  Server server(options);
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  EXPECT_TRUE(server.loop_stats().empty());
  EXPECT_EQ(server.stats().loop_stalls, 0u);
  server.Shutdown();
  server.Wait();
}

}  // namespace
}  // namespace mrpc
