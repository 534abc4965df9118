// KvServiceImpl: the key-value service's implementation, an ordered map
// under a mutex.
//
// Example code. Thread-safe: handlers run inline on several loops at once,
// each holding the lock only for a map operation (never across I/O).
#ifndef MRPC_EXAMPLES_KV_KV_SERVICE_H_
#define MRPC_EXAMPLES_KV_KV_SERVICE_H_

#include <map>
#include <string>

#include "examples/kv/kv.mrpc.h"
#include "net/sync.h"

namespace mrpc::examples::kv {

class KvServiceImpl : public KvService::Service {
 public:
  static constexpr int kDefaultListLimit = 100;
  static constexpr int kMaxListLimit = 1000;

  absl::Status Get(ServerContext* context, const GetRequest& request,
                   GetResponse* response) override;
  absl::Status Put(ServerContext* context, const PutRequest& request,
                   PutResponse* response) override;
  absl::Status Delete(ServerContext* context, const DeleteRequest& request,
                      DeleteResponse* response) override;
  absl::Status List(ServerContext* context, const ListRequest& request,
                    ListResponse* response) override;

 private:
  Mutex mutex_;
  std::map<std::string, std::string> data_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc::examples::kv

#endif  // MRPC_EXAMPLES_KV_KV_SERVICE_H_
