#include "rpc/channel.h"

#include <glog/logging.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/log_limiter.h"
#include "net/sync.h"
#include "net/tls_context.h"
#include "rpc/call_table.h"
#include "rpc/client_tls.h"
#include "rpc/cluster/etcd_client.h"
#include "rpc/cluster/load_balancer.h"
#include "rpc/cluster/outlier_detector.h"
#include "rpc/cluster/resolver.h"
#include "rpc/cluster/retry_budget.h"
#include "rpc/cluster/target.h"
#include "rpc/codec.h"
#include "rpc/deadline_queue.h"
#include "rpc/protobuf_log.h"
#include "rpc/subchannel.h"

namespace mrpc {
namespace {

// The name a TLS server's certificate must carry, from the target: the
// host of "host:port" or "dns:///host:port" (brackets off an IPv6 literal);
// empty for list:// and etcd://, where each server is checked by its IP.
std::string TargetHost(absl::string_view target) {
  if (absl::ConsumePrefix(&target, "dns:///")) {
  } else if (absl::StrContains(target, "://")) {
    return "";
  }
  const size_t colon = target.rfind(':');
  absl::string_view host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

// An error status with a representation of its own. absl::Status shares
// its heap representation between copies and frees it from
// libabsl_status.so, which Debian builds without ThreadSanitizer hooks; a
// representation shared between the loop and a caller's thread would look
// like a race to TSan. Each caller gets its own (OK costs nothing).
absl::Status OwnCopy(const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), status.message());
}

}  // namespace

