// End-to-end tests of the RPC layer over loopback: a Server with the test
// service and Channels calling it.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::kTestService;

class RpcTest : public ::testing::Test {
 protected:
  // Tests leave long Delay calls behind; don't let teardown wait the default
  // 5 s of shutdown grace for them (the shutdown test sets its own).
  static ServerOptions QuickShutdown() {
    ServerOptions options;
    options.shutdown_grace = absl::Milliseconds(100);
    return options;
  }
  void StartServer(ServerOptions options = QuickShutdown()) {
    if (options.num_threads < 0) options.num_threads = 2;
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  }
  void TearDown() override {
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }
  std::unique_ptr<Channel> NewChannel(ChannelOptions options = {}) {
    absl::StatusOr<std::unique_ptr<Channel>> channel = Channel::Create(
        absl::StrCat("127.0.0.1:", server_->port()), std::move(options));
    CHECK(channel.ok()) << channel.status();
    return std::move(*channel);
  }
  // A blocking call of TestService.`method` with `payload`.
  absl::StatusOr<std::string> Call(
      Channel* channel, const std::string& method, const std::string& payload,
      absl::Duration timeout = absl::ZeroDuration()) {
    EchoRequest req;
    req.set_payload(payload);
    EchoResponse resp;
    ClientContext ctx;
    if (timeout > absl::ZeroDuration()) ctx.set_timeout(timeout);
    absl::Status s =
        channel->CallMethodBlocking(kTestService, method, req, &resp, &ctx);
    if (!s.ok()) return s;
    return resp.payload();
  }
  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
};

TEST_F(RpcTest, EchoOnce) {
  StartServer();
  auto channel = NewChannel();
  absl::StatusOr<std::string> reply = Call(channel.get(), "Echo", "hello");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "hello");
}

TEST_F(RpcTest, ThousandConcurrentCallsOnOneChannel) {
  StartServer();
  auto channel = NewChannel();
  constexpr int kCalls = 1000;
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoResponse> responses(kCalls);
  std::vector<absl::Status> statuses(kCalls);
  CountDownLatch done(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_payload(absl::StrCat("call-", i, std::string(i % 97, 'x')));
    channel->CallMethod(kTestService, i % 3 == 0 ? "Delay" : "Echo",
                        requests[i], &responses[i], nullptr,
                        [&, i](absl::Status s) {
                          statuses[i] = s;
                          done.CountDown();
                        });
  }
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(60)));
  for (int i = 0; i < kCalls; ++i) {
    if (i % 3 == 0) {
      // "Delay" with a non-numeric payload: the handler's own error.
      EXPECT_EQ(statuses[i].code(), absl::StatusCode::kInvalidArgument) << i;
    } else {
      ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i];
      EXPECT_EQ(responses[i].payload(), requests[i].payload()) << i;
    }
  }
  EXPECT_EQ(channel->stats().connects,
            1u);  // All multiplexed on one connection.
}

TEST_F(RpcTest, CallsFromEightThreadsAtOnce) {
  StartServer();
  auto channel = NewChannel();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string payload = absl::StrCat(t, "/", i);
        absl::StatusOr<std::string> reply =
            Call(channel.get(), "Echo", payload);
        if (reply.ok() && *reply == payload) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 200);
}

TEST_F(RpcTest, DeadlineExceededThenLateResponseDroppedThenNextCallWorks) {
  StartServer();
  auto channel = NewChannel();
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> slow =
      Call(channel.get(), "Delay", "300", absl::Milliseconds(50));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded)
      << slow.status();
  EXPECT_GE(waited, absl::Milliseconds(50));
  EXPECT_LT(waited, absl::Milliseconds(250));  // Not the handler's 300 ms.
  // The client told the server (CANCEL); the handler sees it when it fires,
  // and its late response is dropped quietly by the channel.
  ASSERT_TRUE(
      Eventually([&] { return counters_.delays_cancelled.load() == 1; }));
  ASSERT_TRUE(Eventually([&] { return server_->stats().cancels == 1; }));
  absl::StatusOr<std::string> next = Call(channel.get(), "Echo", "next");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, "next");
  EXPECT_EQ(channel->stats().deadline_exceeded, 1u);
}

