#include "rpc/cluster/etcd_resolver.h"

#include <glog/logging.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "rpc/cluster/etcd_gateway.pb.h"

namespace mrpc {

absl::StatusOr<EtcdTarget> ParseEtcdTarget(absl::string_view target) {
  constexpr absl::string_view kScheme = "etcd://";
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad etcd target \"", target.substr(0, 200), "\": ", why,
                     " (want etcd://host:port[,host:port...]/path, e.g. "
                     "etcd://127.0.0.1:2379/services/kv)"));
  };
  if (!absl::StartsWith(target, kScheme)) return bad("not etcd://");
  absl::string_view rest = target.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return bad("no path");
  const absl::string_view hosts = rest.substr(0, slash);
  absl::string_view path = rest.substr(slash);
  while (absl::EndsWith(path, "/")) path.remove_suffix(1);
  if (path.empty()) return bad("the path is empty");
  if (hosts.empty()) return bad("no endpoint");
  EtcdTarget parsed;
  parsed.path = std::string(path);
  for (absl::string_view host : absl::StrSplit(hosts, ',')) {
    absl::StatusOr<InetAddress> address = InetAddress::Parse(host);
    if (!address.ok()) {
      return bad(absl::StrCat("endpoint \"", host,
                              "\" is not a numeric IP or localhost with a "
                              "port"));
    }
    parsed.endpoints.push_back(*address);
  }
  return parsed;
}

absl::StatusOr<InetAddress> ParseEtcdEndpointValue(absl::string_view value) {
  etcd::EndpointValue endpoint;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(value.data(), value.size()), &endpoint,
           options)
           .ok()) {
    return absl::InvalidArgumentError(
        "not JSON of the form {\"address\":\"host:port\",...}");
  }
  absl::StatusOr<InetAddress> address = InetAddress::Parse(endpoint.address());
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", endpoint.address().substr(0, 100),
                     "\" is not a numeric IP (or localhost) with a port"));
  }
  if (address->port() == 0) {
    return absl::InvalidArgumentError("address has port 0");
  }
  return address;
}

namespace {

class EtcdResolver : public Resolver {
 public:
  EtcdResolver(EventLoop* loop, EtcdTarget target, EtcdResolverOptions options)
      : core_(std::make_shared<Core>(loop, std::move(target), options)) {}
  ~EtcdResolver() override { core_->Stop(); }

  void Start(ResolverListener listener) override {
    core_->Start(std::move(listener));
  }

 private:
  class Core : public std::enable_shared_from_this<Core> {
   public:
    Core(EventLoop* loop, EtcdTarget target, EtcdResolverOptions options)
        : loop_(loop),
          target_(std::move(target)),
          prefix_(target_.key_prefix()),
          options_(options),
          client_(loop, target_.endpoints, options.client),
          backoff_(options.initial_backoff) {}

    void Start(ResolverListener listener) {
      loop_->AssertInLoopThread();
      listener_ = std::move(listener);
      Fetch();
    }

    void Stop() {
      loop_->AssertInLoopThread();
      stopped_ = true;
      if (retry_timer_.valid()) loop_->Cancel(retry_timer_);
      if (check_timer_.valid()) loop_->Cancel(check_timer_);
      watch_.reset();
      listener_ = nullptr;
    }

   private:
    void Fetch() {
      std::weak_ptr<Core> weak = shared_from_this();
      client_.Range(prefix_, [weak](absl::StatusOr<EtcdRangeResult> result) {
        if (auto self = weak.lock()) self->OnRange(std::move(result));
      });
    }

    void OnRange(absl::StatusOr<EtcdRangeResult> result) {
      if (stopped_) return;
      if (!result.ok()) {
        Outage(result.status(), /*range_again=*/true);
        return;
      }
      keys_.clear();
      for (const EtcdKeyValue& kv : result->kvs)
        Apply(kv.key, &kv.value, &keys_);
      revision_ = result->revision;
      Recovered();
      Report();
      Watch();
      ScheduleCheck();
    }

    // The watch's check (EtcdResolverOptions::check_interval).
    void ScheduleCheck() {
      if (options_.check_interval <= absl::ZeroDuration() ||
          check_timer_.valid()) {
        return;
      }
      std::weak_ptr<Core> weak = shared_from_this();
      check_timer_ = loop_->RunAfter(options_.check_interval, [weak] {
        if (auto self = weak.lock()) self->Check();
      });
    }

    void Check() {
      check_timer_ = TimerId();
      if (stopped_) return;
      // Only a watch that etcd accepted is checked; an outage is handled
      // by its own retries (which call ScheduleCheck again).
      if (watch_ == nullptr || !watch_->created()) {
        ScheduleCheck();
        return;
      }
      std::weak_ptr<Core> weak = shared_from_this();
      client_.Range(prefix_, [weak](absl::StatusOr<EtcdRangeResult> result) {
        if (auto self = weak.lock()) self->OnCheck(std::move(result));
      });
    }

    void OnCheck(absl::StatusOr<EtcdRangeResult> result) {
      if (stopped_) return;
      if (watch_ == nullptr) {  // The watch ended meanwhile: being retried.
        ScheduleCheck();
        return;
      }
      if (!result.ok()) {
        // etcd cannot be read over a new connection: the watch's own may
        // be as dead, only silent. Start over.
        watch_.reset();
        Outage(result.status(), /*range_again=*/true);
        return;
      }
      std::map<std::string, InetAddress> keys;
      for (const EtcdKeyValue& kv : result->kvs)
        Apply(kv.key, &kv.value, &keys);
      // Events still on their way could explain a difference, but only up
      // to the revision the watch has seen.
      if (keys != keys_ && result->revision > revision_) {
        MRPC_PEER_LOG(WARNING, "etcd resolver missed changes", prefix_)
            << "etcd resolver " << prefix_ << ": the keys at revision "
            << result->revision << " differ from what the watch reported (at "
            << revision_ << "); restarting the watch";
        keys_ = std::move(keys);
        revision_ = result->revision;
        Report();
        watch_.reset();
        Watch();
      }
      ScheduleCheck();
    }

