#include "rpc/cluster/etcd_client.h"

#include <glog/logging.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "rpc/cluster/etcd_gateway.pb.h"

namespace mrpc {
namespace {

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  // Our own messages: printing them cannot fail.
  CHECK(google::protobuf::util::MessageToJsonString(message, &json, options)
            .ok());
  return json;
}

absl::Status FromJson(absl::string_view json,
                      google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(
        "etcd answer is not the expected JSON (",
        message->GetDescriptor()->name(), "): ",
        std::string(status.message()).substr(0, 200)));
  }
  return absl::OkStatus();
}

EtcdKeyValue FromProto(const etcd::KeyValue& kv) {
  EtcdKeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.lease = kv.lease();
  return out;
}

absl::Status StatusFromCode(int code, absl::string_view message) {
  if (code <= 0 || code > 16) code = static_cast<int>(absl::StatusCode::kUnknown);
  return absl::Status(static_cast<absl::StatusCode>(code),
                      absl::StrCat("etcd: ", message.substr(0, 500)));
}

// A peer's fault (not a timeout or a refused connect): worth a log line.
bool IsPeerFault(const absl::Status& status) {
  return absl::IsDataLoss(status) || absl::IsResourceExhausted(status);
}

// The first non-empty line of a streamed answer.
absl::string_view FirstLine(absl::string_view body) {
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (!line.empty()) return line;
  }
  return body;
}

}  // namespace

std::string EtcdPrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

absl::StatusOr<EtcdRangeResult> ParseEtcdRangeResponse(absl::string_view json) {
  etcd::RangeResponse response;
  absl::Status status = FromJson(json, &response);
  if (!status.ok()) return status;
  EtcdRangeResult result;
  result.revision = response.header().revision();
  result.kvs.reserve(response.kvs_size());
  for (const etcd::KeyValue& kv : response.kvs()) {
    result.kvs.push_back(FromProto(kv));
  }
  return result;
}

absl::StatusOr<EtcdWatchUpdate> ParseEtcdWatchLine(absl::string_view json,
                                                   bool* created) {
  etcd::WatchStreamLine line;
  absl::Status status = FromJson(json, &line);
  if (!status.ok()) return status;
  if (line.has_error()) {
    return StatusFromCode(line.error().grpc_code(), line.error().message());
  }
  const etcd::WatchResponse& response = line.result();
  if (response.canceled()) {
    if (response.compact_revision() > 0) {
      return absl::OutOfRangeError(absl::StrCat(
          "etcd watch start revision was compacted (compact_revision ",
          response.compact_revision(), ")"));
    }
    return absl::CancelledError(absl::StrCat(
        "etcd cancelled the watch: ", response.cancel_reason().substr(0, 200)));
  }
  if (response.created()) *created = true;
  EtcdWatchUpdate update;
  update.header_revision = response.header().revision();
  update.events.reserve(response.events_size());
  for (const etcd::Event& event : response.events()) {
    EtcdEvent out;
    out.type = event.type() == etcd::Event::DELETE ? EtcdEvent::Type::kDelete
                                                   : EtcdEvent::Type::kPut;
    out.kv = FromProto(event.kv());
    update.events.push_back(std::move(out));
  }
  return update;
}

absl::Status EtcdErrorStatus(int http_status, absl::string_view body) {
  etcd::ErrorResponse error;
  if (FromJson(body, &error).ok() && error.code() > 0) {
    return StatusFromCode(error.code(), error.message().empty()
                                            ? error.error()
                                            : error.message());
  }
  if (http_status >= 500) {
    return absl::UnavailableError(
        absl::StrCat("etcd answered HTTP ", http_status));
  }
  return absl::InternalError(absl::StrCat("etcd answered HTTP ", http_status));
}

// ---------------------------------------------------------------------------

class EtcdClient::Core : public std::enable_shared_from_this<Core> {
 public:
  using BodyDone = absl::AnyInvocable<void(absl::StatusOr<std::string>)>;
  struct Endpoint {
    InetAddress address;
    std::string host;
    absl::Duration backoff;
    int64_t retry_at_ms;
  };

