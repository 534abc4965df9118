// Channel: the client end of mrpc. One TCP connection to one server, with
// any number of calls multiplexed on it by correlation id, reconnection
// with backoff, per-call deadlines and heartbeats.
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
// Connection states: while the first connection (or an immediate reconnect
// after a lost one) is being made, calls wait for it; once an attempt has
// failed, calls fail fast with UNAVAILABLE until a retry (exponential
// backoff with jitter) succeeds.
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
#include "rpc/interceptor.h"
#include "rpc/limits.h"
#include "rpc/metadata.h"

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
};

class Channel {
 public:
  // Connects to `target` ("host:port"; a host name is resolved once, here,
  // blocking). Fails on a bad target, or RESOURCE_EXHAUSTED when the
  // process is out of fds or threads for the channel's loop; connection
  // trouble shows in calls.
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
  const InetAddress& server_address() const { return server_; }
  // Whether a connection is up right now.
  bool connected() const;
  ChannelStats stats() const;

 private:
  class Core;
  Channel(const InetAddress& server, std::string target,
          ChannelOptions options);
  // `lasting`: the names outlive the channel (a MethodName).
  void Call(absl::string_view service, absl::string_view method, bool lasting,
            const google::protobuf::Message& request,
            google::protobuf::Message* response, ClientContext* context,
            RpcCallback done);
  absl::Status CallAndWait(absl::string_view service, absl::string_view method,
                           bool lasting,
                           const google::protobuf::Message& request,
                           google::protobuf::Message* response,
                           ClientContext* context);

  const InetAddress server_;
  std::unique_ptr<EventLoopThread> own_loop_;
  EventLoop* loop_;
  std::shared_ptr<Core> core_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_CHANNEL_H_
