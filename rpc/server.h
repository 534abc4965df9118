// Server: serves RPC methods over mrpc's framed protocol on a multi-reactor
// TCP server (one acceptor loop, N connection loops).
//
// Public. Threading: RegisterMethod() before Start(); Start(), Shutdown()
// and Wait() from any thread but the server's own loops. Handlers run on
// the connection's loop (or on the worker pool, if the method opts in);
// their `done` may be called later, from any thread, exactly once.
//
// Lifecycle: Start() -> Shutdown() (deregister from etcd if registered, see
// ServerOptions::registration; stop accepting; calls in flight get
// ServerOptions::shutdown_grace to finish; new requests on open connections
// get UNAVAILABLE; then calls still running are answered UNAVAILABLE,
// connections close and loops stop) -> Wait(). A handler that never returns
// does not hold Wait(): its thread is detached (docs/guide.md, "Shutdown").
// Shutdown() returns at once so several servers can drain in parallel;
// Wait() blocks until the server is down. Destroying a server that was
// started and not waited for is a CHECK failure.
//
// Example:
//   Server server;
//   server.RegisterMethod<EchoRequest, EchoResponse>(
//       "mrpc.echo.EchoService", "Echo",
//       [](ServerContext* ctx, const EchoRequest& req, EchoResponse* resp,
//          RpcDone done) {
//         resp->set_payload(req.payload());
//         done(absl::OkStatus());
//       });
//   absl::Status s = server.Start("0.0.0.0:9000");
//   ...
//   server.Shutdown();
//   server.Wait();
#ifndef MRPC_RPC_SERVER_H_
#define MRPC_RPC_SERVER_H_

#include <google/protobuf/message.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "rpc/interceptor.h"
#include "rpc/limits.h"
#include "rpc/metadata.h"
#include "rpc/server_context.h"
#include "rpc/tls_options.h"