  Core(EventLoop* loop, std::vector<InetAddress> endpoints,
       EtcdClientOptions options)
      : loop_(loop), options_(options) {
    CHECK(!endpoints.empty()) << "EtcdClient needs an endpoint";
    for (const InetAddress& address : endpoints) {
      endpoints_.push_back(Endpoint{address, address.ToString(),
                                    options_.initial_backoff, 0});
    }
  }

  // Posts `body` to `path`; `done` gets the body of a 200 answer.
  void Post(std::string path, std::string body, BodyDone done) {
    loop_->AssertInLoopThread();
    auto op = std::make_shared<Op>();
    op->id = next_id_++;
    op->path = std::move(path);
    op->body = std::move(body);
    op->deadline = absl::Now() + options_.request_timeout;
    op->done = std::move(done);
    ops_[op->id] = op;
    Attempt(op);
  }

  std::unique_ptr<EtcdWatch> StartWatch(absl::string_view prefix,
                                        int64_t start_revision,
                                        EtcdWatchEventsCallback on_events,
                                        EtcdWatchErrorCallback on_error);

  // Cancels every request and watch; no callback runs after.
  void Shutdown();

  // The endpoint to use now: the current one unless it is in backoff; else
  // the next not in backoff; else the one whose backoff ends first.
  size_t Pick() {
    const int64_t now = MonotonicMillis();
    const size_t n = endpoints_.size();
    size_t best = current_;
    for (size_t i = 0; i < n; ++i) {
      const size_t index = (current_ + i) % n;
      if (endpoints_[index].retry_at_ms <= now) return index;
      if (endpoints_[index].retry_at_ms < endpoints_[best].retry_at_ms) {
        best = index;
      }
    }
    return best;
  }

  void MarkFailed(size_t index, const absl::Status& status) {
    Endpoint& endpoint = endpoints_[index];
    const double factor =
        absl::Uniform(rng_, 1.0 - options_.jitter, 1.0 + options_.jitter);
    endpoint.retry_at_ms =
        MonotonicMillis() +
        absl::ToInt64Milliseconds(endpoint.backoff * factor);
    endpoint.backoff = std::min(endpoint.backoff * 2, options_.max_backoff);
    if (index == current_) current_ = (current_ + 1) % endpoints_.size();
    MRPC_PEER_LOG(WARNING, "etcd endpoint failed", endpoint.address)
        << "etcd endpoint " << endpoint.host << ": " << status
        << (endpoints_.size() > 1 ? "; trying the next endpoint" : "");
  }

  void MarkOk(size_t index) {
    endpoints_[index].backoff = options_.initial_backoff;
    endpoints_[index].retry_at_ms = 0;
    current_ = index;
  }

  HttpCall::Options CallOptions(absl::Duration timeout) const {
    HttpCall::Options options;
    options.timeout = timeout;
    options.limits = options_.limits;
    options.tls = options_.tls;
    options.tls_server_name = options_.tls_server_name;
    options.tls_handshake_timeout = options_.tls_handshake_timeout;
    return options;
  }

  HttpRequest Request(const Endpoint& endpoint, std::string path,
                      std::string body) const {
    HttpRequest request;
    request.path = std::move(path);
    request.host = endpoint.host;
    request.body = std::move(body);
    return request;
  }

  EventLoop* const loop_;
  const EtcdClientOptions options_;

  std::vector<Endpoint> endpoints_;
  size_t current_ = 0;

 private:
  struct Op {
    uint64_t id = 0;
    std::string path;
    std::string body;
    absl::Time deadline;
    size_t attempts = 0;
    BodyDone done;
    std::shared_ptr<HttpCall> call;
  };

