// PreparedRequests: a load tester's echo requests, built once per payload
// the driver hands it (EchoTransport::Prepare) instead of filled per call,
// as the baseline's client builds its frames once. Shared by mrpc_load and
// grpc_load, so both clients do the same work per call; a template because
// each links its own generated EchoRequest (grpc_load must not link
// //proto:echo_proto).
//
// Prepare() runs on the driver's thread before any call; For() may then run
// on any thread at once (it only reads the prepared requests, and
// serializing a message from several threads is safe).
#ifndef MRPC_TOOLS_LOAD_PREPARED_REQUESTS_H_
#define MRPC_TOOLS_LOAD_PREPARED_REQUESTS_H_

#include <glog/logging.h>

#include <vector>

#include "absl/strings/string_view.h"
#include "tools/load/load_driver.h"

namespace mrpc::load {

template <typename EchoRequest>
class PreparedRequests {
 public:
  // One request per payload, in order (work_us 0). Any connection of an
  // earlier run, which read the old ones, must be gone.
  void Prepare(const std::vector<absl::string_view>& payloads) {
    requests_.clear();
    requests_.resize(payloads.size());
    for (size_t v = 0; v < payloads.size(); ++v) {
      // assign(), not set_payload(data, size): protobuf 3.21 builds that
      // one a temporary string.
      requests_[v].mutable_payload()->assign(payloads[v].data(),
                                             payloads[v].size());
    }
  }

  // The request to send for `call`: the prepared one for an echo of a
  // prepared payload, else `scratch` filled with the call's payload and
  // work (a slow call). Valid while `scratch` is, and until the next
  // Prepare().
  const EchoRequest& For(const EchoCall& call, EchoRequest* scratch) const {
    if (call.work_us == 0 && call.variant < requests_.size()) {
      const EchoRequest& request = requests_[call.variant];
      DCHECK_EQ(request.payload(), call.payload);
      return request;
    }
    scratch->mutable_payload()->assign(call.payload.data(),
                                       call.payload.size());
    scratch->set_work_us(call.work_us);
    return *scratch;
  }

 private:
  std::vector<EchoRequest> requests_;
};

}  // namespace mrpc::load

#endif  // MRPC_TOOLS_LOAD_PREPARED_REQUESTS_H_