// A channel files its calls' deadlines in order, in one queue with one
// timer (rpc/deadline_queue.h); a deadline earlier than one already filed
// takes a timer of its own. Both must come on time, and exactly once.
TEST_F(RpcTest, ShorterDeadlineAfterALongerOneExpiresOnTime) {
  StartServer();
  auto channel = NewChannel();
  EchoRequest long_request;
  long_request.set_payload("3000");  // Delay answers after 3 s.
  EchoResponse long_response;
  ClientContext long_context;
  long_context.set_timeout(absl::Milliseconds(600));
  absl::Notification long_done;
  absl::Status long_status;
  int long_completions = 0;
  absl::Time long_end;
  const absl::Time long_start = absl::Now();
  channel->CallMethod(kTestService, "Delay", long_request, &long_response,
                      &long_context, [&](absl::Status status) {
                        long_status = status;
                        long_end = absl::Now();
                        ++long_completions;
                        long_done.Notify();
                      });
  // Filed after the long one, due long before it.
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> short_call =
      Call(channel.get(), "Delay", "3000", absl::Milliseconds(50));
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(short_call.status().code(), absl::StatusCode::kDeadlineExceeded)
      << short_call.status();
  EXPECT_GE(waited, absl::Milliseconds(50));
  EXPECT_LT(waited, absl::Milliseconds(400));  // Not the long one's 600 ms.
  ASSERT_TRUE(long_done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(long_status.code(), absl::StatusCode::kDeadlineExceeded)
      << long_status;
  EXPECT_GE(long_end - long_start, absl::Milliseconds(600));
  EXPECT_LT(long_end - long_start, absl::Milliseconds(2500));
  // And a later call, filed in order behind the long one, too.
  absl::StatusOr<std::string> after =
      Call(channel.get(), "Delay", "3000", absl::Milliseconds(80));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(long_completions, 1);
  EXPECT_EQ(channel->stats().deadline_exceeded, 3u);
}

TEST_F(RpcTest, LateResponseIsCountedAndDropped) {
  StartServer();
  auto channel = NewChannel();
  // Sleep on a worker ignores cancellation, so its response does come back.
  absl::StatusOr<std::string> slow =
      Call(channel.get(), "Sleep", "100", absl::Milliseconds(20));
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(Eventually([&] { return channel->stats().late_responses == 1; }));
  EXPECT_TRUE(Call(channel.get(), "Echo", "fine").ok());
}

TEST_F(RpcTest, ServerStatusesReachTheCaller) {
  StartServer();
  auto channel = NewChannel();
  absl::StatusOr<std::string> r = Call(channel.get(), "Fail", "5:no such key");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such key");

  EchoRequest req;
  EchoResponse resp;
  absl::Status s = channel->CallMethodBlocking("no.Such", "Echo", req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("unknown service \"no.Such\""), std::string::npos)
      << s;
  s = channel->CallMethodBlocking(kTestService, "Nope", req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("unknown method \"Nope\""), std::string::npos)
      << s;
}

TEST_F(RpcTest, ResponseJustUnderTheDefaultFrameLimit) {
  StartServer();
  auto channel = NewChannel();
  const size_t size = (16 << 20) - 1024;
  absl::StatusOr<std::string> big =
      Call(channel.get(), "Big", std::to_string(size));
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->size(), size);
  EXPECT_EQ(big->find_first_not_of('b'), std::string::npos);
}

