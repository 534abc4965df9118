// The process out of file descriptors. Its own test binary: it lowers
// RLIMIT_NOFILE, process-wide. Under a flood of connections the server keeps
// serving the connections it has, refuses new ones cleanly (never spinning),
// and serves new ones again once fds are free. Starting a server or creating
// a channel then fails with a Status instead of aborting.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
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

constexpr char kNoFds[] = "Too many open files";  // strerror(EMFILE)

// UBSan's vptr check (--config=asan) probes memory with pipe(2); out of fds
// that fails and it reports a bogus error. It caches the types it has
// checked, so it is shown a server's and a channel's while fds are free.
void ShowSanitizersAServerAndAChannel() {
  ServerOptions options;
  options.num_threads = 1;
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server.port()));
  ASSERT_TRUE(channel.ok());
  EXPECT_TRUE(Echo(channel->get()).ok());
  channel->reset();
  server.Shutdown();
  server.Wait();
}

// With no fd to spare, neither a server nor a channel with its own loop can
// make the loop it needs: both say so, RESOURCE_EXHAUSTED naming the fd,
// rather than abort the process; once fds are free the same calls work, and
// the failed attempts left nothing open.
TEST(FdExhaustionTest, StartAndCreateReportExhaustionAndWorkAfterwards) {
  ShowSanitizersAServerAndAChannel();
  const int fds_before = testing::CountOpenFds();
  {
    ServerOptions options;
    options.num_threads = 1;
    options.shutdown_grace = absl::Milliseconds(200);
    Server server(options);
    testing::TestServiceCounters counters;
    ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
    {
      testing::FdExhaustion exhausted;
      const absl::Status started = server.Start("127.0.0.1:0");
      EXPECT_EQ(started.code(), absl::StatusCode::kResourceExhausted)
          << started;
      EXPECT_TRUE(absl::StrContains(started.message(), "mrpc-accept"))
          << started;
      EXPECT_TRUE(absl::StrContains(started.message(), "eventfd")) << started;
      EXPECT_TRUE(absl::StrContains(started.message(), kNoFds)) << started;

      absl::StatusOr<std::unique_ptr<Channel>> channel =
          Channel::Create("127.0.0.1:1");
      ASSERT_FALSE(channel.ok());
      EXPECT_EQ(channel.status().code(), absl::StatusCode::kResourceExhausted)
          << channel.status();
      EXPECT_TRUE(absl::StrContains(channel.status().message(), "mrpc-channel"))
          << channel.status();
      EXPECT_TRUE(absl::StrContains(channel.status().message(), "eventfd"))
          << channel.status();
    }
    EXPECT_EQ(testing::CountOpenFds(), fds_before);

    // The same server object starts once fds are free, and serves.
    ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server.port()));
    ASSERT_TRUE(channel.ok()) << channel.status();
    EXPECT_TRUE(Echo(channel->get()).ok());
    channel->reset();
    server.Shutdown();
    server.Wait();
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

// Out of fds further in: the acceptor's loop, listening socket and spare fd
// fit, the I/O loop does not. The error comes up through TcpServer::Start,
// and the acceptor thread and socket made before it are released.
TEST(FdExhaustionTest, ServerStartFailingInItsIoLoopsLeavesNothingBehind) {
  ShowSanitizersAServerAndAChannel();
  const int fds_before = testing::CountOpenFds();
  {
    ServerOptions options;
    options.num_threads = 1;
    Server server(options);
    testing::TestServiceCounters counters;
    ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
    {
      // Acceptor loop (3), listening socket, the acceptor's spare fd, then
      // the I/O loop's eventfd and timerfd.
      testing::FdExhaustion exhausted(3 + 2 + 2);
      const absl::Status started = server.Start("127.0.0.1:0");
      EXPECT_EQ(started.code(), absl::StatusCode::kResourceExhausted)
          << started;
      EXPECT_TRUE(absl::StrContains(started.message(), "mrpc-io0")) << started;
      EXPECT_TRUE(absl::StrContains(started.message(), "epoll")) << started;
    }
    EXPECT_EQ(testing::CountOpenFds(), fds_before);
    ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
    server.Shutdown();
    server.Wait();
  }
  EXPECT_EQ(testing::CountOpenFds(), fds_before);
}

}  // namespace
}  // namespace mrpc