  void Attempt(const std::shared_ptr<Op>& op) {
    const absl::Duration left = op->deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      Complete(op->id, absl::DeadlineExceededError(absl::StrCat(
                           "etcd request ", op->path, " timed out")));
      return;
    }
    const size_t index = Pick();
    ++op->attempts;
    std::weak_ptr<Core> weak = shared_from_this();
    const uint64_t id = op->id;
    op->call = HttpCall::Start(
        loop_, endpoints_[index].address,
        Request(endpoints_[index], op->path, op->body), CallOptions(left),
        nullptr, [weak, id, index](absl::StatusOr<HttpResponse> response) {
          if (auto self = weak.lock()) {
            self->OnAttemptDone(id, index, std::move(response));
          }
        });
  }

  void OnAttemptDone(uint64_t id, size_t index,
                     absl::StatusOr<HttpResponse> response) {
    auto it = ops_.find(id);
    if (it == ops_.end()) return;
    std::shared_ptr<Op> op = it->second;
    op->call = nullptr;
    if (!response.ok()) {
      const absl::Status& status = response.status();
      if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
        MarkFailed(index, status);
        if (absl::IsUnavailable(status) && op->attempts < endpoints_.size()) {
          Attempt(op);
          return;
        }
      } else if (IsPeerFault(status)) {
        MRPC_PEER_LOG(WARNING, "etcd bad answer", endpoints_[index].address)
            << "etcd endpoint " << endpoints_[index].host << " " << op->path
            << ": " << status << "; connection closed";
      }
      Complete(id, status);
      return;
    }
    MarkOk(index);
    if (response->status_code != 200) {
      Complete(id, EtcdErrorStatus(response->status_code, response->body));
      return;
    }
    Complete(id, std::move(response->body));
  }

  void Complete(uint64_t id, absl::StatusOr<std::string> result) {
    auto it = ops_.find(id);
    if (it == ops_.end()) return;
    BodyDone done = std::move(it->second->done);
    ops_.erase(it);
    done(std::move(result));
  }

  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Op>> ops_;
  std::vector<std::weak_ptr<EtcdWatch::Stream>> watches_;
  absl::BitGen rng_;
};

// ---------------------------------------------------------------------------

class EtcdWatch::Stream : public std::enable_shared_from_this<Stream> {
 public:
  Stream(EventLoop* loop, std::weak_ptr<EtcdClient::Core> core, size_t index,
         InetAddress endpoint, HttpLimits limits,
         EtcdWatchEventsCallback on_events, EtcdWatchErrorCallback on_error)
      : loop_(loop),
        core_(std::move(core)),
        index_(index),
        endpoint_(endpoint),
        limits_(limits),
        on_events_(std::move(on_events)),
        on_error_(std::move(on_error)) {}

  void Begin(HttpRequest request, HttpCall::Options options) {
    std::weak_ptr<Stream> weak = shared_from_this();
    call_ = HttpCall::Start(
        loop_, endpoint_, request, options,
        [weak](absl::string_view piece) -> absl::Status {
          auto self = weak.lock();
          if (self == nullptr) return absl::CancelledError("watch gone");
          return self->OnBody(piece);
        },
        [weak](absl::StatusOr<HttpResponse> response) {
          if (auto self = weak.lock()) self->OnDone(std::move(response));
        });
  }