TEST_F(RpcTest, ResponseOverTheServersFrameLimitFailsThatCallAlone) {
  ServerOptions options = QuickShutdown();
  options.max_frame_size = 1 << 20;
  StartServer(options);
  auto channel = NewChannel();
  absl::StatusOr<std::string> big =
      Call(channel.get(), "Big", std::to_string(2 << 20));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted)
      << big.status();
  EXPECT_NE(big.status().message().find("over the server's limit of 1048576"),
            std::string::npos)
      << big.status();
  EXPECT_EQ(server_->stats().oversized_responses, 1u);
  // The same connection goes on.
  EXPECT_TRUE(Call(channel.get(), "Echo", "again").ok());
  EXPECT_EQ(channel->stats().connects, 1u);
}

TEST_F(RpcTest, ResponseOverTheClientsFrameLimitFailsThatCallAlone) {
  ServerOptions server_options = QuickShutdown();
  server_options.max_frame_size = 8 << 20;
  StartServer(server_options);
  ChannelOptions options;
  options.max_frame_size = 1 << 20;
  auto channel = NewChannel(options);
  // A call in flight on the same connection while the big response streams
  // past: it must not fail with it.
  EchoRequest sleep_req;
  sleep_req.set_payload("200");
  EchoResponse sleep_resp;
  Notification slept;
  absl::Status sleep_status;
  channel->CallMethod(kTestService, "Sleep", sleep_req, &sleep_resp, nullptr,
                      [&](absl::Status s) {
                        sleep_status = s;
                        slept.Notify();
                      });
  absl::StatusOr<std::string> big =
      Call(channel.get(), "Big", std::to_string(2 << 20));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kResourceExhausted)
      << big.status();
  EXPECT_NE(big.status().message().find("over the channel's limit of 1048576"),
            std::string::npos)
      << big.status();
  EXPECT_EQ(channel->stats().oversized_responses, 1u);
  EXPECT_EQ(channel->stats().protocol_errors, 0u);
  // The connection and the other call go on.
  EXPECT_TRUE(Call(channel.get(), "Echo", "again").ok());
  ASSERT_TRUE(slept.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(sleep_status.ok()) << sleep_status;
  EXPECT_EQ(channel->stats().connects, 1u);
  EXPECT_EQ(channel->stats().connection_losses, 0u);
}

