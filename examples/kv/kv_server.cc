// The key-value backend.
//
//   bazel run //examples/kv:kv_server -- --port=9001 [--host=0.0.0.0]
//       [--tls_cert=server.pem --tls_key=server.key [--tls_ca=ca.pem]
//        [--tls_require_client_cert] [--tls_required]]
#include <glog/logging.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/listen_flags.h"
#include "examples/common/registration_flags.h"
#include "examples/common/serve.h"
#include "examples/common/tls_server_flags.h"
#include "examples/kv/kv_service.h"

ABSL_FLAG(int, port, 9001, "port to listen on (0: any free port)");
ABSL_FLAG(int, threads, -1, "I/O loops (-1: one per hardware thread)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mrpc::ServerOptions options;
  mrpc::examples::ApplyRegistrationFlags(&options);
  mrpc::examples::ApplyServerTlsFlags(&options);
  options.num_threads = absl::GetFlag(FLAGS_threads);
  mrpc::Server server(options);
  mrpc::examples::kv::KvServiceImpl service;
  absl::Status registered = server.RegisterService(&service);
  CHECK(registered.ok()) << registered;
  return mrpc::examples::ServeUntilSignal(
      &server, mrpc::examples::ListenAddress(absl::GetFlag(FLAGS_port)),
      "kv_server");
}
