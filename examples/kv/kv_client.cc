// A command-line client for the key-value service.
//
//   kv_client --target=127.0.0.1:9001 put <key> <value>
//   kv_client --target=127.0.0.1:9001 get <key>
//   kv_client --target=127.0.0.1:9001 delete <key>
//   kv_client --target=127.0.0.1:9001 list [<prefix>]
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
#include "examples/kv/kv.mrpc.h"
#include "rpc/auth/bearer_token.h"
#include "rpc/channel.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9001",
          "kv server: host:port, list://, dns:/// or etcd://");
ABSL_FLAG(int, timeout_ms, 1000, "per-call deadline");
ABSL_FLAG(std::string, auth_token, "",
          "sent as 'authorization: Bearer <token>' with every call");

namespace kv = mrpc::examples::kv;

int Fail(const absl::Status& status) {
  printf("error: %s\n", status.ToString().c_str());
  return 1;
}

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  if (args.size() < 2) {
    fprintf(stderr,
            "usage: kv_client [--target=host:port] put|get|delete|list ...\n");
    return 2;
  }
  mrpc::ChannelOptions channel_options =
      mrpc::examples::ChannelOptionsFromFlags();
  mrpc::examples::ApplyClientTlsFlags(&channel_options);
  if (const std::string token = absl::GetFlag(FLAGS_auth_token);
      !token.empty()) {
    channel_options.interceptors.push_back(
        std::make_shared<mrpc::BearerTokenCredentials>(token));
  }
  absl::StatusOr<std::unique_ptr<mrpc::Channel>> channel =
      mrpc::Channel::Create(absl::GetFlag(FLAGS_target), channel_options);
  if (!channel.ok()) return Fail(channel.status());
  kv::KvService::Stub stub(channel->get());
  mrpc::CallOptions options;
  options.timeout = absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms));
  const std::string command = args[1];
  auto arg = [&](size_t i) {
    return i < args.size() ? std::string(args[i]) : std::string();
  };

  if (command == "put") {
    kv::PutRequest request;
    request.set_key(arg(2));
    request.set_value(arg(3));
    absl::StatusOr<kv::PutResponse> r = stub.Put(request, options);
    if (!r.ok()) return Fail(r.status());
    printf("put %s = %s (%s)\n", arg(2).c_str(), arg(3).c_str(),
           r->created() ? "created" : "replaced");
  } else if (command == "get") {
    kv::GetRequest request;
    request.set_key(arg(2));
    absl::StatusOr<kv::GetResponse> r = stub.Get(request, options);
    if (!r.ok()) return Fail(r.status());
    printf("get %s = %s\n", arg(2).c_str(), r->value().c_str());
  } else if (command == "delete") {
    kv::DeleteRequest request;
    request.set_key(arg(2));
    absl::StatusOr<kv::DeleteResponse> r = stub.Delete(request, options);
    if (!r.ok()) return Fail(r.status());
    printf("deleted %s\n", arg(2).c_str());
  } else if (command == "list") {
    kv::ListRequest request;
    request.set_prefix(arg(2));
    absl::StatusOr<kv::ListResponse> r = stub.List(request, options);
    if (!r.ok()) return Fail(r.status());
    printf("list \"%s\": %d entries%s\n", arg(2).c_str(), r->entries_size(),
           r->truncated() ? " (truncated)" : "");
    for (const kv::Entry& e : r->entries()) {
      printf("  %s = %s\n", e.key().c_str(), e.value().c_str());
    }
  } else {
    fprintf(stderr, "unknown command \"%s\"\n", command.c_str());
    return 2;
  }
  return 0;
}
