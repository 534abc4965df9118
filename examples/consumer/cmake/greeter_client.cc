// Calls Greeter.SayHello once and prints the reply.
//
//   greeter_client 127.0.0.1:<port> [name]
//
// Exit code 0 if the call succeeded.
#include <stdio.h>

#include <memory>

#include "absl/time/time.h"
#include "greeter.mrpc.h"
#include "rpc/channel.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: greeter_client host:port [name]\n");
    return 2;
  }
  absl::StatusOr<std::unique_ptr<mrpc::Channel>> channel =
      mrpc::Channel::Create(argv[1]);
  if (!channel.ok()) {
    fprintf(stderr, "greeter_client: %s\n",
            channel.status().ToString().c_str());
    return 1;
  }
  acme::greeter::Greeter::Stub stub(channel->get());
  acme::greeter::HelloRequest request;
  request.set_name(argc > 2 ? argv[2] : "cmake");
  mrpc::CallOptions options;
  options.deadline = absl::Now() + absl::Seconds(5);
  absl::StatusOr<acme::greeter::HelloReply> reply =
      stub.SayHello(request, options);
  if (!reply.ok()) {
    fprintf(stderr, "greeter_client: %s\n", reply.status().ToString().c_str());
    return 1;
  }
  printf("%s\n", reply->message().c_str());
  return 0;
}
