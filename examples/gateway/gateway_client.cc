// A command-line client for the gateway.
//
//   gateway_client --target=127.0.0.1:9002 set <user> <name> [<email>]
//   gateway_client --target=127.0.0.1:9002 get <user>
//
// Over TLS: --tls (the system's CAs), or --tls_ca=ca.pem; with
// --tls_cert=client.pem --tls_key=client.key for mutual TLS.
#include <glog/logging.h>
#include <stdio.h>

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "examples/common/channel_flags.h"
#include "examples/common/tls_client_flags.h"
#include "examples/gateway/gateway.mrpc.h"
#include "rpc/channel.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9002",
          "gateway: host:port, list://, dns:/// or etcd://");
ABSL_FLAG(int, timeout_ms, 1000,
          "per-call deadline (passed on to the backend)");

namespace gw = mrpc::examples::gateway;

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  auto arg = [&](size_t i) {
    return i < args.size() ? std::string(args[i]) : std::string();
  };
  if (args.size() < 3 || (arg(1) != "set" && arg(1) != "get")) {
    fprintf(stderr,
            "usage: gateway_client [--target=host:port] set|get <user> ...\n");
    return 2;
  }
  mrpc::ChannelOptions channel_options =
      mrpc::examples::ChannelOptionsFromFlags();
  mrpc::examples::ApplyClientTlsFlags(&channel_options);
  absl::StatusOr<std::unique_ptr<mrpc::Channel>> channel =
      mrpc::Channel::Create(absl::GetFlag(FLAGS_target), channel_options);
  if (!channel.ok()) {
    printf("error: %s\n", channel.status().ToString().c_str());
    return 1;
  }
  gw::Gateway::Stub stub(channel->get());
  mrpc::CallOptions options;
  options.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  if (arg(1) == "set") {
    gw::Profile profile;
    profile.set_user(arg(2));
    profile.set_name(arg(3));
    profile.set_email(arg(4));
    absl::StatusOr<gw::SetProfileResponse> r =
        stub.SetProfile(profile, options);
    if (!r.ok()) {
      printf("error: %s\n", r.status().ToString().c_str());
      return 1;
    }
    printf("set profile of %s\n", arg(2).c_str());
    return 0;
  }
  gw::GetProfileRequest request;
  request.set_user(arg(2));
  absl::StatusOr<gw::Profile> r = stub.GetProfile(request, options);
  if (!r.ok()) {
    printf("error: %s\n", r.status().ToString().c_str());
    return 1;
  }
  printf("profile of %s: name \"%s\", email \"%s\"\n", r->user().c_str(),
         r->name().c_str(), r->email().c_str());
  return 0;
}
