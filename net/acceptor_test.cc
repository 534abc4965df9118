// The acceptor under fd exhaustion (EMFILE). Its own test binary: it lowers
// RLIMIT_NOFILE, which is process-wide.
#include "net/acceptor.h"

#include <errno.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/length_codec.h"
#include "net/tcp_server.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

using ::mrpc::testing::FdExhaustion;
using ::mrpc::testing::LengthPrefixed;
using ::mrpc::testing::RawClient;

// Waits for the server to close a connected socket: FIN or RST.
bool ClosedByPeer(const Socket& socket) {
  struct pollfd pfd = {socket.fd(), POLLIN, 0};
  if (::poll(&pfd, 1, 10000) != 1) return false;
  char byte;
  const ssize_t n = ::recv(socket.fd(), &byte, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

TEST(AcceptorTest, OutOfFdsDropsNewConnectionsCleanlyWithoutSpinning) {
  EventLoopThread base("test-base");
  EventLoop* base_loop = testing::StartOrDie(&base);
  TcpServerOptions options;
  options.num_threads = 1;
  TcpServer server(base_loop, InetAddress::Loopback(0), options);
  server.SetMessageCallback([](const TcpConnectionPtr& conn, Buffer* in) {
    ForEachFrame(in, 1 << 20, [&](absl::string_view payload) {
      conn->SendInPlace([&](Buffer* out) { AppendFrame(payload, out); });
    });
  });
  ASSERT_TRUE(server.Start().ok());
  absl::StatusOr<RawClient> survivor =
      RawClient::Connect(server.listen_address());
  ASSERT_TRUE(survivor.ok());
  ASSERT_TRUE(survivor->Write(LengthPrefixed("before")).ok());
  ASSERT_TRUE(survivor->ReadExactly(10).ok());

  // Client sockets need fds too: make them before the fds run out.
  constexpr int kVictims = 5;
  std::vector<Socket> victims;
  for (int i = 0; i < kVictims; ++i) {
    absl::StatusOr<Socket> socket = Socket::CreateTcp(AF_INET);
    ASSERT_TRUE(socket.ok());
    victims.push_back(std::move(*socket));
  }
  {
    FdExhaustion exhausted;
    const uint64_t iterations_before = base_loop->iterations();
    const absl::Duration cpu_before = testing::ProcessCpuTime();
    for (Socket& victim : victims) {
      const int err = victim.Connect(server.listen_address());
      ASSERT_TRUE(err == 0 || err == EINPROGRESS) << err;
    }
    // The kernel completes each handshake; the server, unable to take an fd,
    // closes each one through its spare fd. The client sees an orderly
    // close, not a connection left hanging in the backlog.
    for (Socket& victim : victims) EXPECT_TRUE(ClosedByPeer(victim));
    EXPECT_EQ(server.fd_exhaustion_drops(), static_cast<uint64_t>(kVictims));

    // Existing connections keep working: they need no new fds.
    ASSERT_TRUE(survivor->Write(LengthPrefixed("during")).ok());
    absl::StatusOr<std::string> echo = survivor->ReadExactly(10);
    ASSERT_TRUE(echo.ok()) << echo.status();
    EXPECT_EQ(*echo, LengthPrefixed("during"));

    // And the acceptor is not spinning: measure the loop over a quiet window.
    absl::SleepFor(
        absl::Milliseconds(200));  // Measuring idleness, not syncing.
    EXPECT_LT(base_loop->iterations() - iterations_before, 50u);
    EXPECT_LT(testing::ProcessCpuTime() - cpu_before, absl::Milliseconds(150));
  }
  // Fds are free again: new connections are served.
  absl::StatusOr<RawClient> after = RawClient::Connect(server.listen_address());
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(after->Write(LengthPrefixed("after")).ok());
  absl::StatusOr<std::string> echo = after->ReadExactly(9);
  ASSERT_TRUE(echo.ok()) << echo.status();
  EXPECT_EQ(*echo, LengthPrefixed("after"));
  server.Stop();
}

}  // namespace
}  // namespace mrpc
