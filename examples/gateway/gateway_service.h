// GatewayImpl: the gateway service. Each call fans out to the kv backend
// through its stub, asynchronously, so no loop thread ever waits: the
// handler returns at once and `done` runs when the backend has answered.
// The caller's remaining deadline is passed on to every backend call.
//
// Example code. Thread-safe. The kv stub is not owned and must outlive the
// service; it is an interface, so tests can hand in a MockKvServiceStub.
#ifndef MRPC_EXAMPLES_GATEWAY_GATEWAY_SERVICE_H_
#define MRPC_EXAMPLES_GATEWAY_GATEWAY_SERVICE_H_

#include <string>

#include "examples/gateway/gateway.mrpc.h"
#include "examples/kv/kv.mrpc.h"

namespace mrpc::examples::gateway {

class GatewayImpl : public Gateway::Service {
 public:
  explicit GatewayImpl(kv::KvService::StubInterface* kv) : kv_(kv) {}

  void GetProfileAsync(ServerContext* context, const GetProfileRequest& request,
                       Profile* response, RpcDone done) override;
  void SetProfileAsync(ServerContext* context, const Profile& request,
                       SetProfileResponse* response, RpcDone done) override;

  // The backend keys of a user's fields.
  static std::string NameKey(const std::string& user) {
    return "user/" + user + "/name";
  }
  static std::string EmailKey(const std::string& user) {
    return "user/" + user + "/email";
  }

 private:
  kv::KvService::StubInterface* const kv_;
};

}  // namespace mrpc::examples::gateway

#endif  // MRPC_EXAMPLES_GATEWAY_GATEWAY_SERVICE_H_
