#include "examples/gateway/gateway_service.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/sync.h"

namespace mrpc::examples::gateway {
namespace {

// Joins the two parallel backend calls of one gateway call: the last to
// finish completes it. Backend callbacks may run on any thread (a real channel
// uses its loop; a mock, the test's thread), hence the lock.
class Join {
 public:
  static constexpr int kCalls = 2;

  // `parent`: the gateway call's context; each backend call inherits its
  // deadline and continues its trace. `user` is each backend call's hash
  // key: behind a kv cluster with the consistent_hash policy, all of a
  // user's keys live on one replica.
  Join(const ServerContext& parent, const std::string& user, RpcDone done)
      : pending_(kCalls), done_(std::move(done)) {
    for (ClientContext& context : contexts_) {
      context.set_parent(parent);
      context.set_hash_key(user);
    }
  }
  // A context per backend call, carrying the caller's deadline and trace.
  ClientContext* context(int i) { return &contexts_[i]; }

  // Records one backend call's outcome; the last one calls `done`.
  void Finish(absl::Status status) {
    RpcDone done;
    absl::Status result;
    {
      MutexLock lock(&mutex_);
      if (!status.ok() && status_.ok()) status_ = std::move(status);
      if (--pending_ > 0) return;
      done = std::move(done_);
      result = status_;
    }
    done(std::move(result));
  }

 private:
  Mutex mutex_;
  int pending_ ABSL_GUARDED_BY(mutex_);
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
  RpcDone done_ ABSL_GUARDED_BY(mutex_);
  ClientContext contexts_[kCalls];
};

// A backend failure as the gateway's caller should see it.
absl::Status FromBackend(const absl::Status& status, const std::string& what) {
  return absl::Status(status.code(),
                      absl::StrCat(what, ": ", status.message()));
}

}  // namespace

void GatewayImpl::GetProfileAsync(ServerContext* context,
                                  const GetProfileRequest& request,
                                  Profile* response, RpcDone done) {
  if (request.user().empty()) {
    done(absl::InvalidArgumentError("the user must not be empty"));
    return;
  }
  response->set_user(request.user());
  auto join = std::make_shared<Join>(*context, request.user(), std::move(done));
  const std::string user = request.user();

  kv::GetRequest name;
  name.set_key(NameKey(user));
  kv_->GetAsync(name, join->context(0),
                [join, response, user](absl::StatusOr<kv::GetResponse> r) {
                  if (r.ok()) {
                    response->set_name(r->value());
                    join->Finish(absl::OkStatus());
                  } else if (r.status().code() == absl::StatusCode::kNotFound) {
                    join->Finish(absl::NotFoundError(
                        absl::StrCat("no profile for user \"", user, "\"")));
                  } else {
                    join->Finish(FromBackend(r.status(), "reading the name"));
                  }
                });

  kv::GetRequest email;
  email.set_key(EmailKey(user));
  kv_->GetAsync(email, join->context(1),
                [join, response](absl::StatusOr<kv::GetResponse> r) {
                  if (r.ok()) {
                    response->set_email(r->value());
                    join->Finish(absl::OkStatus());
                  } else if (r.status().code() == absl::StatusCode::kNotFound) {
                    join->Finish(absl::OkStatus());  // Email is optional.
                  } else {
                    join->Finish(FromBackend(r.status(), "reading the email"));
                  }
                });
}

void GatewayImpl::SetProfileAsync(ServerContext* context,
                                  const Profile& request, SetProfileResponse*,
                                  RpcDone done) {
  if (request.user().empty() || request.name().empty()) {
    done(absl::InvalidArgumentError("user and name are required"));
    return;
  }
  auto join = std::make_shared<Join>(*context, request.user(), std::move(done));
  kv::PutRequest name;
  name.set_key(NameKey(request.user()));
  name.set_value(request.name());
  kv_->PutAsync(
      name, join->context(0), [join](absl::StatusOr<kv::PutResponse> r) {
        join->Finish(r.ok() ? absl::OkStatus()
                            : FromBackend(r.status(), "storing the name"));
      });
  kv::PutRequest email;
  email.set_key(EmailKey(request.user()));
  email.set_value(request.email());
  kv_->PutAsync(
      email, join->context(1), [join](absl::StatusOr<kv::PutResponse> r) {
        join->Finish(r.ok() ? absl::OkStatus()
                            : FromBackend(r.status(), "storing the email"));
      });
}

}  // namespace mrpc::examples::gateway
