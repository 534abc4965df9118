// The gateway against a mocked backend (exact fan-out, errors, deadline
// propagation) and end to end against a real kv server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "examples/gateway/gateway_service.h"
#include "examples/kv/kv.mrpc.mock.h"
#include "examples/kv/kv_service.h"
#include "net/event_loop.h"
#include "net/sync.h"
#include "rpc/channel.h"
#include "rpc/server.h"

namespace mrpc::examples::gateway {
namespace {

using kv::GetRequest;
using kv::GetResponse;
using ::testing::_;
using ::testing::Invoke;

// Completes a mocked GetAsync call with `result`.
auto Answer(absl::StatusOr<GetResponse> result) {
  return [result](const GetRequest&, ClientContext*,
                  StubCallback<GetResponse> done) { done(result); };
}

GetResponse Value(const std::string& v) {
  GetResponse r;
  r.set_value(v);
  return r;
}

// Calls GetProfile on `gateway` directly, as the server would.
absl::Status CallGetProfile(GatewayImpl* gateway, const std::string& user,
                            Profile* out,
                            absl::Time deadline = absl::InfiniteFuture()) {
  // The context refers to its names (a server keeps them in its method
  // table); they must outlive it.
  static const std::string kService = "mrpc.examples.gateway.Gateway";
  static const std::string kMethod = "GetProfile";
  ServerContext ctx(kService, kMethod, InetAddress(), deadline, nullptr);
  GetProfileRequest request;
  request.set_user(user);
  Notification done;
  absl::Status status;
  gateway->GetProfileAsync(&ctx, request, out, [&](absl::Status s) {
    status = s;
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

TEST(GatewayWithMockTest, FetchesBothFieldsAndPassesTheDeadlineOn) {
  kv::MockKvServiceStub kv;
  GatewayImpl gateway(&kv);
  const absl::Time deadline = absl::Now() + absl::Seconds(3);
  absl::Time seen_deadlines[2];
  EXPECT_CALL(kv, GetAsync(_, _, _))
      .WillOnce(Invoke([&](const GetRequest& r, ClientContext* ctx,
                           StubCallback<GetResponse> done) {
        EXPECT_EQ(r.key(), "user/ada/name");
        seen_deadlines[0] = ctx->deadline();
        done(Value("Ada Lovelace"));
      }))
      .WillOnce(Invoke([&](const GetRequest& r, ClientContext* ctx,
                           StubCallback<GetResponse> done) {
        EXPECT_EQ(r.key(), "user/ada/email");
        seen_deadlines[1] = ctx->deadline();
        done(Value("ada@example.org"));
      }));
  Profile profile;
  ASSERT_TRUE(CallGetProfile(&gateway, "ada", &profile, deadline).ok());
  EXPECT_EQ(profile.user(), "ada");
  EXPECT_EQ(profile.name(), "Ada Lovelace");
  EXPECT_EQ(profile.email(), "ada@example.org");
  EXPECT_EQ(seen_deadlines[0], deadline);
  EXPECT_EQ(seen_deadlines[1], deadline);
}

TEST(GatewayWithMockTest, MissingNameIsNotFoundMissingEmailIsFine) {
  kv::MockKvServiceStub kv;
  GatewayImpl gateway(&kv);
  EXPECT_CALL(kv, GetAsync(_, _, _))
      .WillOnce(Invoke(Answer(absl::NotFoundError("no key"))))
      .WillOnce(Invoke(Answer(Value("x@example.org"))))
      .WillOnce(Invoke(Answer(Value("Bob"))))
      .WillOnce(Invoke(Answer(absl::NotFoundError("no key"))));
  Profile profile;
  absl::Status status = CallGetProfile(&gateway, "nobody", &profile);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no profile for user \"nobody\"");
  Profile bob;
  ASSERT_TRUE(CallGetProfile(&gateway, "bob", &bob).ok());
  EXPECT_EQ(bob.name(), "Bob");
  EXPECT_EQ(bob.email(), "");
}

TEST(GatewayWithMockTest, BackendFailureKeepsItsCodeAndSaysWhere) {
  kv::MockKvServiceStub kv;
  GatewayImpl gateway(&kv);
  EXPECT_CALL(kv, GetAsync(_, _, _))
      .WillOnce(Invoke(Answer(Value("Carol"))))
      .WillOnce(Invoke(Answer(absl::DeadlineExceededError("too slow"))));
  Profile profile;
  absl::Status status = CallGetProfile(&gateway, "carol", &profile);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status.message(), "reading the email: too slow");
}

// A kv backend that answers "slow/..." keys after 300 ms (asynchronously,
// without blocking its own loop).
class SlowKv : public kv::KvServiceImpl {
 public:
  void GetAsync(ServerContext* ctx, const GetRequest& request,
                GetResponse* response, RpcDone done) override {
    if (request.key().rfind("user/slow/", 0) != 0) {
      done(Get(ctx, request, response));
      return;
    }
    response->set_value("slow value");
    ctx->loop()->RunAfter(
        absl::Milliseconds(300),
        [done = std::move(done)]() mutable { done(absl::OkStatus()); });
  }
};

TEST(GatewayEndToEndTest, ChainedCallsThroughRealServersNeverBlockTheLoop) {
  ServerOptions kv_options;
  kv_options.num_threads = 1;
  kv_options.shutdown_grace = absl::Milliseconds(500);
  Server kv_server(kv_options);
  SlowKv kv_service;
  ASSERT_TRUE(kv_server.RegisterService(&kv_service).ok());
  ASSERT_TRUE(kv_server.Start("127.0.0.1:0").ok());
  absl::StatusOr<std::unique_ptr<Channel>> kv_channel =
      Channel::Create("127.0.0.1:" + std::to_string(kv_server.port()));
  ASSERT_TRUE(kv_channel.ok());
  kv::KvService::Stub kv_stub(kv_channel->get());

  GatewayImpl gateway_service(&kv_stub);
  ServerOptions options;
  options.num_threads = 1;  // One loop: a blocking handler would stall it.
  options.shutdown_grace = absl::Milliseconds(500);
  Server gateway(options);
  ASSERT_TRUE(gateway.RegisterService(&gateway_service).ok());
  ASSERT_TRUE(gateway.Start("127.0.0.1:0").ok());
  {
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create("127.0.0.1:" + std::to_string(gateway.port()));
    ASSERT_TRUE(channel.ok());
    Gateway::Stub stub(channel->get());
    Profile profile;
    profile.set_user("ada");
    profile.set_name("Ada");
    profile.set_email("ada@example.org");
    ASSERT_TRUE(stub.SetProfile(profile).ok());
    profile.set_user("slow");
    ASSERT_TRUE(stub.SetProfile(profile).ok());

    // A slow chained call in flight...
    GetProfileRequest slow;
    slow.set_user("slow");
    std::future<absl::StatusOr<Profile>> slow_reply =
        stub.GetProfileFuture(slow);
    // ...does not hold up a fast one on the same (single) gateway loop.
    GetProfileRequest fast;
    fast.set_user("ada");
    const absl::Time start = absl::Now();
    absl::StatusOr<Profile> fast_reply = stub.GetProfile(fast);
    ASSERT_TRUE(fast_reply.ok()) << fast_reply.status();
    EXPECT_EQ(fast_reply->email(), "ada@example.org");
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(250));
    absl::StatusOr<Profile> slow_profile = slow_reply.get();
    ASSERT_TRUE(slow_profile.ok()) << slow_profile.status();
    EXPECT_EQ(slow_profile->name(), "slow value");

    // The caller's deadline travels to the backend: 100 ms is not enough
    // for the slow backend, and the backend's own deadline fires.
    CallOptions tight;
    tight.timeout = absl::Milliseconds(100);
    absl::StatusOr<Profile> late = stub.GetProfile(slow, tight);
    EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded)
        << late.status();
    // Proof it was passed on: the gateway's own two calls to the backend
    // (name and email, both slow) hit the deadline too; without propagation
    // they would have waited 300 ms and succeeded.
    const absl::Time limit = absl::Now() + absl::Seconds(10);
    while ((*kv_channel)->stats().deadline_exceeded < 2 &&
           absl::Now() < limit) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ((*kv_channel)->stats().deadline_exceeded, 2u);
  }
  gateway.Shutdown();
  gateway.Wait();
  kv_server.Shutdown();
  kv_server.Wait();
}

}  // namespace
}  // namespace mrpc::examples::gateway
