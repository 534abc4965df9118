// EtcdClient: an asynchronous client for etcd's v3 API over etcd's JSON
// gateway (HTTP/1.1, POST /v3/...), for naming (rpc/cluster/etcd_resolver.h)
// and self-registration (rpc/cluster/registration.h). Not gRPC: a small
// HTTP client (rpc/cluster/http_client.h), one connection per request and
// one per watch.
//
// Internal (rpc/cluster). Threading: created, used and destroyed on its loop
// (not owned; must outlive the client); every method is loop-only and every
// callback runs on the loop. No callback runs after the client (or, for a
// watch, its handle) is destroyed. Nothing blocks the loop.
//
// Endpoints: several etcd members may be given. Requests go to the current
// one; an endpoint that fails to connect (or drops the connection before
// answering) is put in backoff (100 ms doubling to 5 s, with jitter) and the
// request moves on to the next, trying each endpoint at most once.
//
// Errors: UNAVAILABLE (no endpoint answered), DEADLINE_EXCEEDED (the
// request timeout), etcd's own code for an error it returns (e.g.
// NOT_FOUND for an unknown lease), DATA_LOSS for an answer that is not
// well-formed HTTP or JSON of the expected shape, RESOURCE_EXHAUSTED for
// one over the size caps. Each such peer fault closes the connection and
// is logged, rate-limited, naming the endpoint.
//
// Example:
//   EtcdClient etcd(loop, {*InetAddress::Parse("127.0.0.1:2379")});
//   etcd.Put("/services/kv/a", "{...}", /*lease=*/0, [](absl::Status s) {});
//   auto watch = etcd.Watch("/services/kv/", rev + 1,
//                           [](const EtcdWatchUpdate& u) { ... },
//                           [](absl::Status s) { ... });
#ifndef MRPC_RPC_CLUSTER_ETCD_CLIENT_H_
#define MRPC_RPC_CLUSTER_ETCD_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "rpc/cluster/http_client.h"

namespace mrpc {

class EventLoop;
class TlsContext;

struct EtcdClientOptions {
  // Per request, all endpoints tried included; for a watch, until etcd has
  // answered its creation. Default: 5 s.
  absl::Duration request_timeout = absl::Seconds(5);
  // Caps on an answer: headers, and a body (or one watch message).
  // Default: 64 KiB, 4 MiB.
  HttpLimits limits;
  // Backoff of an endpoint that failed. Default: 100 ms doubling to 5 s,
  // jitter 0.2.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  double jitter = 0.2;
  // TLS to the endpoints (etcd serving https); null: plaintext. The name
  // each endpoint's certificate must carry; empty: the endpoint's IP.
  std::shared_ptr<const TlsContext> tls;
  std::string tls_server_name;
  absl::Duration tls_handshake_timeout = absl::Seconds(10);
};

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

struct EtcdRangeResult {
  int64_t revision = 0;  // The store's revision the range was read at.
  std::vector<EtcdKeyValue> kvs;
};

struct EtcdEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  EtcdKeyValue kv;  // For a delete: the key and the delete's mod_revision.
};

// One message of a watch stream that carries events.
struct EtcdWatchUpdate {
  int64_t header_revision = 0;
  std::vector<EtcdEvent> events;
};

// The end of a watch, with why: UNAVAILABLE (connection lost, etcd went
// away), OUT_OF_RANGE (start revision compacted: read the range again; the
// message names the compact revision), DEADLINE_EXCEEDED (not created in
// time), DATA_LOSS / RESOURCE_EXHAUSTED (a malformed or oversized message),
// CANCELLED (etcd cancelled it).
using EtcdWatchErrorCallback = absl::AnyInvocable<void(absl::Status status)>;
using EtcdWatchEventsCallback =
    std::function<void(const EtcdWatchUpdate& update)>;

// A watch in progress. Destroying it (or Cancel()) closes the stream; no
// callback runs after that. Loop only.
class EtcdWatch {
 public:
  class Stream;
  explicit EtcdWatch(std::shared_ptr<Stream> stream);
  ~EtcdWatch();
  EtcdWatch(const EtcdWatch&) = delete;
  EtcdWatch& operator=(const EtcdWatch&) = delete;
  void Cancel();
  // etcd confirmed the watch ("created").
  bool created() const;

 private:
  std::shared_ptr<Stream> stream_;
};

class EtcdClient {
 public:
  // `loop` is not owned and must outlive the client. `endpoints` must not
  // be empty.
  EtcdClient(EventLoop* loop, std::vector<InetAddress> endpoints,
             EtcdClientOptions options = {});
  // Cancels every request in flight; their callbacks never run. Watches
  // already handed out end too (silently).
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Every key starting with `prefix` (an empty prefix: all keys).
  void Range(absl::string_view prefix,
             absl::AnyInvocable<void(absl::StatusOr<EtcdRangeResult>)> done);
  // `lease` 0: none.
  void Put(absl::string_view key, absl::string_view value, int64_t lease,
           absl::AnyInvocable<void(absl::Status)> done);
  // Deletes one key (OK if it did not exist).
  void Delete(absl::string_view key,
              absl::AnyInvocable<void(absl::Status)> done);
  // A lease of `ttl` (whole seconds, at least 1); its id.
  void LeaseGrant(absl::Duration ttl,
                  absl::AnyInvocable<void(absl::StatusOr<int64_t>)> done);
  // Renews the lease once; its TTL left in seconds, 0 if the lease is gone
  // (expired, revoked, or etcd lost it).
  void LeaseKeepAliveOnce(
      int64_t lease, absl::AnyInvocable<void(absl::StatusOr<int64_t>)> done);
  // Revokes the lease (deleting its keys).
  void LeaseRevoke(int64_t lease, absl::AnyInvocable<void(absl::Status)> done);
  // Watches the keys under `prefix` from `start_revision` (0: from now).
  // `on_events` runs for each message with events, in order; `on_error`
  // once, when the watch ends (then nothing else runs).
  std::unique_ptr<EtcdWatch> Watch(absl::string_view prefix,
                                   int64_t start_revision,
                                   EtcdWatchEventsCallback on_events,
                                   EtcdWatchErrorCallback on_error);

  // The endpoint requests go to now ("127.0.0.1:2379").
  std::string current_endpoint() const;

  class Core;

 private:
  std::shared_ptr<Core> core_;
};

// etcd's end of a prefix: the prefix with its last byte incremented (bytes
// of 0xff dropped first); "\0" (all keys) for an empty prefix.
std::string EtcdPrefixEnd(absl::string_view prefix);

// Parsing the gateway's answers, exposed for the fuzzer and tests. Each
// returns DATA_LOSS for JSON that does not parse or has the wrong shape.
absl::StatusOr<EtcdRangeResult> ParseEtcdRangeResponse(absl::string_view json);
// One watch stream line: OK with the update (possibly no events: created,
// progress), or the watch's end as an error (see EtcdWatchErrorCallback).
// *created is set if this line confirms the watch.
absl::StatusOr<EtcdWatchUpdate> ParseEtcdWatchLine(absl::string_view json,
                                                   bool* created);
// An HTTP error answer ({"error":..,"code":N,"message":..}) as a Status
// with etcd's (gRPC) code; any other body gives UNAVAILABLE or INTERNAL by
// the HTTP status.
absl::Status EtcdErrorStatus(int http_status, absl::string_view body);

}  // namespace mrpc

#endif  // MRPC_RPC_CLUSTER_ETCD_CLIENT_H_
