// The generated code compiles and works: a server from the generated
// Service bases, called through every stub form, and the generated gmock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "codegen/testdata/golden.mrpc.h"
#include "codegen/testdata/golden.mrpc.mock.h"
#include "net/event_loop.h"
#include "net/sync.h"
#include "rpc/channel.h"
#include "rpc/server.h"

namespace mrpc::codegen_test {
namespace {

using ::testing::_;
using ::testing::Return;

// Sync form for SayHello; async form (completing on another thread, later)
// for Echo; Nested left unimplemented.
class GreeterImpl : public Greeter::Service {
 public:
  absl::Status SayHello(ServerContext* ctx, const HelloRequest& request,
                        HelloReply* response) override {
    on_loop_ = EventLoop::CurrentThreadLoop() != nullptr;
    if (request.name().empty())
      return absl::InvalidArgumentError("name is empty");
    response->set_message("Hello, " + request.name());
    return absl::OkStatus();
  }
  void EchoAsync(ServerContext* ctx, const echo::EchoRequest& request,
                 echo::EchoResponse* response, RpcDone done) override {
    response->set_payload(request.payload());
    const int delay_ms = request.payload() == "slow" ? 300 : 1;
    std::thread([delay_ms, done = std::move(done)]() mutable {
      absl::SleepFor(absl::Milliseconds(delay_ms));
      done(absl::OkStatus());
    }).detach();
  }
  std::atomic<bool> on_loop_{false};
};

class KeywordsImpl : public Keywords::Service {
 public:
  absl::Status delete_(ServerContext*, const HelloRequest& request,
                       HelloReply* response) override {
    response->set_message("deleted " + request.name());
    return absl::OkStatus();
  }
  absl::Status GetAsync_(ServerContext*, const HelloRequest&,
                         HelloReply* response) override {
    response->set_message("GetAsync the method");
    return absl::OkStatus();
  }
  absl::Status Get(ServerContext*, const HelloRequest&,
                   HelloReply* response) override {
    response->set_message("Get the method");
    return absl::OkStatus();
  }
};

class GeneratedStubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.num_threads = 1;
    options.shutdown_grace = absl::Milliseconds(500);
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(server_->RegisterService(&greeter_).ok());
    ASSERT_TRUE(server_->RegisterService(&keywords_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create("127.0.0.1:" + std::to_string(server_->port()));
    ASSERT_TRUE(channel.ok());
    channel_ = std::move(*channel);
  }
  void TearDown() override {
    channel_.reset();
    server_->Shutdown();
    server_->Wait();
  }

  GreeterImpl greeter_;
  KeywordsImpl keywords_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> channel_;
};

TEST_F(GeneratedStubTest, BlockingForm) {
  auto stub = Greeter::NewStub(channel_.get());
  HelloRequest request;
  request.set_name("mrpc");
  absl::StatusOr<HelloReply> reply = stub->SayHello(request);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message(), "Hello, mrpc");
  EXPECT_TRUE(greeter_.on_loop_);  // Inline by default.

  request.clear_name();
  reply = stub->SayHello(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reply.status().message(), "name is empty");
}

TEST_F(GeneratedStubTest, CallbackForm) {
  Greeter::Stub stub(channel_.get());
  echo::EchoRequest request;
  request.set_payload("async");
  Notification done;
  absl::StatusOr<echo::EchoResponse> result;
  stub.EchoAsync(request, nullptr, [&](absl::StatusOr<echo::EchoResponse> r) {
    EXPECT_EQ(EventLoop::CurrentThreadLoop(),
              channel_->loop());  // As documented.
    result = std::move(r);
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->payload(), "async");
}

TEST_F(GeneratedStubTest, FutureForm) {
  Greeter::Stub stub(channel_.get());
  HelloRequest request;
  request.set_name("future");
  std::future<absl::StatusOr<HelloReply>> future = stub.SayHelloFuture(request);
  absl::StatusOr<HelloReply> reply = future.get();
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->message(), "Hello, future");
}

TEST_F(GeneratedStubTest, CallOptionsCarryTheDeadline) {
  Greeter::Stub stub(channel_.get());
  echo::EchoRequest request;
  request.set_payload("slow");  // The handler answers after 300 ms.
  CallOptions options;
  options.timeout = absl::Milliseconds(50);
  absl::StatusOr<echo::EchoResponse> reply = stub.Echo(request, options);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
  reply = stub.EchoFuture(request, options).get();
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(GeneratedStubTest, UnimplementedMethodSaysSo) {
  Greeter::Stub stub(channel_.get());
  absl::StatusOr<common::Empty> reply = stub.Nested(common::Outer_Inner());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(reply.status().message(),
            "mrpc.codegen_test.Greeter.Nested is not implemented");
}

TEST_F(GeneratedStubTest, KeywordAndClashingNamesCallTheRightMethods) {
  Keywords::Stub stub(channel_.get());
  HelloRequest request;
  request.set_name("x");
  absl::StatusOr<HelloReply> reply = stub.delete_(request);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->message(), "deleted x");
  reply = stub.Get(request);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->message(), "Get the method");
  reply = stub.GetAsync_(request);  // The .proto method named GetAsync.
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->message(), "GetAsync the method");
  reply = stub.RegisterMethods_(request);  // Registered, not implemented.
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnimplemented);
}

TEST(GeneratedServiceOptionsTest, MethodOptionsMoveAHandlerToTheWorkerPool) {
  GreeterImpl greeter;
  MethodOptions blocking;
  blocking.use_worker_pool = true;
  greeter.SetMethodOptions("SayHello", blocking);
  ServerOptions options;
  options.num_threads = 1;
  Server server(options);
  ASSERT_TRUE(server.RegisterService(&greeter).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  {
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create("127.0.0.1:" + std::to_string(server.port()));
    ASSERT_TRUE(channel.ok());
    HelloRequest request;
    request.set_name("worker");
    absl::StatusOr<HelloReply> reply =
        Greeter::Stub(channel->get()).SayHello(request);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_FALSE(greeter.on_loop_);  // Ran on a worker thread.
  }
  server.Shutdown();
  server.Wait();
}

// Code under test depends on the interface, so tests can swap in the mock.
std::string GreetTwice(Greeter::StubInterface* greeter,
                       const std::string& name) {
  HelloRequest request;
  request.set_name(name);
  absl::StatusOr<HelloReply> first = greeter->SayHello(request);
  if (!first.ok()) return "error: " + std::string(first.status().message());
  absl::StatusOr<HelloReply> second = greeter->SayHello(request);
  return first->message() + " / " +
         (second.ok() ? second->message() : "failed");
}

TEST(GeneratedMockTest, MockStubStandsInForTheServer) {
  MockGreeterStub mock;
  HelloReply reply;
  reply.set_message("hi from the mock");
  // SayHello is overloaded (options or a context): name the form.
  EXPECT_CALL(mock, SayHello(::testing::An<const HelloRequest&>(), _))
      .WillOnce(Return(reply))
      .WillOnce(Return(absl::UnavailableError("down")));
  EXPECT_EQ(GreetTwice(&mock, "x"), "hi from the mock / failed");
}

}  // namespace
}  // namespace mrpc::codegen_test
