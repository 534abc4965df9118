// Channel: the client end of mrpc. Calls to one server, or to a service
// that many servers provide, multiplexed by correlation id over one TCP
// connection per server, with reconnection with backoff, per-call deadlines
// and heartbeats.
//
// Targets (docs/guide.md, "Targets, load balancing and retries"):
//   "127.0.0.1:9000", "[::1]:9000", "host:9000"  one server (a name is
//                                  resolved once, when the channel is made)
//   "list://10.0.0.1:9000,10.0.0.2:9000"          a fixed set of servers
//   "dns:///kv.internal:9000"                     every A/AAAA record, kept
//                                  current ("dns://1.2.3.4:53/..." asks that
//                                  DNS server)
//   "etcd://127.0.0.1:2379/services/kv"           the servers registered
//                                  under that etcd prefix, kept current by a
//                                  watch (several "host:port," before the
//                                  path for an etcd cluster)
// With several servers, ClusterOptions choose the load balancing policy,
// outlier ejection and retries; code written for one server works
// unchanged.
//
// Public. Threading: every method is thread-safe. Completion callbacks run
// on the channel's loop thread, never inside CallMethod() itself, so keep
// them short and non-blocking (start the next call, hand results off). By
// default a channel runs its own loop thread; ChannelOptions::loop puts it on
// an existing loop instead, e.g. a server handler's, so a chained call's
// reply arrives on the thread that sends the handler's response.
//
// Guarantees: every call completes exactly once: OK, or DEADLINE_EXCEEDED,
// UNAVAILABLE (refused, reset, connection lost, silent server), CANCELLED
// (TryCancel, channel destroyed), or the server's status. Destroying the
// channel completes pending calls with CANCELLED before it returns; no
// callback runs after that.
//
// Connection states: a call goes to a server whose connection is up. While
// none is but one is being made (the first connection, or an immediate
// reconnect after a lost one), or the target's servers are not known yet,
// calls wait for it; once every server's last attempt has failed (or the
// target names none), calls fail fast with UNAVAILABLE until a retry
// (exponential backoff with jitter) succeeds.
//
// Example:
//   absl::StatusOr<std::unique_ptr<Channel>> channel =
//       Channel::Create("127.0.0.1:9000");
//   EchoRequest req;
//   EchoResponse resp;
//   ClientContext ctx;
//   ctx.set_timeout(absl::Milliseconds(100));
//   absl::Status s = (*channel)->CallMethodBlocking(
//       "mrpc.echo.EchoService", "Echo", req, &resp, &ctx);
#ifndef MRPC_RPC_CHANNEL_H_
#define MRPC_RPC_CHANNEL_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/connector.h"
#include "net/inet_address.h"
#include "rpc/client_context.h"
#include "rpc/cluster_options.h"
#include "rpc/interceptor.h"
#include "rpc/limits.h"
#include "rpc/metadata.h"
#include "rpc/tls_options.h"

namespace mrpc {

class EventLoop;
class EventLoopThread;

// A call's completion: runs exactly once, on the channel's loop thread.
using RpcCallback = absl::AnyInvocable<void(absl::Status)>;

// A method's full name whose characters outlive the channel (string
// literals, the generated stubs' constants): calls made with it keep the
// views instead of copying or interning the names. Value type.
struct MethodName {
  absl::string_view service;  // "mrpc.echo.EchoService"
  absl::string_view method;   // "Echo"
  // Safe to retry after UNAVAILABLE and to send twice (backup requests):
  // the .proto's idempotency_level is IDEMPOTENT or NO_SIDE_EFFECTS.
  bool idempotent = false;
};

struct ChannelOptions {
  // The loop to run on; not owned, must keep running until the channel is
  // destroyed. Null: the channel starts a loop thread of its own.
  // Default: null.
  EventLoop* loop = nullptr;
  // Send a PING after this long without inbound bytes. Zero disables
  // heartbeats. Default: 10 s.
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // No inbound bytes for this long: the server is dead. The connection is
  // closed, its calls fail with UNAVAILABLE, and the channel reconnects.
  // Default: 30 s.
  absl::Duration heartbeat_timeout = absl::Seconds(30);
  // Deadline for calls whose context sets none. Zero: none. Default: zero.
  absl::Duration default_timeout = absl::ZeroDuration();
  // Largest frame body accepted from the server. A larger response fails
  // its call with RESOURCE_EXHAUSTED and is skipped as it arrives; the
  // connection and the other calls go on. Default: 16 MiB.
  size_t max_frame_size = kDefaultMaxFrameBody;
  // Metadata limits, both ways: a call whose request metadata is past them
  // fails before it is sent, one whose response metadata is past them
  // fails with RESOURCE_EXHAUSTED. Default: 8 KiB, 64 entries.
  size_t max_metadata_bytes = kDefaultMaxMetadataBytes;
  size_t max_metadata_entries = kDefaultMaxMetadataEntries;
  // The client interceptor chain, in order (rpc/interceptor.h). Shared: one
  // interceptor may serve several channels (and so several loops at once).
  // Default: none.
  std::vector<std::shared_ptr<ClientInterceptor>> interceptors;
  // Connection attempts: backoff (100 ms doubling to 10 s, +-20% jitter),
  // connect timeout (5 s).
  Connector::Options connect;
  // Load balancing, outlier ejection and retries over the target's
  // servers (rpc/cluster_options.h).
  ClusterOptions cluster;

