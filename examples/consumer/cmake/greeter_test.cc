// End to end in one process: a Server with GreeterImpl on a free port, a
// Channel and the generated stub calling it. Run by `ctest`.
#include <stdio.h>

#include <memory>
#include <string>

#include "greeter.mrpc.h"
#include "greeter_service.h"
#include "rpc/channel.h"
#include "rpc/server.h"

namespace {

int failures = 0;

void Expect(bool ok, const std::string& what) {
  printf("%s: %s\n", ok ? "ok  " : "FAIL", what.c_str());
  failures += !ok;
}

}  // namespace

int main() {
  acme::greeter::GreeterImpl service;
  mrpc::Server server;
  absl::Status status = server.RegisterService(&service);
  if (status.ok()) status = server.Start("127.0.0.1:0");
  Expect(status.ok(), "server starts: " + status.ToString());
  if (!status.ok()) return 1;

  {
    auto channel =
        mrpc::Channel::Create("127.0.0.1:" + std::to_string(server.port()));
    Expect(channel.ok(), "channel: " + channel.status().ToString());
    if (channel.ok()) {
      acme::greeter::Greeter::Stub stub(channel->get());
      acme::greeter::HelloRequest request;
      request.set_name("ctest");
      auto reply = stub.SayHello(request);
      Expect(reply.ok() && reply->message() == "hello, ctest",
             "SayHello: " +
                 (reply.ok() ? reply->message() : reply.status().ToString()));
      request.clear_name();
      reply = stub.SayHello(request);
      Expect(
          reply.status().code() == absl::StatusCode::kInvalidArgument,
          "SayHello(\"\") is INVALID_ARGUMENT: " + reply.status().ToString());
    }
  }  // The channel goes before the server.

  server.Shutdown();
  server.Wait();
  return failures == 0 ? 0 : 1;
}
