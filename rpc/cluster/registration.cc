#include "rpc/cluster/registration.h"

#include <glog/logging.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "rpc/cluster/etcd_gateway.pb.h"
#include "rpc/cluster/etcd_resolver.h"

namespace mrpc {

class Registration::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(EventLoop* loop, const RegistrationOptions& options, EtcdTarget target,
       std::string value)
      : loop_(loop),
        options_(options),
        key_(absl::StrCat(target.key_prefix(), options.advertise)),
        value_(std::move(value)),
        client_(loop, target.endpoints, options.client),
        backoff_(options.initial_backoff) {}

  ~Core() {
    if (timer_.valid()) loop_->Cancel(timer_);
    if (deadline_timer_.valid()) loop_->Cancel(deadline_timer_);
  }

  void Start() {
    loop_->AssertInLoopThread();
    Grant();
  }

  void Deregister(absl::Duration timeout,
                  absl::AnyInvocable<void(absl::Status)> done) {
    loop_->AssertInLoopThread();
    if (deregistering_) {
      done(absl::FailedPreconditionError("already deregistering"));
      return;
    }
    deregistering_ = true;
    registered_ = false;
    if (timer_.valid()) loop_->Cancel(timer_);
    timer_ = TimerId();
    deregister_done_ = std::move(done);
    if (lease_ == 0) {
      FinishDeregister(absl::OkStatus());
      return;
    }
    std::weak_ptr<Core> weak = shared_from_this();
    deadline_timer_ = loop_->RunAfter(timeout, [weak, timeout] {
      if (auto self = weak.lock()) {
        self->deadline_timer_ = TimerId();
        self->FinishDeregister(absl::DeadlineExceededError(absl::StrCat(
            "etcd did not confirm the lease revoke within ",
            absl::FormatDuration(timeout), "; the key expires with the lease")));
      }
    });
    Revoke(lease_);
  }

  const std::string& key() const { return key_; }
  bool registered() const { return registered_; }

 private:
  void Grant() {
    std::weak_ptr<Core> weak = shared_from_this();
    client_.LeaseGrant(options_.ttl, [weak](absl::StatusOr<int64_t> lease) {
      if (auto self = weak.lock()) self->OnGrant(std::move(lease));
    });
  }

  void OnGrant(absl::StatusOr<int64_t> lease) {
    if (deregistering_) {
      // A grant that raced with Deregister(): give it back.
      if (lease.ok()) Revoke(*lease);
      return;
    }
    if (!lease.ok()) {
      Failed(lease.status(), [](Core* self) { self->Grant(); });
      return;
    }
    lease_ = *lease;
    PutKey();
  }

  void PutKey() {
    std::weak_ptr<Core> weak = shared_from_this();
    client_.Put(key_, value_, lease_, [weak](absl::Status status) {
      auto self = weak.lock();
      if (self == nullptr || self->deregistering_) return;
      if (!status.ok()) {
        self->Failed(status, [](Core* core) { core->PutKey(); });
        return;
      }
      if (!self->registered_) {
        LOG(INFO) << "registered " << self->key_ << " in etcd (lease "
                  << self->lease_ << ", ttl "
                  << absl::FormatDuration(self->options_.ttl) << ")";
      }
      self->Healthy();
      self->ScheduleKeepAlive();
    });
  }

  void ScheduleKeepAlive() {
    std::weak_ptr<Core> weak = shared_from_this();
    timer_ = loop_->RunAfter(options_.ttl / 3, [weak] {
      if (auto self = weak.lock()) {
        self->timer_ = TimerId();
        self->KeepAlive();
      }
    });
  }

  void KeepAlive() {
    if (deregistering_) return;
    std::weak_ptr<Core> weak = shared_from_this();
    client_.LeaseKeepAliveOnce(lease_, [weak](absl::StatusOr<int64_t> ttl) {
      auto self = weak.lock();
      if (self == nullptr || self->deregistering_) return;
      if (!ttl.ok()) {
        self->Failed(ttl.status(), [](Core* core) { core->KeepAlive(); });
        return;
      }
      if (*ttl == 0) {
        LOG(WARNING) << "etcd lost the lease of " << self->key_
                     << "; registering again";
        self->registered_ = false;
        self->lease_ = 0;
        self->Grant();
        return;
      }
      self->Healthy();
      self->ScheduleKeepAlive();
    });
  }