namespace mrpc {

class ServiceBase;

// Completes a server call. Call exactly once, from any thread; the response
// is sent if the status is OK (and dropped otherwise: only the status goes
// back). A second call is logged and ignored.
using RpcDone = absl::AnyInvocable<void(absl::Status)>;

// Serves one method: fill `response`, then call `done`. `request`,
// `response` and `ctx` stay valid until `done` is called.
using MethodHandler = std::function<void(
    ServerContext* ctx, const google::protobuf::Message& request,
    google::protobuf::Message* response, RpcDone done)>;

struct MethodOptions {
  // Run the handler on the server's worker pool instead of the connection's
  // loop: for handlers that block. The response returns to the loop.
  // Default: false (run inline on the loop; never block there).
  bool use_worker_pool = false;
  // Overload protection (docs/reliability.md), per connection loop: calls
  // of this method in flight on one loop beyond which a new one is answered
  // RESOURCE_EXHAUSTED at once. 0: adaptive (follows measured latency and
  // throughput; inline handlers answered at once are never refused);
  // > 0: this fixed limit per loop; -1: no limit. Default: 0 (adaptive).
  int max_concurrency = 0;
  // Refuse at once (RESOURCE_EXHAUSTED) a call whose deadline is shorter
  // than the method's recent latency on its loop. Default: true.
  bool shed_by_deadline = true;
};

struct ServerOptions {
  // Loops serving connections. -1: one per hardware thread. Default: -1.
  int num_threads = -1;
  // Threads of the worker pool, created at Start() only if some method
  // uses it. Default: 4.
  int worker_threads = 4;
  // Calls waiting for a worker beyond which new ones fail at once with
  // RESOURCE_EXHAUSTED. The queue is fair: each connection's calls wait in
  // their own FIFO and the workers take one call from each connection in
  // turn, so one connection's backlog cannot starve another's. Default: 10000.
  size_t worker_queue_limit = 10000;
  // Request bytes (payloads) waiting for a worker beyond which new calls
  // fail at once with RESOURCE_EXHAUSTED; a call's bytes are released when
  // it starts, is cancelled or times out. An empty queue still takes one
  // call of any size. 0: no limit. Default: 64 MiB, four largest frames
  // (with 10000 calls of 256 KiB the old count-only bound let the queue
  // hold 2.5 GiB). The memory budget bounds it as well.
  size_t worker_queue_bytes = size_t{64} << 20;
  // Calls in flight (received, not yet answered; inline, async and worker
  // pool alike) per connection, beyond which the connection's new requests
  // are answered RESOURCE_EXHAUSTED at once. 0: no limit. Default: 1000: a
  // tenth of worker_queue_limit, so no single connection fills the worker
  // queue; and plenty for one client (by Little's law 1000 calls of 10 ms
  // each is 100k calls/s, more than one connection's loop serves).
  size_t max_calls_per_connection = 1000;
  // Largest frame body (meta + payload) accepted and sent. A larger
  // request is answered RESOURCE_EXHAUSTED and skipped (the connection and
  // its other calls go on); a larger response fails its call with
  // RESOURCE_EXHAUSTED instead of going out. Default: 16 MiB.
  size_t max_frame_size = kDefaultMaxFrameBody;
  // Bytes the whole server may hold for its peers: connections' input and
  // output buffers and the requests of calls not yet finished. Past it,
  // requests are answered RESOURCE_EXHAUSTED, frames that would need more
  // are skipped, and responses over 64 KiB fail; one connection may hold
  // an eighth of it (at least two largest frames) (docs/reliability.md).
  // 0: an eighth of physical memory, clamped to [256 MiB, 4 GiB]; else at
  // least 4 x max_frame_size.
  size_t memory_budget = 0;
  // Request metadata past these (total key + value bytes, entries) is
  // answered RESOURCE_EXHAUSTED without running the call; response metadata
  // past them fails the call the same way. Default: 8 KiB, 64.
  size_t max_metadata_bytes = kDefaultMaxMetadataBytes;
  size_t max_metadata_entries = kDefaultMaxMetadataEntries;
  // Close a connection after this long with no inbound bytes and no calls
  // in flight. Clients' heartbeats keep healthy idle connections open.
  // Zero: never. Default: 60 s.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Open connections beyond which new ones are closed at once. Default: 100000.
  int max_connections = 100000;
  // Buffered response bytes per connection past which the server stops
  // reading that connection's requests until they drain. Default: 16 MiB.
  size_t output_high_water_mark = size_t{16} << 20;
  // Buffered response bytes past which the connection is reset (its
  // client is not reading). Default: 64 MiB.
  size_t max_output_bytes = size_t{64} << 20;
  // A connection whose responses have not drained by a single byte for
  // this long, counting those in the kernel's socket buffer, is reset (its
  // client stopped reading), busy or not: one to two timeouts after the
  // client last took a byte. Zero: never. Default: 30 s.
  absl::Duration output_stall_timeout = absl::Seconds(30);
  // A frame must arrive completely within this long of its first byte;
  // a peer trickling bytes (slowloris: each byte resets the idle timer) is
  // closed. Zero: no limit. Default: 30 s.
  absl::Duration frame_timeout = absl::Seconds(30);
  // How long Shutdown() lets calls in flight finish. Past it, the calls
  // still running are abandoned (answered UNAVAILABLE), connections close,
  // and Wait() returns within about 0.5 s more even if a handler never
  // returns (its thread is detached; docs/reliability.md). Default: 5 s.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // Let several servers bind the same port (SO_REUSEPORT). Default: false.
  bool reuse_port = false;
  // listen(2) backlog. Default: SOMAXCONN.
  int backlog = SOMAXCONN;
  // Edge-triggered epoll (docs/design.md). Default: false.
  bool edge_triggered = false;
  // Overload protection: each method's concurrency limit and deadline
  // shedding (MethodOptions). False turns both off for every method.
  // Default: true.
  bool overload_protection = true;
  // A loop (acceptor or connection loop) that has not come back to
  // epoll_wait for this long is stalled: a handler or callback blocks it
  // and every connection on it waits. Each stall is logged once (WARNING,
  // naming the loop and the method or task holding it), counted in
  // ServerStats::loop_stalls and listed by loop_stats(). Checked by one
  // watchdog thread every threshold / 4 (at least 5 ms). Zero: no watchdog.
  // Default: 100 ms.
  absl::Duration loop_stall_threshold = absl::Milliseconds(100);
  // Serve the health checking service mrpc.health.v1.Health
  // (proto/health.proto; gRPC's protocol), unless a service of that name
  // is registered. /health answers either way. Default: true.
  bool health_service = true;
  // Serve server reflection, mrpc.reflection.v1.Reflection
  // (proto/reflection.proto): the services, their methods and the .proto
  // definitions they use, which mrpc_cli and `mrpc_load --method` read
  // (docs/guide.md, "Reflection and mrpc_cli"). Default: true.
  bool reflection = true;

