// Calls Greeter.SayHello once and prints the reply.
//
//   bazel run //:greeter_client -- [target] [name]   (default 127.0.0.1:9001)
#include <stdio.h>

#include "greeter.mrpc.h"
#include "rpc/channel.h"

int main(int argc, char** argv) {
  const char* target = argc > 1 ? argv[1] : "127.0.0.1:9001";
  absl::StatusOr<std::unique_ptr<mrpc::Channel>> channel =
      mrpc::Channel::Create(target);
  if (!channel.ok()) {
    fprintf(stderr, "%s\n", channel.status().ToString().c_str());
    return 1;
  }
  acme::greeter::Greeter::Stub stub(channel->get());
  acme::greeter::HelloRequest request;
  request.set_name(argc > 2 ? argv[2] : "world");
  absl::StatusOr<acme::greeter::HelloReply> reply = stub.SayHello(request);
  if (!reply.ok()) {
    fprintf(stderr, "%s\n", reply.status().ToString().c_str());
    return 1;
  }
  printf("%s\n", reply->message().c_str());
  return 0;
}