// Everything the channel does happens here, on its loop. Shared-owned so
// timers and context hooks can hold it weakly.
//
// A call ("Pending", keyed by its id) has at most two attempts in flight,
// each on one server (Subchannel): the first or a retry, and a backup
// request. An attempt's id is the call's id for the first one and a new id
// (in attempt_ids_) for each after it: ids are never reused, so a late
// answer to an abandoned attempt finds nothing. A call with no attempt in
// flight is queued until a server is ready.
class Channel::Core : public std::enable_shared_from_this<Core>,
                      public Subchannel::Owner {
 public:
  Core(EventLoop* loop, std::string target, ChannelOptions options,
       LbPolicy policy, ParsedTarget parsed,
       std::shared_ptr<const TlsContext> tls,
       std::shared_ptr<const TlsContext> etcd_tls)
      : loop_(loop),
        etcd_tls_(std::move(etcd_tls)),
        target_(std::move(target)),
        options_(std::move(options)),
        policy_(policy),
        parsed_(std::move(parsed)),
        detector_(options_.cluster.outlier),
        budget_(options_.cluster.retry.budget_ratio,
                options_.cluster.retry.budget_burst) {
    sub_options_.heartbeat_interval = options_.heartbeat_interval;
    sub_options_.heartbeat_timeout = options_.heartbeat_timeout;
    sub_options_.max_frame_size = options_.max_frame_size;
    sub_options_.connect = options_.connect;
    sub_options_.tls = tls;
    sub_options_.tls_handshake_timeout = options_.tls.handshake_timeout;
    sub_options_.tls_server_name = options_.tls.server_name;
    if (sub_options_.tls_server_name.empty()) {
      sub_options_.tls_server_name = TargetHost(target_);
    }
    for (const std::string& name : options_.cluster.idempotent_methods) {
      idempotent_.insert(name);
    }
    rng_ = static_cast<uint64_t>(MonotonicNanos()) ^
           reinterpret_cast<uintptr_t>(this);
  }

  absl::Status Start() {
    loop_->AssertInLoopThread();
    if (parsed_.kind == ParsedTarget::Kind::kHostPort ||
        parsed_.kind == ParsedTarget::Kind::kList) {
      SetBackends(parsed_.addresses);
      return absl::OkStatus();
    }
    EtcdClientOptions etcd;
    etcd.tls = etcd_tls_;
    etcd.tls_server_name = options_.cluster.etcd_tls.server_name;
    etcd.tls_handshake_timeout = options_.cluster.etcd_tls.handshake_timeout;
    absl::StatusOr<std::unique_ptr<Resolver>> resolver =
        NewResolver(loop_, parsed_, target_, etcd);
    if (!resolver.ok()) return resolver.status();
    resolver_ = std::move(*resolver);
    std::weak_ptr<Core> weak = shared_from_this();
    resolver_->Start([weak](absl::StatusOr<std::vector<InetAddress>> backends) {
      if (auto self = weak.lock()) self->OnResolved(std::move(backends));
    });
    return absl::OkStatus();
  }

  // Any thread: runs `task` on the loop unless the channel is gone.
  void Post(Functor task) {
    MutexLock lock(&post_mutex_);
    if (loop_alive_) loop_->QueueInLoop(std::move(task));
  }
  void MarkLoopGone() {
    MutexLock lock(&post_mutex_);
    loop_alive_ = false;
  }

  // The request travels either as a message (on the loop, encoded straight
  // into the connection) or pre-serialized (from other threads).
  struct Request {
    const google::protobuf::Message* message = nullptr;
    std::string bytes;
  };

  // Loop only.
  // `lasting`: the names outlive the channel; interceptors and retries may
  // keep the views, else the names are interned.
  void StartCall(absl::string_view service, absl::string_view method,
                 bool lasting, bool idempotent, Request&& request,
                 google::protobuf::Message* response, ClientContext* context,
                 RpcCallback&& done) {
    loop_->AssertInLoopThread();
    SingleWriterAdd(calls_);
    // The time left: from the context's deadline (one clock read), or the
    // channel's default timeout (none), or unlimited.
    absl::Duration timeout = absl::InfiniteDuration();
    if (context != nullptr && context->deadline() != absl::InfiniteFuture()) {
      timeout = context->deadline() - absl::Now();
    } else if (options_.default_timeout > absl::ZeroDuration()) {
      timeout = options_.default_timeout;
    }
    if (shutdown_) {
      FailSoon(context, std::move(done),
               absl::CancelledError("the channel is closing"));
      return;
    }
    // A server to send to now, or else whether to wait for one.
    Subchannel* backend =
        ready_.size() == 1 ? ready_[0] : Pick(context, nullptr);
    if (backend == nullptr && !WorthWaiting()) {
      FailSoon(context, std::move(done), Unreachable());
      return;
    }
    if (timeout <= absl::ZeroDuration()) {
      SingleWriterAdd(deadline_exceeded_);
      FailSoon(context, std::move(done),
               absl::DeadlineExceededError(
                   "the deadline passed before the call started"));
      return;
    }
    if (context != nullptr && !context->metadata_error().ok()) {
      FailSoon(context, std::move(done), context->metadata_error());
      return;
    }
    // Ids are never reused; a call that fails to start burns one.
    const uint64_t id = next_id_++;
    Pending& call = pending_.Insert(id);
    call.start_ms = loop_->CachedNowMs();
    call.context = context;  // Before OnCall: interceptors see it.
    // Kept to send again: a call that must wait, or one that another
    // server could take if this one refuses it or fails.
    const bool keep =
        backend == nullptr ||
        (backends_.size() > 1 && options_.cluster.retry.max_attempts > 1);
    if (!options_.interceptors.empty() || keep) {
      service = lasting ? service : Intern(service, &last_service_);
      method = lasting ? method : Intern(method, &last_method_);
    }
    if (!options_.interceptors.empty()) {
      call.start_ns = loop_->CachedNowNs();
      call.info.service = service;
      call.info.method = method;
      call.info.deadline =
          context != nullptr ? context->deadline() : absl::InfiniteFuture();
      call.info.context = context;
    }
    RequestFields fields;
    if (context != nullptr || !options_.interceptors.empty()) {
      absl::Status status = BuildMetadata(context, &call, &fields.metadata);
      if (!status.ok()) {
        PendingTable::Taken taken = pending_.Extract(id);
        RunOnComplete(*taken, status);
        FailSoon(context, std::move(done), std::move(status));
        return;
      }
    }
    call.response = response;
    call.done = std::move(done);
    call.timeout = timeout;
    if (timeout != absl::InfiniteDuration() &&
        !deadlines_.Add(id, DeadlineNanos(timeout))) {
      // Earlier than a deadline already filed: a timer of its own. A raw
      // `this` (small enough for the callback's inline storage: no
      // allocation per call) is safe: completing a call cancels its timer,
      // and Teardown() completes every call before the core can go away.
      call.deadline_timer =
          loop_->RunAfter(timeout, [this, id] { OnDeadline(id); });
    }
    if (context != nullptr) {
      std::weak_ptr<Core> weak = shared_from_this();
      context->SetCancelHook([weak, id] {
        if (auto self = weak.lock()) {
          self->Post([weak, id] {
            if (auto core = weak.lock()) core->Cancel(id);
          });
        }
      });
    }
    if (keep) {
      // Only a kept call can go again: it earns the retry budget its share,
      // and whether it is idempotent matters.
      budget_.OnCall();
      call.idempotent = idempotent || IsIdempotent(service, method) ||
                        (context != nullptr && context->idempotent());
      call.kept = std::make_unique<Kept>();
      Kept& kept = *call.kept;
      kept.service = service;
      kept.method = method;
      if (request.message != nullptr) {
        request.message->SerializeToString(&kept.request);
      } else {
        kept.request = std::move(request.bytes);
      }
      if (fields.metadata != nullptr) {
        kept.metadata = std::move(metadata_scratch_);
        metadata_scratch_.clear();
      }
      if (backend == nullptr) {
        queued_.push_back(id);
      } else {
        SendKept(id, backend, /*backup=*/false);
      }
      return;
    }
    // The common case: encoded straight into the connection.
    fields.id = id;
    fields.service = service;
    fields.method = method;
    fields.timeout_us = WireTimeout(timeout);
    call.primary = Attempt{id, backend, loop_->CachedNowNs()};
    call.sent_ms = call.start_ms;
    OnAttemptSent(backend, /*retry=*/false);
    backend->Send([&](Buffer* out) { Encode(fields, request, out); });
    if (fields.metadata != nullptr) metadata_scratch_.clear();
  }

  // Loop only: completes every call with CANCELLED and lets go of the
  // connections. No callback runs after this returns.
  void Teardown() {
    loop_->AssertInLoopThread();
    shutdown_ = true;
    resolver_.reset();
    deadlines_.Clear();  // Its timer holds a raw `this`.
    // Tell the servers, so their handlers stop: our FIN alone reads as a
    // half-close, after which a server keeps serving what it owes.
    pending_.ForEach([this](uint64_t, Pending& call) {
      CancelAttempt(&call.primary);
      CancelAttempt(&call.backup);
    });
    FlushSoonFailures();
    for (auto& [id, call] : pending_.TakeAll()) {
      Complete(*call,
               absl::CancelledError(
                   absl::StrCat("the channel was destroyed; the call spent ",
                                WhereTimeWent(*call))),
               {}, nullptr);
    }
    // Calls those callbacks started failed at once ("closing"): complete
    // them here too, since the queued flush would find the core gone.
    while (!soon_.empty()) FlushSoonFailures();
    ready_.clear();
    backends_.clear();  // Closes the connections; no callback comes back.
    retired_.clear();
  }

  bool connected() const { return connected_.load(std::memory_order_relaxed); }

  ChannelStats stats() const {
    ChannelStats s;
    s.calls = calls_.load();
    s.ok = ok_.load();
    s.failed = failed_.load();
    s.deadline_exceeded = deadline_exceeded_.load();
    s.late_responses = late_responses_.load();
    s.connects = counters_.connects.load();
    s.reconnects = counters_.reconnects.load();
    s.connection_losses = counters_.connection_losses.load();
    s.heartbeat_timeouts = counters_.heartbeat_timeouts.load();
    s.pings = counters_.pings.load();
    s.protocol_errors = counters_.protocol_errors.load();
    s.oversized_responses = oversized_responses_.load();
    s.attempts = attempts_.load();
    s.retries = retries_.load();
    s.backup_requests = backup_requests_.load();
    s.retries_throttled = retries_throttled_.load();
    s.ejections = ejections_.load();
    s.resolver_updates = resolver_updates_.load();
    s.resolver_errors = resolver_errors_.load();
    return s;
  }

  // Loop only.
  std::vector<BackendStats> backends() const {
    loop_->AssertInLoopThread();
    const int64_t now = loop_->CachedNowMs();
    std::vector<BackendStats> out;
    for (const auto& sub : backends_) out.push_back(StatsOf(*sub, now));
    for (const auto& sub : retired_) out.push_back(StatsOf(*sub, now));
    for (const auto& [address, stats] : removed_) out.push_back(stats);
    return out;
  }

 private:
  struct Attempt {
    uint64_t id = 0;  // 0: none.
    Subchannel* backend = nullptr;
    int64_t sent_ns = 0;  // The loop's clock, for the latency sample.
    bool live() const { return id != 0; }
  };

  struct Kept {
    absl::string_view service;  // Lasting or interned.
    absl::string_view method;
    std::string request;  // Serialized.
    Metadata metadata;
    std::string last_peer;  // The server of the last attempt that failed.
    int attempts = 0;       // Sent so far.
    TimerId backup_timer;
  };

  struct Pending {
    google::protobuf::Message* response = nullptr;
    RpcCallback done;
    ClientContext* context = nullptr;
    // Only for a deadline earlier than one already filed in deadlines_.
    TimerId deadline_timer;
    absl::Duration timeout = absl::InfiniteDuration();
    // Where the time goes: the loop's clock (ms) when the call started and
    // when its first request was written (-1: not yet).
    int64_t start_ms = 0;
    int64_t sent_ms = -1;
    bool sent() const { return sent_ms >= 0; }
    Attempt primary;  // The first attempt or the retry in flight.
    Attempt backup;   // A backup request in flight.
    bool idempotent = false;
    // Kept to send again: a call that waits for a server, or that another
    // server could take. Null for the common call (one server, or sent at
    // once with no retry possible), which stays small.
    std::unique_ptr<Kept> kept;
    // With interceptors only: what they see, and the precise start.
    ClientCall info;  // Names point into names_.
    int64_t start_ns = 0;
    size_t admitted = 0;  // Interceptors whose OnCall ran.
  };

  // ---- Servers: the target's set, their states, picking one.

  BackendStats StatsOf(const Subchannel& sub, int64_t now) const {
    BackendStats b;
    b.address = sub.name();
    b.state = sub.removed ? "removed" : Subchannel::StateName(sub.state());
    b.ejected = sub.health.ejected(now);
    b.calls = sub.calls;
    b.failures = sub.failures;
    b.inflight = sub.inflight;
    b.latency_us = sub.latency.Get(now);
    return b;
  }

  // Keeps a destroyed server's final counts for backends(), so a report
  // of where calls went still shows a server that left. Bounded: a
  // target whose addresses churn forgets the oldest beyond 1000.
  void RememberRemoved(const Subchannel& sub) {
    BackendStats stats = StatsOf(sub, loop_->CachedNowMs());
    stats.inflight = 0;
    removed_[sub.name()] = std::move(stats);
    if (removed_.size() > 1000) removed_.erase(removed_.begin());
  }

  void OnResolved(absl::StatusOr<std::vector<InetAddress>> backends) {
    loop_->AssertInLoopThread();
    if (shutdown_) return;
    if (!backends.ok()) {
      SingleWriterAdd(resolver_errors_);
      resolver_error_ = backends.status();
      if (!resolved_) {
        // Nothing known yet: calls waiting for servers cannot be helped.
        resolved_ = true;
        FailQueuedIfHopeless();
      }
      return;
    }
    SingleWriterAdd(resolver_updates_);
    resolver_error_ = absl::OkStatus();
    resolved_ = true;
    SetBackends(*backends);
  }

  // Makes `addresses` the set: new servers are connected, servers no
  // longer named get no new calls and go once their calls are answered.
  void SetBackends(const std::vector<InetAddress>& addresses) {
    std::vector<std::unique_ptr<Subchannel>> next;
    for (const InetAddress& address : addresses) {
      bool dup = false;
      for (const auto& sub : next) dup = dup || sub->address() == address;
      if (dup) continue;
      std::unique_ptr<Subchannel> sub;
      for (auto& old : backends_) {
        if (old != nullptr && old->address() == address) sub = std::move(old);
      }
      if (sub == nullptr) {
        sub = std::make_unique<Subchannel>(loop_, address, address.ToString(),
                                           sub_options_, this, &counters_);
        // A server that comes back keeps counting where it left off.
        auto gone = removed_.find(sub->name());
        if (gone != removed_.end()) {
          sub->calls = gone->second.calls;
          sub->failures = gone->second.failures;
          removed_.erase(gone);
        }
        pending_start_.push_back(sub.get());
      }
      next.push_back(std::move(sub));
    }
    for (auto& old : backends_) {
      if (old == nullptr) continue;
      old->removed = true;
      if (old->inflight > 0) {
        retired_.push_back(std::move(old));
      } else {
        RememberRemoved(*old);  // Destroyed below, its connection closed.
      }
    }
    backends_ = std::move(next);
    std::vector<std::string> names;
    for (const auto& sub : backends_) names.push_back(sub->name());
    ring_.Build(names);
    RebuildReady();
    // Started after the set is in place: a connection attempt may fail at
    // once and report back.
    std::vector<Subchannel*> start;
    start.swap(pending_start_);
    for (Subchannel* sub : start) sub->Start();
    if (!ready_.empty()) DispatchQueued();
    FailQueuedIfHopeless();
  }

  void RebuildReady() {
    ready_.clear();
    for (const auto& sub : backends_) {
      if (sub->ready()) ready_.push_back(sub.get());
    }
    connected_.store(!ready_.empty(), std::memory_order_relaxed);
  }

  // A ready server for a call, by the policy: one in rotation if any is
  // (ejected ones only when none is), and not `avoid` if another will do.
  // Null if no server is ready.
  Subchannel* Pick(const ClientContext* context, const Subchannel* avoid) {
    const size_t n = ready_.size();
    if (n == 1 && avoid == nullptr) {
      Subchannel* only = ready_[0];
      return only;
    }
    if (n == 0) return nullptr;
    const int64_t now = loop_->CachedNowMs();
    auto usable = [&](const Subchannel* sub) {
      return sub != avoid && !sub->health.ejected(now);
    };
    if (policy_ == LbPolicy::kConsistentHash && context != nullptr &&
        !context->hash_key().empty()) {
      const int index = ring_.Find(StableHash(context->hash_key()), [&](int i) {
        const Subchannel* sub = backends_[i].get();
        return sub->ready() && usable(sub);
      });
      if (index >= 0) return backends_[index].get();
    } else if (policy_ == LbPolicy::kPowerOfTwoChoices && n > 1) {
      Subchannel* a = ready_[NextRandom() % n];
      Subchannel* b = ready_[NextRandom() % (n - 1)];
      if (b == a) b = ready_[n - 1];  // Two distinct of n.
      const bool ua = usable(a);
      const bool ub = usable(b);
      if (ua && ub) {
        return P2cLoad(a->inflight, a->latency.Get(now)) <=
                       P2cLoad(b->inflight, b->latency.Get(now))
                   ? a
                   : b;
      }
      if (ua) return a;
      if (ub) return b;
    }
    // Round robin over those in rotation; else any but `avoid`; else any.
    // A retry (with `avoid`) does not move the cursor: the next call's turn
    // stays where it was.
    const size_t start = avoid == nullptr ? rr_next_++ : rr_next_;
    for (size_t i = 0; i < n; ++i) {
      Subchannel* sub = ready_[(start + i) % n];
      if (usable(sub)) {
        if (avoid == nullptr) rr_next_ = start + i + 1;
        return sub;
      }
    }
    for (size_t i = 0; i < n; ++i) {
      Subchannel* sub = ready_[(start + i) % n];
      if (sub != avoid) return sub;
    }
    return ready_[0];
  }

  // No server is ready: whether one may be soon (the target not resolved
  // yet, or a server's connection being made), so calls should wait.
  bool WorthWaiting() const {
    if (!resolved_ && resolver_ != nullptr) return true;
    for (const auto& sub : backends_) {
      if (sub->state() == Subchannel::State::kConnecting ||
          sub->state() == Subchannel::State::kIdle) {
        return true;
      }
    }
    return false;
  }

  // The error for a call no server can take.
  absl::Status Unreachable() const {
    if (backends_.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "no servers for ", target_, ": ",
          resolver_error_.ok() ? std::string("the target names none")
                               : std::string(resolver_error_.message())));
    }
    const Subchannel* last = backends_[0].get();
    std::string error(last->last_error().message());
    if (backends_.size() > 1) {
      return absl::UnavailableError(absl::StrCat(
          "cannot reach any of the ", backends_.size(), " servers of ", target_,
          " (", last->name(), ": ", error, ")"));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", target_, ": ", error));
  }

  uint64_t NextRandom() {  // xorshift64*
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return (rng_ * 0x2545F4914F6CDD1Dull) >> 16;
  }

  uint64_t NextId() override { return next_id_++; }

  void OnSubchannelState(Subchannel* sub, Subchannel::State old) override {
    if (shutdown_) return;
    using State = Subchannel::State;
    RebuildReady();
    switch (sub->state()) {
      case State::kReady:
        DispatchQueued();
        return;
      case State::kTransientFailure:
        // A failed attempt counts against the server's health.
        RecordFailure(sub);
        if (resolver_ != nullptr) resolver_->Reresolve();
        FailQueuedIfHopeless();
        return;
      case State::kConnecting:
        if (old == State::kReady) OnConnectionLost(sub);
        return;
      case State::kIdle:
        return;
    }
  }

  // `sub`'s connection is gone: its attempts fail (and may be retried).
  void OnConnectionLost(Subchannel* sub) {
    if (resolver_ != nullptr) resolver_->Reresolve();
    std::vector<std::pair<uint64_t, uint64_t>> lost;  // call id, attempt id
    pending_.ForEach([&](uint64_t id, const Pending& call) {
      if (call.primary.backend == sub) lost.emplace_back(id, call.primary.id);
      if (call.backup.backend == sub) lost.emplace_back(id, call.backup.id);
    });
    const std::string what = absl::StrCat("connection to ", sub->name(),
                                          " lost (", sub->lost_reason(), ")");
    for (const auto& [call_id, attempt_id] : lost) {
      OnAttemptFailed(call_id, attempt_id, absl::UnavailableError(what),
                      /*refused=*/false, {}, /*transport=*/true);
    }
    if (lost.empty()) RecordFailure(sub);
    SweepRetired();
  }

  // ---- Attempts.

  // A call's deadline on the loop's clock (ms); its timeout is finite.
  static int64_t DeadlineMs(const Pending& call) {
    return call.start_ms + absl::ToInt64Milliseconds(call.timeout);
  }

  static uint64_t WireTimeout(absl::Duration timeout) {
    // Saturates: a deadline centuries away is sent as INT64_MAX us, never
    // as a wrapped (negative, "expired") number.
    return timeout == absl::InfiniteDuration()
               ? 0
               : std::max<int64_t>(1, absl::ToInt64Microseconds(timeout));
  }

  void OnAttemptSent(Subchannel* backend, bool retry) {
    ++backend->inflight;
    ++backend->calls;
    SingleWriterAdd(attempts_);
    if (retry) SingleWriterAdd(retries_);
  }

  // Sends kept call `call_id` to `backend`: its first attempt (its own id)
  // or a retry or backup request (a new id). By id, not by reference: a
  // send that fails may complete calls before it returns.
  void SendKept(uint64_t call_id, Subchannel* backend, bool backup) {
    Pending& call = At(call_id);
    Kept& kept = *call.kept;
    const bool first = kept.attempts == 0;
    const uint64_t id = first ? call_id : next_id_++;
    if (!first) attempt_ids_[id] = call_id;
    Attempt& slot = backup ? call.backup : call.primary;
    slot = Attempt{id, backend, loop_->CachedNowNs()};
    ++kept.attempts;
    if (!call.sent()) call.sent_ms = loop_->CachedNowMs();
    RequestFields fields;
    fields.id = id;
    fields.service = kept.service;
    fields.method = kept.method;
    absl::Duration left = absl::InfiniteDuration();
    if (call.timeout != absl::InfiniteDuration()) {
      left = absl::Milliseconds(
          std::max<int64_t>(1, DeadlineMs(call) - loop_->CachedNowMs()));
    }
    fields.timeout_us = WireTimeout(left);
    fields.metadata = kept.metadata.empty() ? nullptr : &kept.metadata;
    OnAttemptSent(backend, /*retry=*/!first && !backup);
    const bool schedule_backup = !backup;
    backend->Send(
        [&](Buffer* out) { EncodeRequestFrame(fields, kept.request, out); });
    if (schedule_backup) MaybeScheduleBackup(call_id);
  }

  void MaybeScheduleBackup(uint64_t call_id) {
    const absl::Duration delay = options_.cluster.retry.backup_request_delay;
    if (delay <= absl::ZeroDuration() || ready_.size() < 2) return;
    Pending* found = pending_.Find(call_id);
    if (found == nullptr) return;
    Pending& call = *found;
    if (!call.idempotent || call.kept == nullptr || call.backup.live()) return;
    loop_->Cancel(call.kept->backup_timer);
    call.kept->backup_timer =
        loop_->RunAfter(delay, [this, call_id] { OnBackupTimer(call_id); });
  }

  void OnBackupTimer(uint64_t call_id) {
    Pending* found = pending_.Find(call_id);
    if (found == nullptr) return;
    Pending& call = *found;
    call.kept->backup_timer = TimerId();
    if (call.backup.live() || !call.primary.live() ||
        call.kept->attempts >= options_.cluster.retry.max_attempts) {
      return;
    }
    Subchannel* backend = Pick(call.context, call.primary.backend);
    if (backend == nullptr || backend == call.primary.backend) return;
    if (!budget_.TrySpend()) {
      SingleWriterAdd(retries_throttled_);
      return;
    }
    SingleWriterAdd(backup_requests_);
    SendKept(call_id, backend, /*backup=*/true);
  }

  // Clears `attempt`, settling its server's books. `sample`: it was
  // answered, so its latency counts.
  void EndAttempt(Attempt* attempt, bool sample) {
    if (!attempt->live()) return;
    Subchannel* backend = attempt->backend;
    --backend->inflight;
    if (sample &&
        policy_ == LbPolicy::kPowerOfTwoChoices) {  // Only p2c reads it.
      backend->latency.Add(
          static_cast<double>(loop_->CachedNowNs() - attempt->sent_ns) / 1000,
          loop_->CachedNowMs());
    }
    *attempt = Attempt();
    if (backend->removed && backend->inflight == 0) SweepRetiredSoon();
  }

  // Abandons `attempt`: tells its server, forgets its id.
  void CancelAttempt(Attempt* attempt) {
    if (!attempt->live()) return;
    attempt->backend->SendControl(CANCEL, attempt->id);
    attempt_ids_.erase(attempt->id);
    EndAttempt(attempt, /*sample=*/false);
  }

  void RecordFailure(Subchannel* sub) {
    ++sub->failures;
    int ejected = 0;
    const int64_t now = loop_->CachedNowMs();
    for (const auto& b : backends_) ejected += b->health.ejected(now) ? 1 : 0;
    if (detector_.OnFailure(&sub->health, now, ejected,
                            static_cast<int>(backends_.size()))) {
      SingleWriterAdd(ejections_);
      MRPC_PEER_LOG(WARNING, "channel ejected a server", sub->name())
          << "channel " << target_ << ": server " << sub->name()
          << " out of rotation for " << (sub->health.ejected_until_ms - now)
          << " ms after " << options_.cluster.outlier.consecutive_failures
          << " failures in a row";
    }
  }

  // Attempt `attempt_id` of call `call_id` failed with `status`: the
  // server's answer (`refused`: it did not start the call), or UNAVAILABLE
  // for a lost connection (`transport`). Retried if it may be, else the
  // call fails.
  void OnAttemptFailed(uint64_t call_id, uint64_t attempt_id,
                       absl::Status status, bool refused, Metadata metadata,
                       bool transport) {
    Pending* found = pending_.Find(call_id);
    if (found == nullptr) return;
    Pending& call = *found;
    Attempt* attempt =
        call.primary.id == attempt_id ? &call.primary : &call.backup;
    Attempt* other = attempt == &call.primary ? &call.backup : &call.primary;
    Subchannel* backend = attempt->backend;
    if (attempt_id != call_id) attempt_ids_.erase(attempt_id);
    EndAttempt(attempt, /*sample=*/false);
    if (call.kept != nullptr) call.kept->last_peer = backend->name();
    if (status.code() == absl::StatusCode::kUnavailable) {
      RecordFailure(backend);
    }
    const bool retriable =
        refused ||
        (call.idempotent && status.code() == absl::StatusCode::kUnavailable);
    if (retriable && other->live()) {
      // The other attempt may still succeed: it decides.
      if (attempt == &call.primary) std::swap(call.primary, call.backup);
      return;
    }
    if (retriable && Retry(call_id, backend)) return;
    PendingTable::Taken taken = pending_.Extract(call_id);
    Pending& done = *taken;
    if (transport) {
      status = absl::Status(status.code(),
                            absl::StrCat(status.message(), "; the call spent ",
                                         WhereTimeWent(done)));
    }
    Complete(done, status, std::move(metadata), &backend->name());
  }

  // Sends call `call_id` again, to another server than `failed` if one is
  // ready (or queues it while one may be soon). False if it may not go
  // again: not kept, out of attempts or of budget, or nowhere to go.
  bool Retry(uint64_t call_id, const Subchannel* failed) {
    Pending& call = At(call_id);
    if (call.kept == nullptr ||
        call.kept->attempts >= options_.cluster.retry.max_attempts) {
      return false;
    }
    if (call.timeout != absl::InfiniteDuration() &&
        loop_->CachedNowMs() >= DeadlineMs(call)) {
      return false;
    }
    Subchannel* backend = Pick(call.context, failed);
    if (backend == nullptr && !WorthWaiting()) return false;
    if (!budget_.TrySpend()) {
      SingleWriterAdd(retries_throttled_);
      return false;
    }
    if (backend == nullptr) {
      SingleWriterAdd(retries_);
      queued_.push_back(call_id);
      return true;
    }
    SendKept(call_id, backend, /*backup=*/false);
    return true;
  }

  // Sends the calls waiting for a server.
  void DispatchQueued() {
    std::vector<uint64_t> queued;
    queued.swap(queued_);
    for (uint64_t id : queued) {
      const Pending* call = pending_.Find(id);
      if (call == nullptr || call->primary.live()) continue;
      Subchannel* backend = Pick(call->context, nullptr);
      if (backend == nullptr) {
        queued_.push_back(id);
        continue;
      }
      SendKept(id, backend, /*backup=*/false);
    }
  }

  // Fails the waiting calls if no server is ready or about to be.
  void FailQueuedIfHopeless() {
    if (queued_.empty() || !ready_.empty() || WorthWaiting()) return;
    const absl::Status why = Unreachable();
    std::vector<uint64_t> queued;
    queued.swap(queued_);
    for (uint64_t id : queued) {
      const Pending* waiting = pending_.Find(id);
      // Gone, or sent since: not waiting after all.
      if (waiting == nullptr || waiting->primary.live()) continue;
      PendingTable::Taken taken = pending_.Extract(id);
      Pending& call = *taken;
      Complete(call,
               absl::Status(
                   why.code(),
                   absl::StrCat(why.message(), " (the call waited ",
                                MsSince(call.start_ms), " for a connection)")),
               {}, LastPeer(call));
    }
  }

  void SweepRetiredSoon() {
    if (sweep_queued_) return;
    sweep_queued_ = true;
    std::weak_ptr<Core> weak = shared_from_this();
    loop_->QueueInLoop([weak] {
      if (auto self = weak.lock()) self->SweepRetired();
    });
  }

  // Destroys removed servers with nothing in flight. Not from inside a
  // subchannel's own callback (hence SweepRetiredSoon).
  void SweepRetired() {
    sweep_queued_ = false;
    for (auto& sub : retired_) {
      if (sub->inflight == 0) {
        RememberRemoved(*sub);
        sub.reset();
      }
    }
    retired_.erase(std::remove(retired_.begin(), retired_.end(), nullptr),
                   retired_.end());
  }

  bool IsIdempotent(absl::string_view service, absl::string_view method) {
    if (idempotent_.empty()) return false;
    std::string name = absl::StrCat(service, "/", method);
    if (idempotent_.contains(name)) return true;
    return idempotent_.contains(absl::StrCat(service, "/*"));
  }

  // A stable copy of `name`; `last` caches the previous answer, so a run
  // of calls to one method compares bytes and hashes nothing. (Not the
  // caller's pointer: a freed and reused buffer could hold another name.)
  absl::string_view Intern(absl::string_view name, absl::string_view* last) {
    if (*last == name) return *last;
    auto it = names_.find(name);
    if (it == names_.end()) it = names_.emplace(name).first;
    *last = *it;
    return *last;
  }

  // The request's metadata: the context's entries, its trace, then what
  // the interceptors add; checks the limits. `*out` stays null if none.
  absl::Status BuildMetadata(ClientContext* context, Pending* call,
                             const Metadata** out) {
    Metadata& metadata = metadata_scratch_;  // Empty between calls.
    if (context != nullptr) {
      metadata = context->metadata();
      if (context->trace().has_value()) {
        metadata.emplace_back(kTraceparentKey,
                              context->trace()->ToTraceparent());
      }
    }
    if (!options_.interceptors.empty()) {
      const ClientCall& info = call->info;
      const size_t ours = metadata.size();
      for (const auto& interceptor : options_.interceptors) {
        ++call->admitted;
        absl::Status status = interceptor->OnCall(info, &metadata);
        if (!status.ok()) {
          metadata.clear();
          return status;
        }
      }
      // What interceptors add follows the rules for user keys.
      for (size_t i = ours; i < metadata.size(); ++i) {
        absl::Status status = ValidateUserMetadataKey(metadata[i].first);
        if (!status.ok()) {
          metadata.clear();
          return absl::Status(
              status.code(),
              absl::StrCat("a client interceptor added ", status.message()));
        }
      }
    }
    if (metadata.empty()) return absl::OkStatus();
    absl::Status status = CheckMetadata(metadata, options_.max_metadata_bytes,
                                        options_.max_metadata_entries);
    if (!status.ok()) {
      metadata.clear();
      return absl::Status(status.code(),
                          absl::StrCat("request metadata: ", status.message()));
    }
    *out = &metadata;  // The caller encodes it, then clears it.
    return absl::OkStatus();
  }

  // The interceptors' OnComplete, innermost first.
  void RunOnComplete(const Pending& call, const absl::Status& status) {
    if (call.admitted == 0) return;
    const ClientCall& info = call.info;
    // Both ends are loop iterations' clock reads (the one that took the call
    // up, the one that saw its outcome): no clock read per call.
    const absl::Duration latency =
        absl::Nanoseconds(loop_->CachedNowNs() - call.start_ns);
    for (size_t i = call.admitted; i-- > 0;) {
      options_.interceptors[i]->OnComplete(info, status, latency);
    }
  }

  // "X ms" since `since_ms` on the loop's clock.
  std::string MsSince(int64_t since_ms) const {
    return absl::StrCat(loop_->CachedNowMs() - since_ms, " ms");
  }

  // Where a call's time went, for its error message.
  std::string WhereTimeWent(const Pending& call) const {
    if (!call.sent()) {
      return absl::StrCat(MsSince(call.start_ms),
                          " waiting for a connection to ", target_, " (",
                          WorthWaiting() ? std::string("connecting")
                                         : std::string(Unreachable().message()),
                          ")");
    }
    const int64_t waited = call.sent_ms - call.start_ms;
    const Attempt& attempt = call.primary.live() ? call.primary : call.backup;
    const std::string& server =
        attempt.live() ? attempt.backend->name()
        : call.kept == nullptr || call.kept->last_peer.empty()
            ? target_
            : call.kept->last_peer;
    return absl::StrCat(
        waited > 0 ? absl::StrCat(waited, " ms waiting for a connection, then ")
                   : "",
        MsSince(call.sent_ms), " waiting for the response from ", server,
        " after the request was written",
        call.kept != nullptr && call.kept->attempts > 1
            ? absl::StrCat(" (", call.kept->attempts, " attempts)")
            : std::string());
  }

  struct SoonFailure {
    ClientContext* context;
    RpcCallback done;
    absl::Status status;
  };

  static void Encode(const RequestFields& fields, const Request& request,
                     Buffer* out) {
    if (request.message != nullptr) {
      EncodeRequestFrame(fields, request.message, out);
    } else {
      EncodeRequestFrame(fields, request.bytes, out);
    }
  }

  // Completes `call` (already out of pending_): `peer` is the server that
  // answered, or null for none.
  void Complete(Pending& call, const absl::Status& status,
                Metadata&& response_metadata, const std::string* peer) {
    if (call.deadline_timer.valid()) loop_->Cancel(call.deadline_timer);
    if (call.kept != nullptr && call.kept->backup_timer.valid()) {
      loop_->Cancel(call.kept->backup_timer);
    }
    CancelAttempt(&call.primary);
    CancelAttempt(&call.backup);
    SingleWriterAdd(status.ok() ? ok_ : failed_);
    RunOnComplete(call, status);
    if (call.context != nullptr) {
      // A call that never left the client has no peer.
      call.context->SetOutcome(OwnCopy(status),
                               peer != nullptr ? *peer : std::string(),
                               std::move(response_metadata));
    }
    call.done(OwnCopy(status));
  }

  // A failure found while starting a call: completed from the loop's queue,
  // so `done` never runs inside CallMethod. Teardown() flushes the list, so
  // none of these can run after the channel is destroyed either.
  void FailSoon(ClientContext* context, RpcCallback done, absl::Status status) {
    SingleWriterAdd(failed_);
    soon_.push_back(SoonFailure{context, std::move(done), std::move(status)});
    if (soon_.size() > 1) return;  // A flush is queued already.
    std::weak_ptr<Core> weak = shared_from_this();
    loop_->QueueInLoop([weak] {
      if (auto self = weak.lock()) self->FlushSoonFailures();
    });
  }

  void FlushSoonFailures() {
    std::vector<SoonFailure> failures;
    failures.swap(soon_);
    for (SoonFailure& f : failures) {
      if (f.context != nullptr)
        f.context->SetOutcome(OwnCopy(f.status), std::string());  // Unsent.
      f.done(std::move(f.status));
    }
  }

  // A server's DEADLINE_EXCEEDED or UNAVAILABLE says how long the server
  // held the call, when the response carries it.
  static absl::Status WithServerTime(const absl::Status& status,
                                     const Metadata& metadata) {
    if (status.code() != absl::StatusCode::kDeadlineExceeded &&
        status.code() != absl::StatusCode::kUnavailable) {
      return status;
    }
    absl::optional<absl::string_view> us =
        FindMetadata(metadata, kServerTimeKey);
    if (!us.has_value()) return status;
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(), " (the server held the call ", *us,
                     " us)"));
  }

  // The call and attempt a response's id belongs to, or null (late), and
  // the call's id. (A first attempt's answer, the common case, is one
  // compare in the table's ring.)
  Pending* FindAttempt(uint64_t id, const Subchannel* sub, uint64_t* call_id,
                       Attempt** attempt) {
    *call_id = id;
    Pending* call = pending_.Find(id);
    if (call == nullptr) {
      if (attempt_ids_.empty()) return nullptr;
      auto a = attempt_ids_.find(id);
      if (a == attempt_ids_.end()) return nullptr;
      *call_id = a->second;
      call = pending_.Find(a->second);
      if (call == nullptr) return nullptr;
    }
    if (call->primary.id == id) {
      *attempt = &call->primary;
    } else if (call->backup.id == id) {
      *attempt = &call->backup;
    } else {
      return nullptr;
    }
    if ((*attempt)->backend != sub) return nullptr;
    return call;
  }

  // The call filed under `call_id`, which must be there.
  Pending& At(uint64_t call_id) {
    Pending* call = pending_.Find(call_id);
    CHECK(call != nullptr) << "no call " << call_id;
    return *call;
  }

  void OnResponse(Subchannel* sub, FrameMeta& meta,
                  absl::string_view payload) override {
    Attempt* attempt = nullptr;
    uint64_t call_id = 0;
    Pending* call = FindAttempt(meta.correlation_id(), sub, &call_id, &attempt);
    if (call == nullptr) {
      // Its deadline fired or it was cancelled: drop it quietly.
      SingleWriterAdd(late_responses_);
      VLOG(1) << "late response " << meta.correlation_id() << " from "
              << sub->name();
      return;
    }
    absl::Status status;
    if (meta.status_code() != 0) status = StatusFromMeta(meta);
    Metadata metadata;
    if (meta.metadata_size() > 0) {
      absl::Status fits = CheckMetadata(meta, options_.max_metadata_bytes,
                                        options_.max_metadata_entries);
      if (!fits.ok()) {
        FinishCall(call_id, attempt, sub,
                   absl::Status(fits.code(), absl::StrCat("response metadata: ",
                                                          fits.message())),
                   {});
        return;
      }
      metadata = TakeMetadata(&meta);
      if (!status.ok() && FindMetadata(metadata, kRefusedKey).has_value()) {
        // The server did not start it: any call may go elsewhere.
        OnAttemptFailed(call_id, attempt->id, std::move(status),
                        /*refused=*/true, std::move(metadata),
                        /*transport=*/false);
        return;
      }
      status = WithServerTime(status, metadata);
    }
    if (status.code() == absl::StatusCode::kUnavailable) {
      OnAttemptFailed(call_id, attempt->id, std::move(status),
                      /*refused=*/false, std::move(metadata),
                      /*transport=*/false);
      return;
    }
    const ScopedLogPeer log_peer(sub->name());  // For protobuf's parse errors.
    google::protobuf::Message* response = call->response;
    if (status.ok() && !response->ParseFromArray(
                           payload.data(), static_cast<int>(payload.size()))) {
      status = absl::InternalError(absl::StrCat("cannot parse the response as ",
                                                response->GetTypeName()));
    }
    FinishCall(call_id, attempt, sub, status, std::move(metadata));
  }

  // `attempt` of call `call_id` answered with `status`: the call is done.
  void FinishCall(uint64_t call_id, Attempt* attempt, Subchannel* sub,
                  const absl::Status& status, Metadata&& metadata) {
    if (attempt->id != call_id) attempt_ids_.erase(attempt->id);
    EndAttempt(attempt, /*sample=*/true);
    detector_.OnSuccess(&sub->health);  // It answered.
    PendingTable::Taken taken = pending_.Extract(call_id);
    Complete(*taken, status, std::move(metadata), &sub->name());
  }

  // A response over max_frame_size: its call fails, its bytes are skipped
  // as they arrive, and the connection and the other calls go on.
  void OnOversizedResponse(Subchannel* sub, uint64_t id,
                           uint32_t body_size) override {
    SingleWriterAdd(oversized_responses_);
    Attempt* attempt = nullptr;
    uint64_t call_id = 0;
    if (FindAttempt(id, sub, &call_id, &attempt) == nullptr) return;  // Late.
    FinishCall(call_id, attempt, sub,
               absl::ResourceExhaustedError(absl::StrCat(
                   "the response of ", body_size,
                   " bytes is over the channel's limit of ",
                   options_.max_frame_size, " bytes (max_frame_size)")),
               {});
  }

  const std::string* LastPeer(const Pending& call) const {
    if (call.primary.live()) return &call.primary.backend->name();
    if (call.backup.live()) return &call.backup.backend->name();
    if (call.kept == nullptr || call.kept->last_peer.empty()) return nullptr;
    return &call.kept->last_peer;
  }

  // `timeout` from now on the MonotonicNanos() clock; far-off timeouts
  // saturate.
  static int64_t DeadlineNanos(absl::Duration timeout) {
    constexpr int64_t kMaxNs = int64_t{1} << 55;  // Over a year.
    return MonotonicNanos() +
           std::min<int64_t>(absl::ToInt64Nanoseconds(timeout), kMaxNs);
  }

  void OnDeadline(uint64_t id) {
    PendingTable::Taken taken = pending_.Extract(id);
    if (taken == nullptr) return;
    Pending& call = *taken;
    call.deadline_timer = TimerId();
    SingleWriterAdd(deadline_exceeded_);
    absl::Status status = absl::DeadlineExceededError(absl::StrCat(
        "deadline of ",
        absl::FormatDuration(absl::Trunc(call.timeout, absl::Milliseconds(1))),
        " exceeded: ", WhereTimeWent(call)));
    std::string peer;
    if (const std::string* p = LastPeer(call)) peer = *p;
    // Complete() cancels the attempts: the servers stop working on it.
    Complete(call, status, {}, peer.empty() ? nullptr : &peer);
  }

  void Cancel(uint64_t id) {
    PendingTable::Taken taken = pending_.Extract(id);
    if (taken == nullptr) return;
    Pending& call = *taken;
    std::string peer;
    if (const std::string* p = LastPeer(call)) peer = *p;
    Complete(call, absl::CancelledError("cancelled by the caller"), {},
             peer.empty() ? nullptr : &peer);
  }

  EventLoop* const loop_;
  const std::shared_ptr<const TlsContext> etcd_tls_;  // Null: plaintext.
  const std::string target_;
  const ChannelOptions options_;
  const LbPolicy policy_;
  const ParsedTarget parsed_;
  Subchannel::Options sub_options_;
  Subchannel::Counters counters_;
  const OutlierDetector detector_;

  // Loop-owned.
  std::unique_ptr<Resolver> resolver_;
  bool resolved_ = false;  // The resolver has answered (or there is none).
  absl::Status resolver_error_;
  std::vector<std::unique_ptr<Subchannel>> backends_;  // The target's set.
  std::vector<std::unique_ptr<Subchannel>> retired_;   // Removed, busy.
  std::map<std::string, BackendStats> removed_;        // Removed, gone.
  std::vector<Subchannel*> pending_start_;
  std::vector<Subchannel*> ready_;  // Of backends_, those connected.
  HashRing ring_;                   // Over backends_.
  size_t rr_next_ = 0;
  uint64_t rng_;
  RetryBudget budget_;
  absl::flat_hash_set<std::string> idempotent_;
  bool shutdown_ = false;
  bool sweep_queued_ = false;
  uint64_t next_id_ = 1;
  Metadata metadata_scratch_;               // Building a request's metadata.
  absl::node_hash_set<std::string> names_;  // Interned service/method names.
  absl::string_view last_service_;          // Intern()'s cache: into names_.
  absl::string_view last_method_;
  using PendingTable = CallTable<Pending>;
  PendingTable pending_;  // By call id.
  // The calls' deadlines, filed in order (a call out of order gets a timer
  // of its own: Pending::deadline_timer).
  DeadlineQueue deadlines_{
      loop_, [this](uint64_t id) { return pending_.contains(id); },
      [this](uint64_t id) { OnDeadline(id); }};
  absl::flat_hash_map<uint64_t, uint64_t> attempt_ids_;  // Attempt -> call.
  std::vector<uint64_t> queued_;  // Calls waiting for a server.
  std::vector<SoonFailure> soon_;

  Mutex post_mutex_;
  bool loop_alive_ ABSL_GUARDED_BY(post_mutex_) = true;

  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> deadline_exceeded_{0};
  std::atomic<uint64_t> late_responses_{0};
  std::atomic<uint64_t> oversized_responses_{0};
  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> backup_requests_{0};
  std::atomic<uint64_t> retries_throttled_{0};
  std::atomic<uint64_t> ejections_{0};
  std::atomic<uint64_t> resolver_updates_{0};
  std::atomic<uint64_t> resolver_errors_{0};
};