TEST_F(RpcTest, WorkerPoolHandlerDoesNotBlockItsLoop) {
  ServerOptions options = QuickShutdown();
  options.num_threads = 1;  // One loop: an inline sleep would stall everything.
  options.worker_threads = 1;
  StartServer(options);
  auto channel = NewChannel();
  EchoRequest sleep_req;
  sleep_req.set_payload("400");
  EchoResponse sleep_resp;
  Notification slept;
  channel->CallMethod(kTestService, "Sleep", sleep_req, &sleep_resp, nullptr,
                      [&](absl::Status) { slept.Notify(); });
  ASSERT_TRUE(Eventually([&] { return counters_.sleep_runs.load() == 1; }));
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> quick = Call(channel.get(), "Echo", "quick");
  ASSERT_TRUE(quick.ok());
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_FALSE(slept.HasBeenNotified());
  EXPECT_TRUE(slept.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST_F(RpcTest, CallPastItsDeadlineInTheWorkerQueueNeverRuns) {
  ServerOptions options = QuickShutdown();
  options.worker_threads = 1;
  StartServer(options);
  auto channel = NewChannel();
  EchoRequest busy_req;
  busy_req.set_payload("300");
  EchoResponse busy_resp;
  Notification busy_done;
  channel->CallMethod(kTestService, "Sleep", busy_req, &busy_resp, nullptr,
                      [&](absl::Status) { busy_done.Notify(); });
  ASSERT_TRUE(Eventually([&] { return counters_.sleep_runs.load() == 1; }));
  // Queued behind a 300 ms sleep with a 30 ms deadline.
  absl::StatusOr<std::string> late =
      Call(channel.get(), "Sleep", "1", absl::Milliseconds(30));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(busy_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Answered without running: by the server's own deadline timer
  // (DEADLINE_EXCEEDED) or by the client's CANCEL sent at its deadline,
  // whichever reached the call first; either takes it off the queue.
  ASSERT_TRUE(Eventually([&] {
    const ServerStats stats = server_->stats();
    return stats.deadline_exceeded + stats.cancels >= 1 &&
           stats.worker_queue_calls == 0;
  }));
  EXPECT_EQ(counters_.sleep_runs.load(), 1);
}

TEST_F(RpcTest, FullWorkerQueueFailsFastWithResourceExhausted) {
  ServerOptions options = QuickShutdown();
  options.worker_threads = 1;
  options.worker_queue_limit = 1;
  StartServer(options);
  auto channel = NewChannel();
  std::vector<EchoRequest> reqs(3);
  std::vector<EchoResponse> resps(3);
  std::vector<absl::Status> statuses(3);
  CountDownLatch done(3);
  for (int i = 0; i < 3; ++i) {
    reqs[i].set_payload("200");
    channel->CallMethod(kTestService, "Sleep", reqs[i], &resps[i], nullptr,
                        [&, i](absl::Status s) {
                          statuses[i] = s;
                          done.CountDown();
                        });
    if (i == 0) {
      ASSERT_TRUE(Eventually([&] { return counters_.sleep_runs.load() == 1; }));
    }
  }
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(30)));
  int exhausted = 0;
  for (const absl::Status& s : statuses) {
    if (s.code() == absl::StatusCode::kResourceExhausted) ++exhausted;
  }
  EXPECT_EQ(exhausted, 1);  // One running, one queued, one refused.
  EXPECT_EQ(server_->stats().overloaded, 1u);
}

TEST_F(RpcTest, BlockingCallOnTheChannelsLoopReturnsAnError) {
  StartServer();
  auto channel = NewChannel();
  Notification done;
  absl::Status inner;
  EchoRequest req;
  EchoResponse resp;
  channel->CallMethod(
      kTestService, "Echo", req, &resp, nullptr, [&](absl::Status) {
        EchoResponse resp2;
        inner = channel->CallMethodBlocking(kTestService, "Echo", req, &resp2);
        done.Notify();
      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_EQ(inner.code(), absl::StatusCode::kFailedPrecondition) << inner;
}

TEST_F(RpcTest, TryCancelCompletesTheCallAndTellsTheServer) {
  StartServer();
  auto channel = NewChannel();
  EchoRequest req;
  req.set_payload("5000");
  EchoResponse resp;
  ClientContext ctx;
  Notification done;
  absl::Status status;
  channel->CallMethod(kTestService, "Delay", req, &resp, &ctx,
                      [&](absl::Status s) {
                        status = s;
                        done.Notify();
                      });
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().calls_in_flight == 1; }));
  ctx.TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(ctx.IsCancelled());
  EXPECT_EQ(ctx.status().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(Eventually([&] { return server_->stats().cancels == 1; }));
}

TEST_F(RpcTest, DestroyingAChannelCompletesPendingCallsBeforeReturning) {
  StartServer();
  auto channel = NewChannel();
  constexpr int kCalls = 20;
  std::vector<EchoRequest> reqs(kCalls);
  std::vector<EchoResponse> resps(kCalls);
  std::atomic<int> cancelled{0};
  std::atomic<int> completed{0};
  for (int i = 0; i < kCalls; ++i) {
    reqs[i].set_payload("10000");
    channel->CallMethod(kTestService, "Delay", reqs[i], &resps[i], nullptr,
                        [&](absl::Status s) {
                          if (s.code() == absl::StatusCode::kCancelled)
                            ++cancelled;
                          ++completed;
                        });
  }
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().calls_in_flight == kCalls; }));
  channel.reset();
  EXPECT_EQ(completed.load(),
            kCalls);  // All done when the destructor returned.
  EXPECT_EQ(cancelled.load(), kCalls);
}