  absl::Status OnBody(absl::string_view piece) {
    if (ended_) return absl::CancelledError("watch cancelled");
    if (call_->status_code() != 200) {
      // An error answer: keep a bounded prefix of it for the status.
      const size_t room = 4096 - std::min<size_t>(4096, error_body_.size());
      const absl::string_view kept = piece.substr(0, room);
      error_body_.append(kept.data(), kept.size());
      return absl::OkStatus();
    }
    line_.append(piece.data(), piece.size());
    size_t start = 0;
    for (;;) {
      const size_t end = line_.find('\n', start);
      if (end == std::string::npos) break;
      const absl::string_view line(line_.data() + start, end - start);
      start = end + 1;
      if (line.find_first_not_of(" \r\t") == absl::string_view::npos) continue;
      bool created = false;
      absl::StatusOr<EtcdWatchUpdate> update = ParseEtcdWatchLine(line, &created);
      if (!update.ok()) return update.status();
      if (created) {
        created_ = true;
        if (auto core = core_.lock()) core->MarkOk(index_);
      }
      if (!update->events.empty() && on_events_) {
        // A copy: the callback may cancel the watch (and drop on_events_).
        EtcdWatchEventsCallback on_events = on_events_;
        on_events(*update);
        if (ended_) return absl::CancelledError("watch cancelled");
      }
    }
    line_.erase(0, start);
    if (line_.size() > limits_.max_body_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "etcd watch message over ", limits_.max_body_bytes, " bytes"));
    }
    return absl::OkStatus();
  }

  void OnDone(absl::StatusOr<HttpResponse> response) {
    if (ended_) return;
    absl::Status status;
    if (!response.ok()) {
      status = response.status();
    } else if (response->status_code != 200) {
      status = EtcdErrorStatus(response->status_code, error_body_);
    } else {
      status = absl::UnavailableError(
          absl::StrCat("etcd ", endpoint_.ToString(), " ended the watch"));
    }
    if (IsPeerFault(status)) {
      MRPC_PEER_LOG(WARNING, "etcd bad answer", endpoint_)
          << "etcd endpoint " << endpoint_.ToString()
          << " watch: " << status << "; connection closed";
    }
    if (!created_ &&
        (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status))) {
      if (auto core = core_.lock()) core->MarkFailed(index_, status);
    }
    End(status);
  }

  void End(absl::Status status) {
    ended_ = true;
    on_events_ = nullptr;
    EtcdWatchErrorCallback on_error = std::move(on_error_);
    if (call_) call_->Cancel();
    if (on_error) on_error(std::move(status));
  }

  void Cancel() {
    ended_ = true;
    on_events_ = nullptr;
    on_error_ = nullptr;
    if (call_) call_->Cancel();
  }

  bool created() const { return created_; }

 private:
  EventLoop* const loop_;
  const std::weak_ptr<EtcdClient::Core> core_;
  const size_t index_;
  const InetAddress endpoint_;
  const HttpLimits limits_;
  EtcdWatchEventsCallback on_events_;
  EtcdWatchErrorCallback on_error_;
  std::shared_ptr<HttpCall> call_;
  std::string line_;
  std::string error_body_;
  bool created_ = false;
  bool ended_ = false;
};

EtcdWatch::EtcdWatch(std::shared_ptr<Stream> stream)
    : stream_(std::move(stream)) {}
EtcdWatch::~EtcdWatch() { Cancel(); }
void EtcdWatch::Cancel() {
  if (stream_) stream_->Cancel();
}
bool EtcdWatch::created() const { return stream_ && stream_->created(); }

std::unique_ptr<EtcdWatch> EtcdClient::Core::StartWatch(
    absl::string_view prefix, int64_t start_revision,
    EtcdWatchEventsCallback on_events, EtcdWatchErrorCallback on_error) {
  loop_->AssertInLoopThread();
  etcd::WatchRequest request;
  request.mutable_create_request()->set_key(std::string(prefix));
  request.mutable_create_request()->set_range_end(EtcdPrefixEnd(prefix));
  request.mutable_create_request()->set_start_revision(start_revision);
  const size_t index = Pick();
  auto stream = std::make_shared<EtcdWatch::Stream>(
      loop_, weak_from_this(), index, endpoints_[index].address,
      options_.limits, std::move(on_events), std::move(on_error));
  watches_.erase(std::remove_if(watches_.begin(), watches_.end(),
                                [](const std::weak_ptr<EtcdWatch::Stream>& w) {
                                  return w.expired();
                                }),
                 watches_.end());
  watches_.push_back(stream);
  stream->Begin(Request(endpoints_[index], "/v3/watch", ToJson(request)),
                CallOptions(options_.request_timeout));
  return std::make_unique<EtcdWatch>(std::move(stream));
}

void EtcdClient::Core::Shutdown() {
  loop_->AssertInLoopThread();
  for (auto& [id, op] : ops_) {
    if (op->call) op->call->Cancel();
  }
  ops_.clear();
  for (const std::weak_ptr<EtcdWatch::Stream>& weak : watches_) {
    if (auto stream = weak.lock()) stream->Cancel();
  }
  watches_.clear();
}

// ---------------------------------------------------------------------------

EtcdClient::EtcdClient(EventLoop* loop, std::vector<InetAddress> endpoints,
                       EtcdClientOptions options)
    : core_(std::make_shared<Core>(loop, std::move(endpoints), options)) {}

EtcdClient::~EtcdClient() { core_->Shutdown(); }

std::string EtcdClient::current_endpoint() const {
  return core_->endpoints_[core_->current_].host;
}