  // TLS to the servers (rpc/tls_options.h). Default: off.
  ClientTlsOptions tls;
};

// Counters, each a relaxed snapshot.
struct ChannelStats {
  uint64_t calls = 0;               // Calls started.
  uint64_t ok = 0;                  // Completed OK.
  uint64_t failed = 0;              // Completed with any error.
  uint64_t deadline_exceeded = 0;   // Failed by the client-side deadline.
  uint64_t late_responses = 0;      // Responses to calls already completed.
  uint64_t connects = 0;            // Connections established.
  uint64_t reconnects = 0;          // Of those, after the first.
  uint64_t connection_losses = 0;   // Established connections lost.
  uint64_t heartbeat_timeouts = 0;  // Connections closed as silent.
  uint64_t pings = 0;               // PINGs sent.
  uint64_t protocol_errors = 0;     // Connections closed for bad frames.
  // Responses over max_frame_size: their calls failed, the bytes skipped.
  uint64_t oversized_responses = 0;
  // Requests written to a server: calls' first attempts, retries and
  // backup requests.
  uint64_t attempts = 0;
  uint64_t retries = 0;            // Attempts after a failed one.
  uint64_t backup_requests = 0;    // Second attempts sent alongside a slow one.
  uint64_t retries_throttled = 0;  // Retries the retry budget refused.
  uint64_t ejections = 0;          // Servers taken out of rotation.
  uint64_t resolver_updates = 0;   // Sets of servers the target gave.
  uint64_t resolver_errors = 0;    // Errors it gave (the last set kept).
};

// One server of a channel's target, as the channel sees it.
struct BackendStats {
  std::string address;    // "127.0.0.1:9001"
  std::string state;      // "ready", "connecting", "transient failure", ...
  bool ejected = false;   // Out of rotation after failures.
  uint64_t calls = 0;     // Attempts sent to it.
  uint64_t failures = 0;  // Of those, failed (any error but the caller's).
  int inflight = 0;
  double latency_us = 0;  // Its latency estimate (EWMA).
};

class Channel {
 public:
  // Connects to `target` (see the file comment; a "host:port" name is
  // resolved once, here, blocking). Fails on a bad target or options
  // (INVALID_ARGUMENT), or RESOURCE_EXHAUSTED when the process is out of
  // fds or threads for the channel's loop; trouble reaching the servers
  // (or etcd, or DNS) shows in calls.
  static absl::StatusOr<std::unique_ptr<Channel>> Create(
      absl::string_view target, ChannelOptions options = {});
  // Completes pending calls with CANCELLED, closes the connection, and stops
  // the channel's own loop thread (if it has one). Never destroy a channel
  // that owns its loop from one of its own callbacks.
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Calls `service`.`method` asynchronously. `request` is serialized before
  // this returns; `response` and `context` (may be null) must stay valid
  // until `done` runs.
  void CallMethod(absl::string_view service, absl::string_view method,
                  const google::protobuf::Message& request,
                  google::protobuf::Message* response, ClientContext* context,
                  RpcCallback done);
  // The same, for a method whose name has lasting storage (MethodName):
  // cheaper, since the names are neither copied nor interned.
  void CallMethod(const MethodName& name,
                  const google::protobuf::Message& request,
                  google::protobuf::Message* response, ClientContext* context,
                  RpcCallback done);
  // Calls and waits. Returns FAILED_PRECONDITION if called on the channel's
  // own loop thread (the reply could never arrive: it would deadlock).
  absl::Status CallMethodBlocking(absl::string_view service,
                                  absl::string_view method,
                                  const google::protobuf::Message& request,
                                  google::protobuf::Message* response,
                                  ClientContext* context = nullptr);
  absl::Status CallMethodBlocking(const MethodName& name,
                                  const google::protobuf::Message& request,
                                  google::protobuf::Message* response,
                                  ClientContext* context = nullptr);

  // The loop callbacks run on.
  EventLoop* loop() const { return loop_; }
  const std::string& target() const { return target_; }
  // Whether a connection to some server is up right now.
  bool connected() const;
  ChannelStats stats() const;
  // The servers the target names now, with their state and load, then
  // those it no longer names (state "removed", their final counts). Thread-
  // safe; from another thread it waits for the channel's loop.
  std::vector<BackendStats> backends() const;

 private:
  class Core;
  Channel(std::string target, EventLoop* loop);
  // `lasting`: the names outlive the channel (a MethodName).
  void Call(absl::string_view service, absl::string_view method, bool lasting,
            bool idempotent, const google::protobuf::Message& request,
            google::protobuf::Message* response, ClientContext* context,
            RpcCallback&& done);
  absl::Status CallAndWait(absl::string_view service, absl::string_view method,
                           bool lasting, bool idempotent,
                           const google::protobuf::Message& request,
                           google::protobuf::Message* response,
                           ClientContext* context);

  const std::string target_;
  std::unique_ptr<EventLoopThread> own_loop_;
  EventLoop* loop_;
  std::shared_ptr<Core> core_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CHANNEL_H_
