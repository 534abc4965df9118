// A flood of connections while the server's process is out of file
// descriptors. Its own test binary: it lowers RLIMIT_NOFILE, process-wide.
// The server keeps serving the connections it has, refuses new ones cleanly
// (never spinning), and serves new ones again once fds are free.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/socket.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

absl::Status Echo(Channel* channel) {
  echo::EchoRequest request;
  request.set_payload("x");
  echo::EchoResponse response;
  ClientContext ctx;
  ctx.set_timeout(absl::Seconds(5));
  return channel->CallMethodBlocking(testing::kTestService, "Echo", request,
                                     &response, &ctx);
}

TEST(FdExhaustionTest, ServerSurvivesAFloodPastTheFdLimitAndRecovers) {
  const int fds_before = testing::CountOpenFds();
  {
    ServerOptions options;
    options.num_threads = 1;
    options.shutdown_grace = absl::Milliseconds(200);
    Server server(options);
    testing::TestServiceCounters counters;
    ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
    ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
    const std::string target = absl::StrCat("127.0.0.1:", server.port());
    absl::StatusOr<std::unique_ptr<Channel>> bystander =
        Channel::Create(target);
    ASSERT_TRUE(bystander.ok());
    ASSERT_TRUE(Echo(bystander->get()).ok());

    // The flood's sockets need fds too: make them first.
    constexpr int kFlood = 50;
    std::vector<Socket> flood;
    for (int i = 0; i < kFlood; ++i) {
      absl::StatusOr<Socket> s = Socket::CreateTcp(AF_INET);
      ASSERT_TRUE(s.ok());
      flood.push_back(std::move(*s));
    }
    {
      testing::FdExhaustion exhausted;
      const absl::Duration cpu_before = testing::ProcessCpuTime();
      for (Socket& s : flood) {
        const int err = s.Connect(InetAddress::Loopback(server.port()));
        ASSERT_TRUE(err == 0 || err == EINPROGRESS) << err;
      }
      testing::Eventually(
          [&] { return server.stats().fd_exhaustion_drops >= kFlood; },
          absl::Seconds(20));
      EXPECT_EQ(server.stats().fd_exhaustion_drops,
                static_cast<uint64_t>(kFlood));
      // The connection it already had is served (it needs no new fd).
      EXPECT_TRUE(Echo(bystander->get()).ok());
      // Not spinning: the whole process used little CPU through all this.
      absl::SleepFor(absl::Milliseconds(200));  // Measuring idleness.
      EXPECT_LT(testing::ProcessCpuTime() - cpu_before,
                absl::Milliseconds(500));
    }
    flood.clear();
    // Fds are back: a new client is served.
    absl::StatusOr<std::unique_ptr<Channel>> fresh = Channel::Create(target);
    ASSERT_TRUE(fresh.ok());
    EXPECT_TRUE(Echo(fresh->get()).ok());
    EXPECT_EQ((*bystander)->stats().connection_losses, 0u);
    fresh->reset();
    bystander->reset();
    server.Shutdown();
    server.Wait();
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

}  // namespace
}  // namespace mrpc