void EtcdClient::Range(
    absl::string_view prefix,
    absl::AnyInvocable<void(absl::StatusOr<EtcdRangeResult>)> done) {
  etcd::RangeRequest request;
  request.set_key(std::string(prefix));
  request.set_range_end(EtcdPrefixEnd(prefix));
  core_->Post("/v3/kv/range", ToJson(request),
              [done = std::move(done)](
                  absl::StatusOr<std::string> body) mutable {
                if (!body.ok()) {
                  done(body.status());
                  return;
                }
                done(ParseEtcdRangeResponse(*body));
              });
}

void EtcdClient::Put(absl::string_view key, absl::string_view value,
                     int64_t lease,
                     absl::AnyInvocable<void(absl::Status)> done) {
  etcd::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  request.set_lease(lease);
  core_->Post("/v3/kv/put", ToJson(request),
              [done = std::move(done)](
                  absl::StatusOr<std::string> body) mutable {
                if (!body.ok()) {
                  done(body.status());
                  return;
                }
                etcd::PutResponse response;
                done(FromJson(*body, &response));
              });
}

void EtcdClient::Delete(absl::string_view key,
                        absl::AnyInvocable<void(absl::Status)> done) {
  etcd::DeleteRangeRequest request;
  request.set_key(std::string(key));
  core_->Post("/v3/kv/deleterange", ToJson(request),
              [done = std::move(done)](
                  absl::StatusOr<std::string> body) mutable {
                if (!body.ok()) {
                  done(body.status());
                  return;
                }
                etcd::DeleteRangeResponse response;
                done(FromJson(*body, &response));
              });
}

void EtcdClient::LeaseGrant(
    absl::Duration ttl,
    absl::AnyInvocable<void(absl::StatusOr<int64_t>)> done) {
  etcd::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  core_->Post("/v3/lease/grant", ToJson(request),
              [done = std::move(done)](
                  absl::StatusOr<std::string> body) mutable {
                if (!body.ok()) {
                  done(body.status());
                  return;
                }
                etcd::LeaseGrantResponse response;
                absl::Status status = FromJson(*body, &response);
                if (!status.ok()) {
                  done(status);
                } else if (!response.error().empty()) {
                  done(absl::UnavailableError(absl::StrCat(
                      "etcd: lease grant: ", response.error().substr(0, 200))));
                } else if (response.id() == 0) {
                  done(absl::DataLossError("etcd granted lease 0"));
                } else {
                  done(response.id());
                }
              });
}

void EtcdClient::LeaseKeepAliveOnce(
    int64_t lease, absl::AnyInvocable<void(absl::StatusOr<int64_t>)> done) {
  etcd::LeaseKeepAliveRequest request;
  request.set_id(lease);
  core_->Post("/v3/lease/keepalive", ToJson(request),
              [done = std::move(done)](
                  absl::StatusOr<std::string> body) mutable {
                if (!body.ok()) {
                  done(body.status());
                  return;
                }
                etcd::LeaseKeepAliveStreamLine line;
                absl::Status status = FromJson(FirstLine(*body), &line);
                if (!status.ok()) {
                  done(status);
                } else if (line.has_error()) {
                  done(StatusFromCode(line.error().grpc_code(),
                                      line.error().message()));
                } else {
                  done(std::max<int64_t>(0, line.result().ttl()));
                }
              });
}

void EtcdClient::LeaseRevoke(int64_t lease,
                             absl::AnyInvocable<void(absl::Status)> done) {
  etcd::LeaseRevokeRequest request;
  request.set_id(lease);
  core_->Post("/v3/lease/revoke", ToJson(request),
              [done = std::move(done)](
                  absl::StatusOr<std::string> body) mutable {
                if (!body.ok()) {
                  done(body.status());
                  return;
                }
                etcd::LeaseRevokeResponse response;
                done(FromJson(*body, &response));
              });
}

std::unique_ptr<EtcdWatch> EtcdClient::Watch(absl::string_view prefix,
                                             int64_t start_revision,
                                             EtcdWatchEventsCallback on_events,
                                             EtcdWatchErrorCallback on_error) {
  return core_->StartWatch(prefix, start_revision, std::move(on_events),
                           std::move(on_error));
}

}  // namespace mrpc
