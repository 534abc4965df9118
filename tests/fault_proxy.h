// FaultProxy: an in-process TCP proxy for fault-injection tests. It sits
// between a client and a server on loopback and, per direction, can delay
// bytes, stall them (hold everything until released), drop them, or cut
// every connection (FIN or RST).
//
// Test-only. Written on plain poll() in one thread of its own, independent
// of mrpc's event loop (the code under test). All methods are thread-safe.
//
// Example:
//   auto proxy = FaultProxy::Start(server_address);
//   auto channel = Channel::Create((*proxy)->address().ToString());
//   (*proxy)->SetDelay(FaultProxy::kToServer, absl::Milliseconds(50));
//   (*proxy)->SetStalled(FaultProxy::kToClient, true);   // a stalled link
//   (*proxy)->CutAll(/*reset=*/true);                     // a network cut
#ifndef MRPC_TESTS_FAULT_PROXY_H_
#define MRPC_TESTS_FAULT_PROXY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "net/socket.h"

namespace mrpc::testing {

class FaultProxy {
 public:
  enum Direction { kToServer = 0, kToClient = 1 };

  // Listens on a free loopback port and forwards each connection to
  // `upstream`.
  static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(
      const InetAddress& upstream);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Where clients should connect.
  const InetAddress& address() const { return address_; }

  // Each chunk of bytes waits `delay` before it is passed on.
  void SetDelay(Direction direction, absl::Duration delay);
  // While stalled, bytes are read and held, not passed on (TCP windows stay
  // open on both sides, like a congested or broken path that still ACKs).
  void SetStalled(Direction direction, bool stalled);
  // While dropping, bytes are read and thrown away.
  void SetDropping(Direction direction, bool dropping);
  // Bytes thrown away so far in `direction`.
  int64_t dropped_bytes(Direction direction) const {
    return dropped_[direction].load();
  }
  // Closes every proxied connection, both sides; with `reset`, by RST.
  void CutAll(bool reset);
  // Every connection open now passes no more bytes, either way, and is not
  // closed (a path that died silently: a NAT or firewall that forgot it);
  // its bytes are read and held. New connections pass as usual.
  void BlackholeExisting();

  // Proxied connection pairs now open.
  int open_pairs() const { return open_pairs_.load(); }

 private:
  FaultProxy(Socket listener, const InetAddress& address,
             const InetAddress& upstream, int wake_fd);
  void Run();
  void Wake();

  Socket listener_;
  const InetAddress address_;
  const InetAddress upstream_;
  const int wake_fd_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> delay_ns_[2] = {{0}, {0}};
  std::atomic<bool> stalled_[2] = {{false}, {false}};
  std::atomic<bool> dropping_[2] = {{false}, {false}};
  std::atomic<int64_t> dropped_[2] = {{0}, {0}};
  std::atomic<int> blackhole_requests_{0};
  std::atomic<int> cut_requests_{0};
  std::atomic<bool> cut_reset_{false};
  std::atomic<int> open_pairs_{0};
  std::thread thread_;
};

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_FAULT_PROXY_H_