    void Watch() {
      std::weak_ptr<Core> weak = shared_from_this();
      watch_ = client_.Watch(
          prefix_, revision_ + 1,
          [weak](const EtcdWatchUpdate& update) {
            if (auto self = weak.lock()) self->OnEvents(update);
          },
          [weak](absl::Status status) {
            if (auto self = weak.lock()) self->OnWatchEnd(std::move(status));
          });
    }

    void OnEvents(const EtcdWatchUpdate& update) {
      if (stopped_) return;
      // A check may have read the keys past some of these already (events
      // of one transaction share a revision, hence `seen`).
      const int64_t seen = revision_;
      for (const EtcdEvent& event : update.events) {
        if (event.kv.mod_revision <= seen) continue;
        revision_ = std::max(revision_, event.kv.mod_revision);
        Apply(event.kv.key,
              event.type == EtcdEvent::Type::kPut ? &event.kv.value : nullptr,
              &keys_);
      }
      Recovered();
      Report();
    }

    void OnWatchEnd(absl::Status status) {
      if (stopped_) return;
      // A watch that etcd had accepted was a healthy spell: this is a new
      // outage (logged again, backoff from the start).
      if (watch_ && watch_->created()) Recovered();
      watch_.reset();
      if (absl::IsOutOfRange(status)) {
        LOG(INFO) << "etcd resolver " << prefix_ << ": " << status.message()
                  << "; reading the keys again";
        Outage(status, /*range_again=*/true, /*quiet=*/true);
        return;
      }
      Outage(status, /*range_again=*/false);
    }

    // Keeps the last set, logs once per outage, and retries with backoff.
    void Outage(const absl::Status& status, bool range_again,
                bool quiet = false) {
      if (!quiet && !outage_logged_) {
        outage_logged_ = true;
        MRPC_PEER_LOG(WARNING, "etcd resolver outage", prefix_)
            << "etcd resolver " << prefix_ << ": " << status
            << "; serving the last known " << reported_.size()
            << " backend(s) and retrying";
      }
      if (!reported_once_ && listener_) {
        // Nothing known yet: say so once (the channel has no set to keep).
        reported_once_ = true;
        reported_error_ = true;
        listener_(absl::UnavailableError(
            absl::StrCat("etcd resolver ", prefix_, ": ", status.ToString())));
      }
      const double factor =
          absl::Uniform(rng_, 1.0 - options_.jitter, 1.0 + options_.jitter);
      const absl::Duration delay = backoff_ * factor;
      backoff_ = std::min(backoff_ * 2, options_.max_backoff);
      std::weak_ptr<Core> weak = shared_from_this();
      retry_timer_ = loop_->RunAfter(delay, [weak, range_again] {
        auto self = weak.lock();
        if (self == nullptr || self->stopped_) return;
        self->retry_timer_ = TimerId();
        if (range_again) {
          self->Fetch();
        } else {
          self->Watch();
        }
      });
    }

    void Recovered() {
      if (outage_logged_) {
        LOG(INFO) << "etcd resolver " << prefix_ << ": etcd is back";
      }
      outage_logged_ = false;
      backoff_ = options_.initial_backoff;
    }

    // A put (value) or a delete (null) of `key`, into `keys`.
    void Apply(const std::string& key, const std::string* value,
               std::map<std::string, InetAddress>* keys) {
      if (value == nullptr) {
        keys->erase(key);
        return;
      }
      absl::StatusOr<InetAddress> address = ParseEtcdEndpointValue(*value);
      if (!address.ok()) {
        keys->erase(key);
        MRPC_PEER_LOG(WARNING, "etcd bad endpoint value", key)
            << "etcd resolver: skipping key " << key << ": "
            << address.status().message();
        return;
      }
      (*keys)[key] = *address;
    }

    void Report() {
      std::vector<InetAddress> backends;
      for (const auto& [key, address] : keys_) {
        if (std::find(backends.begin(), backends.end(), address) ==
            backends.end()) {
          backends.push_back(address);
        }
      }
      if (reported_once_ && !reported_error_ && backends == reported_) return;
      reported_once_ = true;
      reported_error_ = false;
      reported_ = backends;
      if (listener_) listener_(std::move(backends));
    }

    EventLoop* const loop_;
    const EtcdTarget target_;
    const std::string prefix_;
    const EtcdResolverOptions options_;
    EtcdClient client_;
    ResolverListener listener_;
    std::unique_ptr<EtcdWatch> watch_;
    std::map<std::string, InetAddress> keys_;
    int64_t revision_ = 0;
    std::vector<InetAddress> reported_;
    bool reported_once_ = false;
    bool reported_error_ = false;
    bool outage_logged_ = false;
    bool stopped_ = false;
    absl::Duration backoff_;
    TimerId retry_timer_;
    TimerId check_timer_;
    absl::BitGen rng_;
  };

  std::shared_ptr<Core> core_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Resolver>> NewEtcdResolver(
    EventLoop* loop, absl::string_view target, EtcdResolverOptions options) {
  absl::StatusOr<EtcdTarget> parsed = ParseEtcdTarget(target);
  if (!parsed.ok()) return parsed.status();
  return std::unique_ptr<Resolver>(
      new EtcdResolver(loop, std::move(*parsed), options));
}

}  // namespace mrpc