  // Registering the server in etcd, where "etcd://" resolvers find it
  // (docs/guide.md, "Registering a server in etcd"). The key is
  // <path>/<advertise>, the value {"address":"<advertise>","pid":N}, under
  // a lease renewed every ttl/3: a crashed server's key is gone within
  // ttl. Start() registers after it listens (a bad target or advertise
  // address fails Start(); etcd being down does not: it keeps trying and
  // logs). Shutdown() deregisters first (revokes the lease, deleting the
  // key; bounded by deregister_timeout) and only then stops accepting and
  // drains, so callers stop sending before the server stops serving.
  struct Registration {
    // "etcd://host:port[,host:port...]/services/<name>". Empty: do not
    // register. Default: empty.
    std::string target;
    // "host:port" to publish. Empty: the bound address, with 0.0.0.0 (or
    // ::) replaced by 127.0.0.1 (or ::1), which only this machine can
    // reach: set it when callers run elsewhere. Default: empty.
    std::string advertise;
    // The lease's TTL (whole seconds, >= 1 s). Default: 10 s.
    absl::Duration ttl = absl::Seconds(10);
    // How long Shutdown() waits for etcd to confirm the deregistration
    // before it drains anyway. Default: 2 s.
    absl::Duration deregister_timeout = absl::Seconds(2);
    // TLS to etcd (rpc/tls_options.h), when it serves https. Default: off.
    ClientTlsOptions etcd_tls;
  };
  Registration registration;

  // HTTP/1.1 on the same port (docs/guide.md, "HTTP, metrics and status
  // pages"): a connection whose first bytes are an HTTP request line is
  // served as HTTP (JSON and protobuf calls, /metrics, /status, /health,
  // /rpcz). Limits are per request; each is answered with its 4xx and a
  // close.
  struct Http {
    // Serve HTTP at all (else such connections are closed). Default: true.
    bool enabled = true;
    // Request line (414 past it), all header lines (431), header count
    // (431), body (413). Defaults: 8 KiB, 32 KiB, 64, 4 MiB.
    size_t max_request_line = size_t{8} << 10;
    size_t max_header_bytes = size_t{32} << 10;
    size_t max_headers = 64;
    size_t max_body_bytes = size_t{4} << 20;
    // From a request's first byte until its headers are in, and from
    // there until its body is in (slowloris); past either: 408 and close.
    // Defaults: 10 s, 30 s.
    absl::Duration header_timeout = absl::Seconds(10);
    absl::Duration body_timeout = absl::Seconds(30);
  };
  Http http;

  // /rpcz on the same port (docs/guide.md, "/rpcz"): the last max_calls
  // calls that were slow or failed, with their phases (queued, handler,
  // answer), peer, status and trace id. The test runs as each call is
  // answered and costs a fast OK call no extra clock read; only kept calls
  // take the store's lock. Calls refused before they became calls (unknown
  // method, at a concurrency limit, bad metadata) are counted in /metrics
  // and not kept here.
  struct Rpcz {
    // Keep records at all (the page then says it is off). Default: true.
    bool enabled = true;
    // Calls at least this slow, arrival to answer, are kept. Zero keeps
    // every call; absl::InfiniteDuration() none for its latency. Must not
    // be negative. Default: 100 ms.
    absl::Duration slow_threshold = absl::Milliseconds(100);
    // Calls answered with a non-OK status (any code, NOT_FOUND and
    // CANCELLED included: the server cannot tell an expected error from a
    // bug; /rpcz?errors=1 and the code column sort them) are kept,
    // whatever their latency. A call whose client disconnected counts as
    // UNAVAILABLE. Default: true.
    bool keep_errors = true;
    // Records kept per server, the oldest replaced first; in [1, 65536].
    // Each is about 300 bytes plus its status message (capped at 256
    // bytes). Default: 256.
    size_t max_calls = 256;
  };
  Rpcz rpcz;