absl::StatusOr<std::unique_ptr<Channel>> Channel::Create(
    absl::string_view target, ChannelOptions options) {
  absl::StatusOr<ParsedTarget> parsed = ParseTarget(target);
  if (!parsed.ok()) return parsed.status();
  InstallProtobufLogHandler();  // Before any response is parsed.
  if (options.heartbeat_interval > absl::ZeroDuration() &&
      options.heartbeat_timeout <= options.heartbeat_interval) {
    return absl::InvalidArgumentError(
        "heartbeat_timeout must be longer than heartbeat_interval");
  }
  absl::StatusOr<LbPolicy> policy = ParseLbPolicy(options.cluster.lb_policy);
  if (!policy.ok()) return policy.status();
  absl::StatusOr<std::shared_ptr<const TlsContext>> tls =
      NewClientTlsContext(options.tls);
  if (!tls.ok()) return tls.status();
  absl::StatusOr<std::shared_ptr<const TlsContext>> etcd_tls =
      NewClientTlsContext(options.cluster.etcd_tls);
  if (!etcd_tls.ok()) return etcd_tls.status();
  const RetryOptions& retry = options.cluster.retry;
  if (retry.max_attempts < 1 || retry.budget_ratio < 0 ||
      retry.budget_burst < 0) {
    return absl::InvalidArgumentError(
        "retry: max_attempts must be at least 1, the budget not negative");
  }
  // Started here, not in the constructor, so that failing (out of fds)
  // is a Status.
  std::unique_ptr<EventLoopThread> own_loop;
  if (options.loop == nullptr) {
    own_loop = std::make_unique<EventLoopThread>("mrpc-channel");
    absl::StatusOr<EventLoop*> loop = own_loop->Start();
    if (!loop.ok()) return loop.status();
    options.loop = *loop;
  }
  EventLoop* loop = options.loop;
  auto channel =
      std::unique_ptr<Channel>(new Channel(std::string(target), loop));
  channel->own_loop_ = std::move(own_loop);
  channel->core_ =
      std::make_shared<Core>(loop, std::string(target), std::move(options),
                             *policy, *std::move(parsed), *std::move(tls),
                             *std::move(etcd_tls));
  std::shared_ptr<Core> core = channel->core_;
  absl::Status started;
  RunInLoopAndWait(loop, [&] { started = core->Start(); });
  if (!started.ok()) return started;  // The destructor tears it down.
  return channel;
}

