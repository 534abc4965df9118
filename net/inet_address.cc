#include "net/inet_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

struct HostPort {
  absl::string_view host;
  uint16_t port;
};

// Splits "host:port" or "[v6]:port"; the host keeps no brackets.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view text) {
  absl::string_view host;
  absl::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address '", text, "': want [ipv6]:port"));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad address '", text, "': want host:port"));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad address '", text, "': put an IPv6 address in brackets"));
    }
  }
  uint32_t port_number = 0;
  if (host.empty() || !absl::SimpleAtoi(port, &port_number) ||
      port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad address '", text, "': want host:port, port 0-65535"));
  }
  return HostPort{host, static_cast<uint16_t>(port_number)};
}

}  // namespace

InetAddress::InetAddress() : InetAddress(Any(0)) {}

InetAddress::InetAddress(const struct sockaddr_in& addr) {
  std::memset(&addr_, 0, sizeof addr_);
  std::memcpy(&addr_, &addr, sizeof addr);
}

InetAddress::InetAddress(const struct sockaddr_in6& addr) {
  std::memset(&addr_, 0, sizeof addr_);
  std::memcpy(&addr_, &addr, sizeof addr);
}

namespace {
// `v4` (host byte order) or `v6`, with `port`.
InetAddress FromHost(uint16_t port, bool ipv6, uint32_t v4,
                     const struct in6_addr& v6) {
  if (ipv6) {
    struct sockaddr_in6 addr = {};
    addr.sin6_family = AF_INET6;
    addr.sin6_addr = v6;
    addr.sin6_port = htons(port);
    return InetAddress(addr);
  }
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(v4);
  addr.sin_port = htons(port);
  return InetAddress(addr);
}
}  // namespace

InetAddress InetAddress::Loopback(uint16_t port, bool ipv6) {
  return FromHost(port, ipv6, INADDR_LOOPBACK, in6addr_loopback);
}

InetAddress InetAddress::Any(uint16_t port, bool ipv6) {
  return FromHost(port, ipv6, INADDR_ANY, in6addr_any);
}

absl::StatusOr<InetAddress> InetAddress::FromIpPort(absl::string_view ip,
                                                    uint16_t port) {
  const std::string ip_string(ip);  // inet_pton wants a NUL-terminated string.
  struct sockaddr_in addr4 = {};
  if (::inet_pton(AF_INET, ip_string.c_str(), &addr4.sin_addr) == 1) {
    addr4.sin_family = AF_INET;
    addr4.sin_port = htons(port);
    return InetAddress(addr4);
  }
  struct sockaddr_in6 addr6 = {};
  if (::inet_pton(AF_INET6, ip_string.c_str(), &addr6.sin6_addr) == 1) {
    addr6.sin6_family = AF_INET6;
    addr6.sin6_port = htons(port);
    return InetAddress(addr6);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", ip, "' is not a numeric IPv4 or IPv6 address"));
}

absl::StatusOr<InetAddress> InetAddress::Parse(absl::string_view host_port) {
  absl::StatusOr<HostPort> split = SplitHostPort(host_port);
  if (!split.ok()) return split.status();
  if (split->host == "localhost") return Loopback(split->port);
  return FromIpPort(split->host, split->port);
}

absl::StatusOr<InetAddress> InetAddress::Resolve(absl::string_view host_port) {
  absl::StatusOr<HostPort> split = SplitHostPort(host_port);
  if (!split.ok()) return split.status();
  absl::StatusOr<InetAddress> numeric = Parse(host_port);
  if (numeric.ok()) return numeric;

  struct addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* results = nullptr;
  const std::string host(split->host);
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &results);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve '", host, "': ", ::gai_strerror(rc)));
  }
  // Prefer IPv4 (what most loopback services listen on), else the first.
  const struct addrinfo* chosen = results;
  for (const struct addrinfo* ai = results; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      chosen = ai;
      break;
    }
  }
  absl::StatusOr<InetAddress> addr =
      FromSockaddr(chosen->ai_addr, chosen->ai_addrlen);
  ::freeaddrinfo(results);
  if (!addr.ok()) return addr.status();
  if (addr->is_ipv6()) {
    auto* sin6 = reinterpret_cast<struct sockaddr_in6*>(&addr->addr_);
    sin6->sin6_port = htons(split->port);
  } else {
    auto* sin = reinterpret_cast<struct sockaddr_in*>(&addr->addr_);
    sin->sin_port = htons(split->port);
  }
  return addr;
}

absl::StatusOr<InetAddress> InetAddress::FromSockaddr(
    const struct sockaddr* addr, socklen_t len) {
  if (addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    return InetAddress(*reinterpret_cast<const struct sockaddr_in*>(addr));
  }
  if (addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    return InetAddress(*reinterpret_cast<const struct sockaddr_in6*>(addr));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not an IPv4/IPv6 address (family ", addr->sa_family, ")"));
}

uint16_t InetAddress::port() const {
  if (is_ipv6()) {
    return ntohs(
        reinterpret_cast<const struct sockaddr_in6*>(&addr_)->sin6_port);
  }
  return ntohs(reinterpret_cast<const struct sockaddr_in*>(&addr_)->sin_port);
}

std::string InetAddress::Ip() const {
  char text[INET6_ADDRSTRLEN] = "";
  if (is_ipv6()) {
    ::inet_ntop(
        AF_INET6,
        &reinterpret_cast<const struct sockaddr_in6*>(&addr_)->sin6_addr, text,
        sizeof text);
  } else {
    ::inet_ntop(AF_INET,
                &reinterpret_cast<const struct sockaddr_in*>(&addr_)->sin_addr,
                text, sizeof text);
  }
  return text;
}

std::string InetAddress::ToString() const {
  if (is_ipv6()) return absl::StrCat("[", Ip(), "]:", port());
  return absl::StrCat(Ip(), ":", port());
}

socklen_t InetAddress::sockaddr_length() const {
  return is_ipv6() ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

bool operator==(const InetAddress& a, const InetAddress& b) {
  return a.family() == b.family() && a.port() == b.port() && a.Ip() == b.Ip();
}

}  // namespace mrpc