  void Revoke(int64_t lease) {
    std::weak_ptr<Core> weak = shared_from_this();
    client_.LeaseRevoke(lease, [weak, lease](absl::Status status) {
      auto self = weak.lock();
      if (self == nullptr || lease != self->lease_) return;
      // NOT_FOUND: the lease (and so the key) is gone already.
      if (absl::IsNotFound(status)) status = absl::OkStatus();
      if (status.ok()) {
        LOG(INFO) << "deregistered " << self->key_ << " from etcd";
      }
      self->FinishDeregister(status);
    });
  }

  void FinishDeregister(absl::Status status) {
    if (deadline_timer_.valid()) loop_->Cancel(deadline_timer_);
    deadline_timer_ = TimerId();
    auto done = std::move(deregister_done_);
    deregister_done_ = nullptr;
    if (done) done(std::move(status));
  }

  void Healthy() {
    if (outage_logged_) {
      LOG(INFO) << "etcd registration of " << key_ << " is back";
    }
    outage_logged_ = false;
    registered_ = true;
    backoff_ = options_.initial_backoff;
  }

  // Logs once per outage and runs `retry` after the backoff.
  void Failed(const absl::Status& status, void (*retry)(Core*)) {
    if (!outage_logged_) {
      outage_logged_ = true;
      MRPC_PEER_LOG(WARNING, "etcd registration failed", key_)
          << "cannot register " << key_ << " in etcd: " << status
          << "; retrying until it works";
    }
    const double factor =
        absl::Uniform(rng_, 1.0 - options_.jitter, 1.0 + options_.jitter);
    // Never wait past a renewal that is due: the lease would lapse.
    const absl::Duration delay =
        std::min(backoff_ * factor, options_.ttl / 3);
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    std::weak_ptr<Core> weak = shared_from_this();
    timer_ = loop_->RunAfter(delay, [weak, retry] {
      auto self = weak.lock();
      if (self == nullptr || self->deregistering_) return;
      self->timer_ = TimerId();
      retry(self.get());
    });
  }

  EventLoop* const loop_;
  const RegistrationOptions options_;
  const std::string key_;
  const std::string value_;
  EtcdClient client_;
  int64_t lease_ = 0;
  bool registered_ = false;
  bool deregistering_ = false;
  bool outage_logged_ = false;
  absl::Duration backoff_;
  TimerId timer_;
  TimerId deadline_timer_;
  absl::AnyInvocable<void(absl::Status)> deregister_done_;
  absl::BitGen rng_;
};

absl::StatusOr<std::unique_ptr<Registration>> Registration::Create(
    EventLoop* loop, const RegistrationOptions& options) {
  absl::StatusOr<EtcdTarget> target = ParseEtcdTarget(options.target);
  if (!target.ok()) return target.status();
  absl::StatusOr<InetAddress> advertise = InetAddress::Parse(options.advertise);
  if (!advertise.ok() || advertise->port() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "registration: advertise address \"", options.advertise,
        "\" is not host:port with a numeric IP (or localhost) and a port"));
  }
  if (options.ttl < absl::Seconds(1)) {
    return absl::InvalidArgumentError("registration: ttl under 1 s");
  }
  etcd::EndpointValue value;
  value.set_address(options.advertise);
  value.set_pid(static_cast<int32_t>(::getpid()));
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string json;
  CHECK(google::protobuf::util::MessageToJsonString(value, &json, print).ok());
  return std::unique_ptr<Registration>(new Registration(std::make_shared<Core>(
      loop, options, std::move(*target), std::move(json))));
}

Registration::Registration(std::shared_ptr<Core> core)
    : core_(std::move(core)) {}
Registration::~Registration() = default;
void Registration::Start() { core_->Start(); }
void Registration::Deregister(absl::Duration timeout,
                              absl::AnyInvocable<void(absl::Status)> done) {
  core_->Deregister(timeout, std::move(done));
}
const std::string& Registration::key() const { return core_->key(); }
bool Registration::registered() const { return core_->registered(); }

}  // namespace mrpc
