#include "examples/kv/kv_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mrpc::examples::kv {
namespace {

absl::Status CheckKey(const std::string& key) {
  if (key.empty())
    return absl::InvalidArgumentError("the key must not be empty");
  return absl::OkStatus();
}

}  // namespace

absl::Status KvServiceImpl::Get(ServerContext*, const GetRequest& request,
                                GetResponse* response) {
  if (absl::Status s = CheckKey(request.key()); !s.ok()) return s;
  MutexLock lock(&mutex_);
  auto it = data_.find(request.key());
  if (it == data_.end()) {
    return absl::NotFoundError(absl::StrCat("no key \"", request.key(), "\""));
  }
  response->set_value(it->second);
  return absl::OkStatus();
}

absl::Status KvServiceImpl::Put(ServerContext*, const PutRequest& request,
                                PutResponse* response) {
  if (absl::Status s = CheckKey(request.key()); !s.ok()) return s;
  MutexLock lock(&mutex_);
  auto [it, created] = data_.insert_or_assign(request.key(), request.value());
  response->set_created(created);
  return absl::OkStatus();
}

absl::Status KvServiceImpl::Delete(ServerContext*, const DeleteRequest& request,
                                   DeleteResponse*) {
  if (absl::Status s = CheckKey(request.key()); !s.ok()) return s;
  MutexLock lock(&mutex_);
  if (data_.erase(request.key()) == 0) {
    return absl::NotFoundError(absl::StrCat("no key \"", request.key(), "\""));
  }
  return absl::OkStatus();
}

absl::Status KvServiceImpl::List(ServerContext*, const ListRequest& request,
                                 ListResponse* response) {
  if (request.limit() < 0 || request.limit() > kMaxListLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be in [0, ", kMaxListLimit, "]"));
  }
  const int limit = request.limit() == 0 ? kDefaultListLimit : request.limit();
  MutexLock lock(&mutex_);
  for (auto it = data_.lower_bound(request.prefix());
       it != data_.end() && absl::StartsWith(it->first, request.prefix());
       ++it) {
    if (response->entries_size() == limit) {
      response->set_truncated(true);
      break;
    }
    Entry* entry = response->add_entries();
    entry->set_key(it->first);
    entry->set_value(it->second);
  }
  return absl::OkStatus();
}

}  // namespace mrpc::examples::kv