TEST_F(RpcTest, AChannelOnASharedLoopMayBeDestroyedByItsOwnCallback) {
  // The documented exception to "never from its own callback": a channel
  // that does not own its loop. The answered call's callback destroys the
  // channel while another call is pending: that one completes CANCELLED
  // inside the destructor, and the first call's completion, still on the
  // stack, must not touch the freed channel (ASan checks).
  StartServer();
  EventLoopThread thread("shared");
  absl::StatusOr<EventLoop*> loop = thread.Start();
  ASSERT_TRUE(loop.ok()) << loop.status();
  ChannelOptions options;
  options.loop = *loop;
  std::unique_ptr<Channel> channel = NewChannel(options);
  EchoRequest slow_req, req;
  slow_req.set_payload("10000");
  req.set_payload("quick");
  EchoResponse slow_resp, resp;
  absl::Status slow_status, status;
  Notification slow_done, done;
  channel->CallMethod(kTestService, "Delay", slow_req, &slow_resp, nullptr,
                      [&](absl::Status s) {
                        slow_status = s;
                        slow_done.Notify();
                      });
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().calls_in_flight == 1; }));
  channel->CallMethod(kTestService, "Echo", req, &resp, nullptr,
                      [&](absl::Status s) {
                        status = s;
                        channel.reset();  // On the loop, inside its callback.
                        done.Notify();
                      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(resp.payload(), "quick");
  ASSERT_TRUE(slow_done.HasBeenNotified());  // Within the destructor.
  EXPECT_EQ(slow_status.code(), absl::StatusCode::kCancelled) << slow_status;
  // The loop goes on serving: a task queued after still runs.
  Notification after;
  (*loop)->RunInLoop([&] { after.Notify(); });
  EXPECT_TRUE(after.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST_F(RpcTest, CallsAfterALongerTimedOutCallShareTheChannelsDeadlineTimer) {
  // Calls with the same timeout share one loop timer (DeadlineQueue). A
  // first call with a longer timeout, already answered (mrpc_load's
  // connection check: 10 s before calls of 1 s), must not give every later
  // call a timer of its own: 50 calls in flight add at most a couple.
  StartServer();
  EventLoopThread thread("deadlines");
  absl::StatusOr<EventLoop*> loop = thread.Start();
  ASSERT_TRUE(loop.ok()) << loop.status();
  ChannelOptions options;
  options.loop = *loop;
  options.default_timeout = absl::Seconds(5);
  std::unique_ptr<Channel> channel = NewChannel(options);
  ASSERT_TRUE(Call(channel.get(), "Echo", "check", absl::Seconds(30)).ok());
  constexpr int kCalls = 50;
  std::vector<EchoRequest> reqs(kCalls);
  std::vector<EchoResponse> resps(kCalls);
  std::atomic<int> completed{0};
  size_t before = 0, after = 0;
  RunInLoopAndWait(*loop, [&] {
    before = (*loop)->num_timers();
    for (int i = 0; i < kCalls; ++i) {
      reqs[i].set_payload("3000");  // Delay: held 3 s, under the 5 s.
      channel->CallMethod(kTestService, "Delay", reqs[i], &resps[i], nullptr,
                          [&](absl::Status) { ++completed; });
    }
    after = (*loop)->num_timers();
  });
  EXPECT_LE(after, before + 2) << "a timer per call";
  channel.reset();  // Cancels them.
  EXPECT_EQ(completed.load(), kCalls);
}

TEST_F(RpcTest, HeartbeatsKeepAnIdleConnectionAlivePastTheServersIdleTimeout) {
  ServerOptions server_options = QuickShutdown();
  server_options.idle_timeout = absl::Milliseconds(150);
  StartServer(server_options);
  ChannelOptions options;
  options.heartbeat_interval = absl::Milliseconds(40);
  options.heartbeat_timeout = absl::Seconds(5);
  auto channel = NewChannel(options);
  ASSERT_TRUE(Call(channel.get(), "Echo", "first").ok());
  // Ten PINGs = 400 ms of otherwise idle connection, well past 150 ms.
  ASSERT_TRUE(Eventually([&] { return channel->stats().pings >= 10; }));
  ASSERT_TRUE(Call(channel.get(), "Echo", "still the same connection").ok());
  EXPECT_EQ(channel->stats().connects, 1u);
  EXPECT_EQ(channel->stats().connection_losses, 0u);
  EXPECT_GE(server_->stats().pings, 10u);
}

TEST_F(RpcTest, ASilentClientIsClosedByTheIdleTimeout) {
  ServerOptions options = QuickShutdown();
  options.idle_timeout = absl::Milliseconds(100);
  StartServer(options);
  absl::StatusOr<testing::RawClient> silent =
      testing::RawClient::Connect(InetAddress::Loopback(server_->port()));
  ASSERT_TRUE(silent.ok());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(silent->WaitForClose(absl::Seconds(10)).ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(90));
}

TEST_F(RpcTest, ASilentServerFailsCallsWithinTheHeartbeatTimeout) {
  // A listener that completes handshakes (the kernel does) but never reads
  // or answers: a hung server.
  absl::StatusOr<Socket> listener = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(listener->Bind(InetAddress::Loopback(0)).ok());
  ASSERT_TRUE(listener->Listen(16).ok());
  const int port = listener->LocalAddress()->port();
  ChannelOptions options;
  options.heartbeat_interval = absl::Milliseconds(50);
  options.heartbeat_timeout = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", port), options);
  ASSERT_TRUE(channel.ok());
  const absl::Time start = absl::Now();
  EchoRequest req;
  EchoResponse resp;
  absl::Status s =
      (*channel)->CallMethodBlocking(kTestService, "Echo", req, &resp);
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("heartbeat timeout"), std::string::npos) << s;
  EXPECT_GE(waited, absl::Milliseconds(300));
  EXPECT_LT(waited, absl::Milliseconds(300 + 500));
  EXPECT_EQ((*channel)->stats().heartbeat_timeouts, 1u);
}

TEST_F(RpcTest, RefusedConnectionFailsFastWithUnavailable) {
  InetAddress dead;
  {
    absl::StatusOr<Socket> tmp = Socket::CreateTcp(AF_INET);
    ASSERT_TRUE(tmp.ok());
    ASSERT_TRUE(tmp->Bind(InetAddress::Loopback(0)).ok());
    dead = *tmp->LocalAddress();
  }
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(dead.ToString());
  ASSERT_TRUE(channel.ok());
  EchoRequest req;
  EchoResponse resp;
  absl::Status s =
      (*channel)->CallMethodBlocking(kTestService, "Echo", req, &resp);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("refused"), std::string::npos) << s;
}

TEST_F(RpcTest, ShutdownLetsCallsInFlightFinishAndRefusesNewOnes) {
  ServerOptions options;
  options.shutdown_grace = absl::Seconds(10);  // Far more than the call needs.
  StartServer(options);
  auto channel = NewChannel();
  EchoRequest req;
  req.set_payload("200");
  EchoResponse resp;
  Notification done;
  absl::Status status;
  channel->CallMethod(kTestService, "Delay", req, &resp, nullptr,
                      [&](absl::Status s) {
                        status = s;
                        done.Notify();
                      });
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().calls_in_flight == 1; }));
  server_->Shutdown();
  absl::StatusOr<std::string> refused = Call(channel.get(), "Echo", "too late");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable)
      << refused.status();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(status.ok()) << status;  // The call in flight finished normally.
  EXPECT_EQ(resp.payload(), "200");
  server_->Wait();
}

}  // namespace
}  // namespace mrpc