Channel::Channel(std::string target, EventLoop* loop)
    : target_(std::move(target)), loop_(loop) {}

Channel::~Channel() {
  std::shared_ptr<Core> core = core_;
  RunInLoopAndWait(loop_, [core] { core->Teardown(); });
  core->MarkLoopGone();
  if (own_loop_ != nullptr) {
    CHECK(!loop_->IsInLoopThread())
        << "a Channel that owns its loop was destroyed on that loop (from its "
           "own callback)";
    own_loop_->Stop();
  }
}

void Channel::CallMethod(absl::string_view service, absl::string_view method,
                         const google::protobuf::Message& request,
                         google::protobuf::Message* response,
                         ClientContext* context, RpcCallback done) {
  Call(service, method, /*lasting=*/false, /*idempotent=*/false, request,
       response, context, std::move(done));
}

void Channel::CallMethod(const MethodName& name,
                         const google::protobuf::Message& request,
                         google::protobuf::Message* response,
                         ClientContext* context, RpcCallback done) {
  Call(name.service, name.method, /*lasting=*/true, name.idempotent, request,
       response, context, std::move(done));
}

void Channel::Call(absl::string_view service, absl::string_view method,
                   bool lasting, bool idempotent,
                   const google::protobuf::Message& request,
                   google::protobuf::Message* response, ClientContext* context,
                   RpcCallback&& done) {
  if (loop_->IsInLoopThread()) {
    Core::Request on_loop;
    on_loop.message = &request;  // Valid for this synchronous call.
    core_->StartCall(service, method, lasting, idempotent, std::move(on_loop),
                     response, context, std::move(done));
    return;
  }
  Core::Request serialized;
  request.SerializeToString(&serialized.bytes);
  std::weak_ptr<Core> weak = core_;
  if (lasting) {  // The views stay valid: no copies.
    core_->Post([weak, service, method, idempotent,
                 serialized = std::move(serialized), response, context,
                 done = std::move(done)]() mutable {
      if (auto core = weak.lock()) {
        core->StartCall(service, method, /*lasting=*/true, idempotent,
                        std::move(serialized), response, context,
                        std::move(done));
      }
    });
    return;
  }
  core_->Post([weak, service = std::string(service),
               method = std::string(method), serialized = std::move(serialized),
               response, context, done = std::move(done)]() mutable {
    if (auto core = weak.lock()) {
      core->StartCall(service, method, /*lasting=*/false, /*idempotent=*/false,
                      std::move(serialized), response, context,
                      std::move(done));
    }
  });
}