  // TLS on the same port (docs/guide.md, "TLS"). With cert_file and
  // key_file set, a connection whose first byte starts a TLS handshake
  // record (0x16) is served over TLS, binary calls and HTTP alike, and the
  // others in plaintext unless `required`. TLS 1.2 and 1.3; renegotiation
  // refused.
  struct Tls {
    // PEM: the certificate chain (leaf first) and its private key. Both
    // empty: no TLS. Start() fails if they cannot be read or do not match.
    std::string cert_file;
    std::string key_file;
    // PEM: CAs that client certificates must chain to. Set: clients are
    // asked for a certificate, and a verified one's identity is on
    // ServerContext::tls(); a certificate that does not verify fails the
    // handshake. Empty: no client certificates. Default: empty.
    std::string ca_file;
    // Refuse clients without a certificate (mutual TLS; needs ca_file).
    // Default: false.
    bool require_client_cert = false;
    // Refuse plaintext: a connection whose first bytes are not a TLS
    // handshake is closed (counted in ServerStats::tls_plaintext_refused).
    // Default: false.
    bool required = false;
    // A handshake must finish within this long of its first byte, or the
    // connection is closed. Default: 10 s.
    absl::Duration handshake_timeout = absl::Seconds(10);
    // The files are read again this often; if they changed, new
    // connections use the new certificate, key and CAs (established ones
    // keep theirs). A bad new set is logged and the old one kept.
    // Server::ReloadTls() does the same at once (the examples call it on
    // SIGHUP). Zero: only ReloadTls(). Default: 10 s.
    absl::Duration reload_interval = absl::Seconds(10);
  };
  Tls tls;
};

// Counters, readable at any time (each a relaxed snapshot).
struct ServerStats {
  // Calls received: REQUEST frames, and HTTP requests for methods.
  uint64_t requests = 0;
  uint64_t responses = 0;          // Responses sent (any status).
  uint64_t protocol_errors = 0;    // Connections closed for bad frames.
  uint64_t unimplemented = 0;      // Unknown service or method.
  uint64_t deadline_exceeded = 0;  // Answered DEADLINE_EXCEEDED.
  // RESOURCE_EXHAUSTED for the server's own limits: worker queue full,
  // max_calls_per_connection, the memory budget, max_frame_size (the
  // counters below say which); not `limited` or `shed`.
  uint64_t overloaded = 0;
  uint64_t cancels = 0;            // CANCEL frames received.
  uint64_t pings = 0;              // PING frames answered.
  uint64_t frame_timeouts = 0;     // Connections closed: a frame too slow.
  uint64_t invalid_metadata = 0;   // Requests refused for their metadata.
  uint64_t oversized_requests = 0;   // Requests over max_frame_size, skipped.
  uint64_t oversized_responses = 0;  // Responses over max_frame_size, failed.
  // Requests and responses refused because the memory budget was spent.
  uint64_t memory_refusals = 0;
  // Overload protection, answered RESOURCE_EXHAUSTED at arrival (not in
  // `overloaded`): at the method's concurrency limit; or the deadline was
  // shorter than the method's recent latency.
  uint64_t limited = 0;
  uint64_t shed = 0;
  // Connections: open now, accepted in all, and closed by reason.
  int connections = 0;
  uint64_t connections_accepted = 0;
  uint64_t idle_closes = 0;          // Silent past idle_timeout.
  uint64_t overflow_closes = 0;      // Responses past max_output_bytes.
  uint64_t stall_closes = 0;         // Output stalled past its timeout.
  uint64_t error_closes = 0;         // Resets and other socket errors.
  uint64_t rejected_over_cap = 0;    // Refused: max_connections reached.
  uint64_t fd_exhaustion_drops = 0;  // Refused: the process was out of fds.
  int64_t calls_in_flight = 0;
  // The memory budget: its limit, bytes charged now, and the most ever.
  uint64_t memory_limit = 0;
  int64_t memory_used = 0;
  int64_t memory_peak = 0;
  // Fair worker pool: requests refused for max_calls_per_connection (also
  // counted in `overloaded`), and the queue now (calls, request bytes).
  uint64_t connection_cap_refusals = 0;
  uint64_t worker_queue_calls = 0;
  uint64_t worker_queue_bytes = 0;
  // One port: connections by protocol, and those closed because their
  // first bytes were neither (or HTTP with ServerOptions::http off).
  uint64_t mrpc_connections = 0;
  uint64_t http_connections = 0;
  uint64_t unknown_protocol_closes = 0;
  // HTTP requests parsed; rejected by the parser (answered 4xx, closed);
  // too slow (408, closed).
  uint64_t http_requests = 0;
  uint64_t http_bad_requests = 0;
  uint64_t http_timeouts = 0;
  // Loop stalls seen (ServerOptions::loop_stall_threshold), all loops.
  uint64_t loop_stalls = 0;
  // TLS (ServerOptions::tls): handshakes completed and failed (bad
  // records, certificates that do not verify, timeouts, peers that left),
  // plaintext connections refused (tls.required), and certificate reloads.
  uint64_t tls_handshakes = 0;
  uint64_t tls_handshake_failures = 0;
  uint64_t tls_plaintext_refused = 0;
  uint64_t tls_reloads = 0;
};

// One of the server's event loops, as Server::loop_stats() reports it
// (ServerOptions::loop_stall_threshold; docs/guide.md, "Loop stalls").
struct LoopStats {
  std::string name;          // "mrpc-accept", "mrpc-io-0", ...
  uint64_t busy_ns = 0;      // Time outside epoll_wait.
  uint64_t iterations = 0;
  uint64_t stalls = 0;       // Iterations past the stall threshold...
  uint64_t stalled_ns = 0;   // ...and their total time (ended stalls).
  int64_t current_stall_ns = 0;  // The stall in progress (0: none)...
  std::string holder;            // ...and what holds the loop.
  uint64_t slowest_stall_ns = 0;  // The longest stall so far, and its holder.
  std::string slowest_holder;
};

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `service`.`method`. The prototypes (usually
  // `T::default_instance()`) are not owned and must outlive the server.
  // Fails if the server has started or the method exists.
  absl::Status RegisterMethod(
      absl::string_view service, absl::string_view method,
      const google::protobuf::Message& request_prototype,
      const google::protobuf::Message& response_prototype,
      MethodHandler handler, MethodOptions options = {});
  // The same, typed: `handler` is any callable as
  // void(ServerContext*, const Request&, Response*, RpcDone), kept as it is
  // (no std::function of its own: one indirect call per request fewer;
  // `done` passed on by reference, not moved into a copy of its own).
  template <typename Request, typename Response, typename Handler>
  absl::Status RegisterMethod(absl::string_view service,
                              absl::string_view method, Handler handler,
                              MethodOptions options = {}) {
    static_assert(std::is_invocable_v<Handler&, ServerContext*,
                                      const Request&, Response*, RpcDone>,
                  "the handler must be callable as void(ServerContext*, "
                  "const Request&, Response*, RpcDone)");
    return RegisterMethod(
        service, method, Request::default_instance(),
        Response::default_instance(),
        [handler = std::move(handler)](
            ServerContext* ctx, const google::protobuf::Message& request,
            google::protobuf::Message* response, RpcDone&& done) {
          handler(ctx, static_cast<const Request&>(request),
                  static_cast<Response*>(response), std::move(done));
        },
        options);
  }

  // Registers every method of a generated service. `service` is not owned
  // and must outlive the server.
  absl::Status RegisterService(ServiceBase* service);
  // Appends `interceptor` to the chain (rpc/interceptor.h). Before Start().
  absl::Status AddInterceptor(std::unique_ptr<ServerInterceptor> interceptor);

  // Listens on `address` ("0.0.0.0:9000", "[::1]:0", "localhost:0"; port 0
  // picks a free port) and starts serving. Errors: a bad address, the port
  // in use, invalid options, RESOURCE_EXHAUSTED when out of fds or threads.
  absl::Status Start(absl::string_view address);
  // Starts shutting down (see the file comment); returns at once.
  // Idempotent.
  void Shutdown();
  // Blocks until the server is down (after Shutdown(), from any thread).
  void Wait();

  // The bound address (the real port if 0 was asked). Valid after Start().
  const InetAddress& listen_address() const;
  int port() const { return listen_address().port(); }
  ServerStats stats() const;
  // Per loop: busy time, iterations and stalls ("mrpc-accept", then
  // "mrpc-io-0", "mrpc-io-1", ...; net/loop_watchdog.h). Empty before
  // Start(), after the loops stop, or with loop_stall_threshold zero.
  // Thread-safe.
  std::vector<LoopStats> loop_stats() const;

  // Marks `service` ("" = the whole server) serving or not, as /health and
  // the mrpc.health.v1.Health service report it (like gRPC's
  // HealthCheckServiceInterface::SetServingStatus). "" and every
  // registered service start serving; while the server drains, both
  // report not serving whatever was set. Thread-safe; any time, before
  // Start() too.
  void SetServingStatus(absl::string_view service, bool serving);

  // Reads ServerOptions::tls's files again now; if they changed, new
  // connections use them and established ones keep theirs. An error (a
  // file unreadable, the key not matching the certificate) leaves the
  // current ones in place. FAILED_PRECONDITION without TLS or before
  // Start(). Thread-safe.
  absl::Status ReloadTls();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVER_H_
