// Calls the echo service once in each of the generated stub's forms:
// blocking, callback and future, and once with a deadline.
//
//   bazel run //examples/echo:echo_client -- --target=127.0.0.1:9000
//       [--tls_ca=ca.pem [--tls_cert=client.pem --tls_key=client.key]]
#include <glog/logging.h>
#include <stdio.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/channel_flags.h"
#include "examples/common/tls_client_flags.h"
#include "net/sync.h"
#include "proto/echo.mrpc.h"
#include "rpc/channel.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9000",
          "echo server: host:port, list://, dns:/// or etcd://");
ABSL_FLAG(std::string, message, "hello, mrpc", "what to echo");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mrpc::ChannelOptions channel_options =
      mrpc::examples::ChannelOptionsFromFlags();
  mrpc::examples::ApplyClientTlsFlags(&channel_options);
  absl::StatusOr<std::unique_ptr<mrpc::Channel>> channel =
      mrpc::Channel::Create(absl::GetFlag(FLAGS_target), channel_options);
  if (!channel.ok()) {
    fprintf(stderr, "cannot make the channel: %s\n",
            channel.status().ToString().c_str());
    return 1;
  }
  mrpc::echo::EchoService::Stub stub(channel->get());
  mrpc::echo::EchoRequest request;
  request.set_payload(absl::GetFlag(FLAGS_message));
  int failures = 0;

  // 1. Blocking: returns StatusOr<EchoResponse>.
  absl::StatusOr<mrpc::echo::EchoResponse> reply = stub.Echo(request);
  printf("blocking: %s\n", reply.ok() ? reply->payload().c_str()
                                      : reply.status().ToString().c_str());
  failures += !reply.ok();

  // 2. Callback: runs on the channel's loop thread when the reply arrives.
  mrpc::Notification done;
  stub.EchoAsync(
      request, nullptr, [&](absl::StatusOr<mrpc::echo::EchoResponse> r) {
        printf("callback: %s\n",
               r.ok() ? r->payload().c_str() : r.status().ToString().c_str());
        failures += !r.ok();
        done.Notify();
      });
  done.WaitForNotification();

  // 3. Future.
  std::future<absl::StatusOr<mrpc::echo::EchoResponse>> future =
      stub.EchoFuture(request);
  reply = future.get();
  printf("future:   %s\n", reply.ok() ? reply->payload().c_str()
                                      : reply.status().ToString().c_str());
  failures += !reply.ok();

  // 4. With a deadline (generous here; a missed one is DEADLINE_EXCEEDED).
  mrpc::CallOptions options;
  options.timeout = absl::Milliseconds(500);
  reply = stub.Echo(request, options);
  printf("deadline: %s\n", reply.ok() ? "answered within 500 ms"
                                      : reply.status().ToString().c_str());
  failures += !reply.ok();
  return failures == 0 ? 0 : 1;
}