absl::Status Channel::CallMethodBlocking(
    absl::string_view service, absl::string_view method,
    const google::protobuf::Message& request,
    google::protobuf::Message* response, ClientContext* context) {
  return CallAndWait(service, method, /*lasting=*/false, /*idempotent=*/false,
                     request, response, context);
}

absl::Status Channel::CallMethodBlocking(
    const MethodName& name, const google::protobuf::Message& request,
    google::protobuf::Message* response, ClientContext* context) {
  return CallAndWait(name.service, name.method, /*lasting=*/true,
                     name.idempotent, request, response, context);
}

absl::Status Channel::CallAndWait(absl::string_view service,
                                  absl::string_view method, bool lasting,
                                  bool idempotent,
                                  const google::protobuf::Message& request,
                                  google::protobuf::Message* response,
                                  ClientContext* context) {
  if (loop_->IsInLoopThread()) {
    return absl::FailedPreconditionError(
        "blocking call on the channel's own loop thread would deadlock; "
        "use the asynchronous form");
  }
  Notification done;
  absl::Status result;
  Call(service, method, lasting, idempotent, request, response, context,
       [&](absl::Status status) {
         result = std::move(status);
         done.Notify();
       });
  done.WaitForNotification();
  return result;
}

bool Channel::connected() const { return core_->connected(); }

ChannelStats Channel::stats() const { return core_->stats(); }

std::vector<BackendStats> Channel::backends() const {
  if (loop_->IsInLoopThread()) return core_->backends();
  std::vector<BackendStats> out;
  std::shared_ptr<Core> core = core_;
  RunInLoopAndWait(loop_, [&] { out = core->backends(); });
  return out;
}

}  // namespace mrpc
