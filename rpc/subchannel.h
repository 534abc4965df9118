// Subchannel: a channel's connection to one backend. It connects and
// reconnects (exponential backoff with jitter), sends PINGs when the
// backend is quiet and closes the connection when it stays silent, decodes
// the frames that come back, and reports responses and state changes to its
// owner (the channel). It also keeps what load balancing and outlier
// ejection need to know about the backend: calls in flight, an EWMA of
// latency, consecutive failures and the ejection state.
//
// Internal (rpc/channel.cc). Threading: created, used and destroyed on its
// loop only; the owner's callbacks run on that loop, never after the
// subchannel is destroyed, and never while the owner is inside Send().
#ifndef MRPC_RPC_SUBCHANNEL_H_
#define MRPC_RPC_SUBCHANNEL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "net/connector.h"
#include "net/event_loop.h"
#include "net/inet_address.h"
#include "net/tcp_client.h"
#include "net/tcp_connection.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/cluster/load_balancer.h"
#include "rpc/cluster/outlier_detector.h"
#include "rpc/codec.h"

namespace mrpc {

class EventLoop;
class TlsContext;

class Subchannel {
 public:
  enum class State {
    kIdle,              // Not started.
    kConnecting,        // The first attempt, or at once after a loss.
    kReady,             // Connected.
    kTransientFailure,  // An attempt failed; retrying after backoff.
  };
  static const char* StateName(State state);

  // Connection counters, shared by a channel's subchannels and read from
  // any thread (relaxed).
  struct Counters {
    std::atomic<uint64_t> connects{0};
    std::atomic<uint64_t> reconnects{0};  // Connects after a first one.
    std::atomic<uint64_t> connection_losses{0};
    std::atomic<uint64_t> heartbeat_timeouts{0};
    std::atomic<uint64_t> pings{0};
    std::atomic<uint64_t> protocol_errors{0};
  };

  struct Options {
    absl::Duration heartbeat_interval;  // Zero: no heartbeats.
    absl::Duration heartbeat_timeout;
    size_t max_frame_size = 0;
    Connector::Options connect;
    // TLS: null for plaintext. The name the server's certificate must
    // carry; empty: the server's IP address.
    std::shared_ptr<const TlsContext> tls;
    std::string tls_server_name;
    absl::Duration tls_handshake_timeout;
  };

  // What the subchannel tells its owner. Each runs on the loop.
  class Owner {
   public:
    virtual ~Owner() = default;
    // The state changed from `old`. On a loss (kReady -> kConnecting)
    // reason() says why; on a failed attempt last_error() does.
    virtual void OnSubchannelState(Subchannel* sub, State old) = 0;
    // A RESPONSE arrived. `meta` is scratch the owner may move from.
    virtual void OnResponse(Subchannel* sub, FrameMeta& meta,
                            absl::string_view payload) = 0;
    // A RESPONSE over max_frame_size arrived; its bytes are being skipped.
    virtual void OnOversizedResponse(Subchannel* sub, uint64_t id,
                                     uint32_t body_size) = 0;
    // For PING ids: unique among the owner's ids.
    virtual uint64_t NextId() = 0;
  };

  // `owner` and `counters` are not owned and must outlive the subchannel.
  Subchannel(EventLoop* loop, const InetAddress& address, std::string name,
             const Options& options, Owner* owner, Counters* counters);
  // Closes the connection (no owner callback runs for it).
  ~Subchannel();
  Subchannel(const Subchannel&) = delete;
  Subchannel& operator=(const Subchannel&) = delete;

  // Starts connecting.
  void Start();

  State state() const { return state_; }
  bool ready() const { return state_ == State::kReady; }
  const InetAddress& address() const { return address_; }
  // "127.0.0.1:9001": for logs, errors and ClientContext::peer().
  const std::string& name() const { return name_; }
  // The last failed attempt's error.
  const absl::Status& last_error() const { return last_error_; }
  // Why the last connection was lost.
  const std::string& lost_reason() const { return lost_reason_; }

  // Writes into the connection's output; only while ready(). `encode`
  // appends a frame to the Buffer it is given.
  template <typename Encode>
  void Send(Encode&& encode) {
    conn_->SendInPlace(std::forward<Encode>(encode));
  }
  // Sends a PING, PONG or CANCEL frame if connected.
  void SendControl(FrameType type, uint64_t id);

  // Load and health, kept by the owner.
  int inflight = 0;       // Attempts sent and not answered.
  LatencyEwma latency;    // Of answered attempts.
  BackendHealth health;   // Failures in a row, ejection.
  bool removed = false;   // No longer in the target's set.
  uint64_t calls = 0;     // Attempts sent here.
  uint64_t failures = 0;  // Failures here (attempts, connections).

 private:
  void OnConnection(const TcpConnectionPtr& conn);
  void OnConnectError(const absl::Status& status);
  void OnMessage(const TcpConnectionPtr& conn, Buffer* input);
  void CheckHeartbeat();
  void SetState(State state);

  EventLoop* const loop_;
  const InetAddress address_;
  const std::string name_;
  const Options& options_;  // The channel's.
  Owner* const owner_;
  Counters* const counters_;

  std::unique_ptr<TcpClient> client_;
  TcpConnectionPtr conn_;
  State state_ = State::kIdle;
  absl::Status last_error_;
  std::string lost_reason_;
  std::string close_reason_;  // Why we closed the connection ourselves.
  FrameMeta response_meta_;   // Decoding scratch.
  FrameSkip skip_;            // An oversized response's bytes still to skip.
  TimerId heartbeat_timer_;
  int64_t last_inbound_ms_ = 0;
  int64_t last_ping_ms_ = 0;
  bool connected_once_ = false;
};

}  // namespace mrpc

#endif  // MRPC_RPC_SUBCHANNEL_H_
