// EchoServiceImpl: the echo service (proto/echo.proto), shared by the echo
// server and the soak test (tools/load/soak.cc).
//
// Echo is trivial and never blocks, so its synchronous form runs inline on
// the connection's loop: no thread hop, no lock. SlowEcho blocks for
// `work_us`; register it on the worker pool (MethodOptions::use_worker_pool)
// unless the point is to show what a blocking handler does to its loop.
// Stateless: any thread may call it.
#ifndef MRPC_EXAMPLES_ECHO_ECHO_SERVICE_H_
#define MRPC_EXAMPLES_ECHO_ECHO_SERVICE_H_

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "proto/echo.mrpc.h"

namespace mrpc::echo {

class EchoServiceImpl : public EchoService::Service {
 public:
  absl::Status Echo(ServerContext*, const EchoRequest& request,
                    EchoResponse* response) override {
    response->set_payload(request.payload());
    return absl::OkStatus();
  }

  absl::Status SlowEcho(ServerContext*, const EchoRequest& request,
                        EchoResponse* response) override {
    absl::SleepFor(absl::Microseconds(request.work_us()));
    response->set_payload(request.payload());
    return absl::OkStatus();
  }
};

}  // namespace mrpc::echo

#endif  // MRPC_EXAMPLES_ECHO_ECHO_SERVICE_H_
