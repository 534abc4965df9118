#include "net/socket.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "net/inet_address.h"

namespace mrpc {
namespace {

TEST(InetAddressTest, ParsesAndFormatsIpv4) {
  absl::StatusOr<InetAddress> addr = InetAddress::Parse("10.1.2.3:8080");
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_FALSE(addr->is_ipv6());
  EXPECT_EQ(addr->Ip(), "10.1.2.3");
  EXPECT_EQ(addr->port(), 8080);
  EXPECT_EQ(addr->ToString(), "10.1.2.3:8080");
}

TEST(InetAddressTest, ParsesAndFormatsIpv6InBrackets) {
  absl::StatusOr<InetAddress> addr = InetAddress::Parse("[::1]:443");
  ASSERT_TRUE(addr.ok()) << addr.status();
  EXPECT_TRUE(addr->is_ipv6());
  EXPECT_EQ(addr->Ip(), "::1");
  EXPECT_EQ(addr->ToString(), "[::1]:443");
  EXPECT_EQ(*addr, InetAddress::Loopback(443, /*ipv6=*/true));
}

TEST(InetAddressTest, LocalhostIsIpv4Loopback) {
  absl::StatusOr<InetAddress> addr = InetAddress::Parse("localhost:9");
  ASSERT_TRUE(addr.ok());
  EXPECT_EQ(*addr, InetAddress::Loopback(9));
}

TEST(InetAddressTest, RejectsMalformedAddresses) {
  for (const char* bad : {"", "1.2.3.4", "1.2.3.4:", ":80", "1.2.3.4:65536",
                          "1.2.3.4:-1", "1.2.3.4:8x", "::1:80", "[::1]80",
                          "[::1", "300.1.1.1:80", "example.com:80"}) {
    EXPECT_FALSE(InetAddress::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ(InetAddress::Parse("::1:80").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(InetAddressTest, ResolveHandlesNumericAndLocalNames) {
  absl::StatusOr<InetAddress> numeric = InetAddress::Resolve("127.0.0.1:5");
  ASSERT_TRUE(numeric.ok());
  EXPECT_EQ(numeric->port(), 5);
  absl::StatusOr<InetAddress> bad =
      InetAddress::Resolve("no-such-host.invalid:5");
  EXPECT_FALSE(bad.ok());
}

TEST(SocketTest, BindListenAndLearnThePort) {
  absl::StatusOr<Socket> socket = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(socket.ok()) << socket.status();
  ASSERT_TRUE(socket->SetReuseAddr(true).ok());
  ASSERT_TRUE(socket->Bind(InetAddress::Loopback(0)).ok());
  ASSERT_TRUE(socket->Listen(16).ok());
  absl::StatusOr<InetAddress> local = socket->LocalAddress();
  ASSERT_TRUE(local.ok());
  EXPECT_NE(local->port(), 0);
  EXPECT_EQ(local->Ip(), "127.0.0.1");
}

TEST(SocketTest, BindConflictIsAStatusWithErrnoText) {
  absl::StatusOr<Socket> first = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->Bind(InetAddress::Loopback(0)).ok());
  ASSERT_TRUE(first->Listen(1).ok());
  const InetAddress taken = *first->LocalAddress();
  absl::StatusOr<Socket> second = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(second.ok());
  absl::Status status = second->Bind(taken);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("bind 127.0.0.1:"), absl::string_view::npos)
      << status;
  EXPECT_NE(status.message().find("in use"), absl::string_view::npos) << status;
}

TEST(SocketTest, NonBlockingConnectAcceptAndOptions) {
  absl::StatusOr<Socket> listener = Socket::CreateTcp(AF_INET6);
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(listener->Bind(InetAddress::Loopback(0, /*ipv6=*/true)).ok());
  ASSERT_TRUE(listener->Listen(16).ok());
  const InetAddress server = *listener->LocalAddress();

  absl::StatusOr<Socket> client = Socket::CreateTcp(AF_INET6);
  ASSERT_TRUE(client.ok());
  const int rc = client->Connect(server);
  EXPECT_TRUE(rc == 0 || rc == EINPROGRESS) << rc;

  InetAddress peer;
  int err = 0;
  int fd = -1;
  for (int i = 0; i < 1000 && fd < 0; ++i) {  // Loopback completes at once.
    fd = listener->Accept(&peer, &err);
    if (fd < 0) {
      ASSERT_EQ(err, EAGAIN);
    }
  }
  ASSERT_GE(fd, 0);
  Socket accepted(fd);
  EXPECT_EQ(peer, *client->LocalAddress());
  EXPECT_EQ(client->PendingError(), 0);
  EXPECT_FALSE(client->IsSelfConnect());
  ASSERT_TRUE(accepted.SetTcpNoDelay(true).ok());
  int on = 0;
  socklen_t len = sizeof on;
  ASSERT_EQ(::getsockopt(accepted.fd(), IPPROTO_TCP, TCP_NODELAY, &on, &len),
            0);
  EXPECT_EQ(on, 1);
  EXPECT_TRUE(accepted.SetKeepAlive(true).ok());
  EXPECT_TRUE(accepted.ShutdownWrite().ok());
}

TEST(SocketTest, AcceptWithNothingPendingIsEagain) {
  absl::StatusOr<Socket> listener = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(listener->Bind(InetAddress::Loopback(0)).ok());
  ASSERT_TRUE(listener->Listen(1).ok());
  InetAddress peer;
  int err = 0;
  EXPECT_EQ(listener->Accept(&peer, &err), -1);
  EXPECT_EQ(err, EAGAIN);
}

TEST(SocketTest, ConnectRefusedReportsErrno) {
  // Find a port with no listener: bind one, learn it, close it.
  InetAddress dead;
  {
    absl::StatusOr<Socket> tmp = Socket::CreateTcp(AF_INET);
    ASSERT_TRUE(tmp.ok());
    ASSERT_TRUE(tmp->Bind(InetAddress::Loopback(0)).ok());
    dead = *tmp->LocalAddress();
  }
  absl::StatusOr<Socket> client = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(client.ok());
  const int rc = client->Connect(dead);
  if (rc == EINPROGRESS) {
    // Wait for the result on the socket itself (loopback answers at once).
    fd_set writable;
    FD_ZERO(&writable);
    FD_SET(client->fd(), &writable);
    struct timeval tv = {5, 0};
    ASSERT_EQ(::select(client->fd() + 1, nullptr, &writable, nullptr, &tv), 1);
    EXPECT_EQ(client->PendingError(), ECONNREFUSED);
  } else {
    EXPECT_EQ(rc, ECONNREFUSED);
  }
  EXPECT_EQ(absl::ErrnoToStatus(ECONNREFUSED, "connect").code(),
            absl::StatusCode::kUnavailable);
}

TEST(SocketTest, MoveTransfersOwnership) {
  absl::StatusOr<Socket> a = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(a.ok());
  const int fd = a->fd();
  Socket b(std::move(*a));
  EXPECT_EQ(b.fd(), fd);
  EXPECT_FALSE(a->valid());
  EXPECT_EQ(b.Release(), fd);
  EXPECT_FALSE(b.valid());
  ::close(fd);
}

}  // namespace
}  // namespace mrpc
