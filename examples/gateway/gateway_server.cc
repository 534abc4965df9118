// The gateway: serves Gateway, calls the kv backend.
//
//   bazel run //examples/gateway:gateway_server -- --port=9002
//       --kv_target=127.0.0.1:9001 [--host=0.0.0.0]
//       [--tls_cert=gw.pem --tls_key=gw.key --tls_ca=ca.pem
//        [--tls_require_client_cert] [--tls_required] [--kv_tls]]
//
// One TLS identity both ways: --tls_cert/--tls_key is the certificate the
// gateway serves and, with --kv_tls, the client certificate it shows kv;
// --tls_ca verifies its clients' certificates and kv's.
#include <glog/logging.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/channel_flags.h"
#include "examples/common/listen_flags.h"
#include "examples/common/registration_flags.h"
#include "examples/common/serve.h"
#include "examples/common/tls_common_flags.h"
#include "examples/common/tls_server_flags.h"
#include "examples/gateway/gateway_service.h"
#include "rpc/channel.h"

ABSL_FLAG(int, port, 9002, "port to listen on (0: any free port)");
ABSL_FLAG(int, threads, -1, "I/O loops (-1: one per hardware thread)");
ABSL_FLAG(std::string, kv_target, "127.0.0.1:9001",
          "the kv backend: host:port, list://, dns:/// or etcd://");
ABSL_FLAG(bool, kv_tls, false,
          "call kv over TLS, verifying it against --tls_ca and showing "
          "--tls_cert/--tls_key as the client certificate (if set)");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  // The channel below starts a thread: block the stop signals before it.
  mrpc::examples::BlockStopSignals();
  // One channel to the backend, multiplexing every gateway call's backend
  // calls; its callbacks run on its own loop thread and complete the
  // gateway calls from there (done() is thread-safe).
  mrpc::ChannelOptions kv_options = mrpc::examples::ChannelOptionsFromFlags();
  if (absl::GetFlag(FLAGS_kv_tls)) {
    kv_options.tls.enabled = true;
    mrpc::examples::ApplyTlsFileFlags(&kv_options.tls);
  }
  absl::StatusOr<std::unique_ptr<mrpc::Channel>> kv_channel =
      mrpc::Channel::Create(absl::GetFlag(FLAGS_kv_target), kv_options);
  if (!kv_channel.ok()) {
    LOG(ERROR) << "cannot make the kv channel (--kv_target, --kv_tls): "
               << kv_channel.status();
    return 1;
  }
  mrpc::examples::kv::KvService::Stub kv(kv_channel->get());
  mrpc::examples::gateway::GatewayImpl service(&kv);
  mrpc::ServerOptions options;
  mrpc::examples::ApplyRegistrationFlags(&options);
  mrpc::examples::ApplyServerTlsFlags(&options);
  options.num_threads = absl::GetFlag(FLAGS_threads);
  mrpc::Server server(options);
  absl::Status registered = server.RegisterService(&service);
  CHECK(registered.ok()) << registered;
  return mrpc::examples::ServeUntilSignal(
      &server, mrpc::examples::ListenAddress(absl::GetFlag(FLAGS_port)),
      "gateway_server");
}
