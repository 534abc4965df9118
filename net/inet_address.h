// InetAddress: an IPv4 or IPv6 socket address (ip + port), a value type.
//
// Internal to mrpc, but shows up in logs and in the call context's peer.
// Thread-compatible (a plain value; copy freely).
//
// Example:
//   absl::StatusOr<InetAddress> addr = InetAddress::Parse("[::1]:8080");
//   if (addr.ok()) LOG(INFO) << addr->ToString();   // "[::1]:8080"
#ifndef MRPC_NET_INET_ADDRESS_H_
#define MRPC_NET_INET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mrpc {

class InetAddress {
 public:
  // 0.0.0.0:0.
  InetAddress();
  explicit InetAddress(const struct sockaddr_in& addr);
  explicit InetAddress(const struct sockaddr_in6& addr);

  // 127.0.0.1:port, or [::1]:port.
  static InetAddress Loopback(uint16_t port, bool ipv6 = false);
  // 0.0.0.0:port, or [::]:port: every local interface.
  static InetAddress Any(uint16_t port, bool ipv6 = false);
  // A numeric IP ("10.0.0.1", "::1") and a port.
  static absl::StatusOr<InetAddress> FromIpPort(absl::string_view ip,
                                                uint16_t port);
  // "1.2.3.4:80", "[::1]:80", or "localhost:80". Never blocks: other host
  // names need Resolve().
  static absl::StatusOr<InetAddress> Parse(absl::string_view host_port);
  // As Parse, but also looks host names up with getaddrinfo (IPv4 first).
  // Blocks on DNS: never call it on an event loop thread.
  static absl::StatusOr<InetAddress> Resolve(absl::string_view host_port);
  // Builds one from a sockaddr the kernel filled in (accept, getsockname).
  static absl::StatusOr<InetAddress> FromSockaddr(const struct sockaddr* addr,
                                                  socklen_t len);

  sa_family_t family() const { return addr_.ss_family; }
  bool is_ipv6() const { return family() == AF_INET6; }
  uint16_t port() const;
  // "127.0.0.1" or "::1".
  std::string Ip() const;
  // "127.0.0.1:80" or "[::1]:80".
  std::string ToString() const;

  const struct sockaddr* sockaddr() const {
    return reinterpret_cast<const struct sockaddr*>(&addr_);
  }
  socklen_t sockaddr_length() const;

  friend bool operator==(const InetAddress& a, const InetAddress& b);
  friend bool operator!=(const InetAddress& a, const InetAddress& b) {
    return !(a == b);
  }

 private:
  struct sockaddr_storage addr_;
};

}  // namespace mrpc

#endif  // MRPC_NET_INET_ADDRESS_H_
