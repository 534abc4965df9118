// Overload protection end to end (issue 11, item 5): a server whose method
// runs on a small worker pool, driven open-loop past its capacity, refuses
// the excess RESOURCE_EXHAUSTED at once and keeps its accepted calls'
// latency bounded; deadline-aware shedding; the knobs.
//
// Bounds are generous (a noisy 2-core VM, sanitizers): the figures that
// matter are measured by tools/overload_bench (docs/benchmarks.md).
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/sync.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;

constexpr char kService[] = "mrpc.test.Overload";

class OverloadTest : public ::testing::Test {
 protected:
  // "Work": sleeps payload milliseconds on a worker. One loop, so one
  // limiter sees every call.
  void StartServer(MethodOptions method, ServerOptions options = {}) {
    options.num_threads = 1;
    options.worker_threads = 4;
    options.shutdown_grace = absl::Milliseconds(200);
    method.use_worker_pool = true;
    server_ = std::make_unique<Server>(options);
    absl::Status registered = server_->RegisterMethod<EchoRequest, EchoResponse>(
        kService, "Work",
        [](ServerContext*, const EchoRequest& req, EchoResponse* resp,
           RpcDone done) {
          int ms = 0;
          absl::SimpleAtoi(req.payload(), &ms);
          absl::SleepFor(absl::Milliseconds(ms));
          resp->set_payload(req.payload());
          done(absl::OkStatus());
        },
        method);
    ASSERT_TRUE(registered.ok()) << registered;
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = std::move(*channel);
  }
  void TearDown() override {
    channel_.reset();
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }
  absl::Status Call(int work_ms, absl::Duration timeout) {
    EchoRequest req;
    req.set_payload(absl::StrCat(work_ms));
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(timeout);
    return channel_->CallMethodBlocking(kService, "Work", req, &resp, &ctx);
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> channel_;
};

// One finished call, as the client saw it.
struct Outcome {
  absl::StatusCode code;
  absl::Duration latency;
  std::string message;
};

absl::Duration Percentile(std::vector<absl::Duration> v, double p) {
  if (v.empty()) return absl::ZeroDuration();
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

TEST_F(OverloadTest, TwiceCapacityOpenLoopRefusesTheExcessQuickly) {
  StartServer(MethodOptions{});
  // Serving normally first (the limiter learns the unloaded latency): a
  // cold start into overload converges more slowly (ColdStart... in
  // rpc/concurrency_limiter_test.cc).
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(Call(5, absl::Seconds(5)).ok());
  // Capacity: 4 workers x 5 ms = 800 calls/s. Offered: 1600/s for 2 s.
  constexpr int kWorkMs = 5;
  constexpr double kCapacity = 4 * 1000.0 / kWorkMs;
  constexpr int kCalls = static_cast<int>(2 * kCapacity * 2);
  std::vector<Outcome> outcomes(kCalls);
  std::vector<EchoRequest> requests(kCalls);
  std::vector<EchoResponse> responses(kCalls);
  std::vector<ClientContext> contexts(kCalls);
  CountDownLatch done(kCalls);
  const absl::Time start = absl::Now();
  const absl::Duration gap = absl::Seconds(1) / (2 * kCapacity);
  for (int i = 0; i < kCalls; ++i) {
    // Open loop: each call leaves at its time, answered or not.
    const absl::Time due = start + gap * i;
    const absl::Time now = absl::Now();
    if (due > now) absl::SleepFor(due - now);
    requests[i].set_payload(absl::StrCat(kWorkMs));
    contexts[i].set_timeout(absl::Seconds(2));
    const absl::Time sent = absl::Now();
    channel_->CallMethod(kService, "Work", requests[i], &responses[i],
                         &contexts[i], [&, i, sent](absl::Status s) {
                           outcomes[i] = {s.code(), absl::Now() - sent,
                                          std::string(s.message())};
                           done.CountDown();
                         });
  }
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(30)));
  const absl::Duration elapsed = absl::Now() - start;

