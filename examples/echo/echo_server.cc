// The echo service on the generated stubs: the smallest complete mrpc
// server. Also the server the load tester drives.
//
//   bazel run //examples/echo:echo_server -- --port=9000
#include <glog/logging.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/serve.h"
#include "proto/echo.mrpc.h"
#include "rpc/server.h"

ABSL_FLAG(int, port, 9000, "port to listen on (0: any free port)");
ABSL_FLAG(int, threads, -1, "I/O loops (-1: one per hardware thread)");

namespace mrpc::echo {

// Echo is trivial and never blocks, so the synchronous form runs inline on
// the connection's loop: no thread hop, no lock.
class EchoServiceImpl : public EchoService::Service {
 public:
  absl::Status Echo(ServerContext*, const EchoRequest& request,
                    EchoResponse* response) override {
    response->set_payload(request.payload());
    return absl::OkStatus();
  }
};

}  // namespace mrpc::echo

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mrpc::ServerOptions options;
  options.num_threads = absl::GetFlag(FLAGS_threads);
  mrpc::Server server(options);
  mrpc::echo::EchoServiceImpl service;
  absl::Status registered = server.RegisterService(&service);
  CHECK(registered.ok()) << registered;
  return mrpc::examples::ServeUntilSignal(
      &server, "0.0.0.0:" + std::to_string(absl::GetFlag(FLAGS_port)), "echo_server");
}
