// Greeter end to end: a server on a free port, a channel, the generated stub.
#include <gtest/gtest.h>

#include <string>

#include "greeter.mrpc.h"
#include "greeter_service.h"
#include "rpc/channel.h"
#include "rpc/server.h"

namespace acme::greeter {
namespace {

TEST(GreeterTest, SaysHelloOverTheNetwork) {
  GreeterImpl service;
  mrpc::Server server;
  ASSERT_TRUE(server.RegisterService(&service).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  auto channel =
      mrpc::Channel::Create("127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(channel.ok()) << channel.status();
  Greeter::Stub stub(channel->get());

  HelloRequest request;
  request.set_name("mrpc");
  absl::StatusOr<HelloReply> reply = stub.SayHello(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message(), "hello, mrpc");

  // The service's error reaches the caller with its code.
  request.clear_name();
  reply = stub.SayHello(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);

  server.Shutdown();
  server.Wait();
}

}  // namespace
}  // namespace acme::greeter