  std::vector<absl::Duration> ok, refused;
  std::string refusal;
  int other = 0;
  for (const Outcome& o : outcomes) {
    if (o.code == absl::StatusCode::kOk) {
      ok.push_back(o.latency);
    } else if (o.code == absl::StatusCode::kResourceExhausted) {
      refused.push_back(o.latency);
      refusal = o.message;
    } else {
      ++other;
    }
  }
  const ServerStats stats = server_->stats();
  LOG(INFO) << "ok " << ok.size() << " (p50 " << Percentile(ok, 0.5)
            << ", p99 " << Percentile(ok, 0.99) << "), refused "
            << refused.size() << " (p50 " << Percentile(refused, 0.5)
            << ", p99 " << Percentile(refused, 0.99) << "), other " << other
            << ", limited " << stats.limited << ", shed " << stats.shed
            << ", in " << elapsed << "; " << refusal;
  // The excess was refused by the limiter, saying so.
  EXPECT_GT(refused.size(), kCalls / 10);
  EXPECT_EQ(stats.limited + stats.shed, refused.size());
  EXPECT_GT(stats.limited, 0u);
  EXPECT_TRUE(absl::StrContains(refusal, "concurrency limit")) << refusal;
  EXPECT_TRUE(absl::StrContains(refusal, "mrpc.test.Overload.Work"))
      << refusal;
  // Refused at once: no queueing behind the work (5 ms a call).
  EXPECT_LT(Percentile(refused, 0.5), absl::Milliseconds(20));
  // The workers stayed busy: at least half the capacity was served.
  EXPECT_GT(ok.size(), 0.5 * kCapacity * absl::ToDoubleSeconds(elapsed));
  // Accepted calls did not queue without bound. Without the limit they
  // would wait for 800 calls/s of backlog: ~1 s by the end.
  EXPECT_LT(Percentile(ok, 0.99), absl::Milliseconds(150));
  EXPECT_EQ(other, 0);
}

TEST_F(OverloadTest, ADeadlineShorterThanTheRecentLatencyIsShedAtOnce) {
  StartServer(MethodOptions{});
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(Call(30, absl::Seconds(5)).ok());
  const absl::Time start = absl::Now();
  absl::Status s = Call(30, absl::Milliseconds(10));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "deadline of")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "cannot cover the method's recent latency"))
      << s;
  EXPECT_LT(took, absl::Milliseconds(10));  // Not a timeout: refused.
  EXPECT_EQ(server_->stats().shed, 1u);
  // A deadline that covers it runs.
  EXPECT_TRUE(Call(30, absl::Seconds(5)).ok());
}

TEST_F(OverloadTest, SheddingCanBeTurnedOff) {
  MethodOptions method;
  method.shed_by_deadline = false;
  StartServer(method);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(Call(30, absl::Seconds(5)).ok());
  EXPECT_EQ(Call(30, absl::Milliseconds(10)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(server_->stats().shed, 0u);
}

// Starts `n` calls of `work_ms` and returns their statuses once all end.
std::vector<absl::Status> CallsAtOnce(Channel* channel, int n, int work_ms) {
  std::vector<EchoRequest> requests(n);
  std::vector<EchoResponse> responses(n);
  std::vector<absl::Status> statuses(n);
  CountDownLatch done(n);
  for (int i = 0; i < n; ++i) {
    requests[i].set_payload(absl::StrCat(work_ms));
    channel->CallMethod(kService, "Work", requests[i], &responses[i], nullptr,
                        [&, i](absl::Status s) {
                          statuses[i] = s;
                          done.CountDown();
                        });
  }
  CHECK(done.WaitWithTimeout(absl::Seconds(30)));
  return statuses;
}

TEST_F(OverloadTest, AFixedLimit) {
  MethodOptions method;
  method.max_concurrency = 2;
  StartServer(method);
  std::vector<absl::Status> statuses = CallsAtOnce(channel_.get(), 6, 200);
  int ok = 0, refused = 0;
  for (const absl::Status& s : statuses) {
    if (s.ok()) ++ok;
    if (s.code() == absl::StatusCode::kResourceExhausted) {
      ++refused;
      EXPECT_TRUE(absl::StrContains(s.message(),
                                    "concurrency limit of 2 (fixed"))
          << s;
    }
  }
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(refused, 4);
  EXPECT_EQ(server_->stats().limited, 4u);
}

TEST_F(OverloadTest, NoLimitWhenOff) {
  ServerOptions options;
  options.overload_protection = false;
  MethodOptions method;
  method.max_concurrency = 2;  // Ignored: protection is off.
  StartServer(method, options);
  for (const absl::Status& s : CallsAtOnce(channel_.get(), 60, 20)) {
    EXPECT_TRUE(s.ok()) << s;
  }
  MethodOptions unlimited;
  unlimited.max_concurrency = -1;
  TearDown();
  StartServer(unlimited);
  for (const absl::Status& s : CallsAtOnce(channel_.get(), 60, 20)) {
    EXPECT_TRUE(s.ok()) << s;
  }
  EXPECT_EQ(server_->stats().limited, 0u);
}

}  // namespace
}  // namespace mrpc
