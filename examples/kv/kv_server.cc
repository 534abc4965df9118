// The key-value backend.
//
//   bazel run //examples/kv:kv_server -- --port=9001 [--host=0.0.0.0]
//       [--tls_cert=server.pem --tls_key=server.key [--tls_ca=ca.pem]
//        [--tls_require_client_cert] [--tls_required]]
#include <glog/logging.h>
#include <stdio.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/listen_flags.h"
#include "examples/common/registration_flags.h"
#include "examples/common/serve.h"
#include "examples/common/tls_server_flags.h"
#include "examples/kv/kv_service.h"
#include "rpc/auth/bearer_token.h"

ABSL_FLAG(int, port, 9001, "port to listen on (0: any free port)");
ABSL_FLAG(int, threads, -1, "I/O loops (-1: one per hardware thread)");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "a file of 'principal token' lines: calls must carry "
          "'authorization: Bearer <token>' (the health check is exempt); "
          "empty: no authentication");

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
  if (const std::string file = absl::GetFlag(FLAGS_auth_tokens_file);
      !file.empty()) {
    absl::StatusOr<std::vector<mrpc::BearerToken>> tokens =
        mrpc::LoadTokenFile(file);
    if (!tokens.ok()) {
      fprintf(stderr, "kv_server: %s\n", tokens.status().ToString().c_str());
      return 1;
    }
    mrpc::BearerTokenOptions auth;
    auth.tokens = *std::move(tokens);
    auth.exempt_methods = {"mrpc.health.v1.Health/*"};
    absl::StatusOr<std::unique_ptr<mrpc::BearerTokenInterceptor>> interceptor =
        mrpc::BearerTokenInterceptor::Create(std::move(auth));
    CHECK(interceptor.ok()) << interceptor.status();
    CHECK(server.AddInterceptor(*std::move(interceptor)).ok());
  }
  return mrpc::examples::ServeUntilSignal(
      &server, mrpc::examples::ListenAddress(absl::GetFlag(FLAGS_port)),
      "kv_server");
}
