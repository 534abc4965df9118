// A server process killed (SIGKILL) in the middle of calls, then restarted on
// the same port: pending calls fail with UNAVAILABLE at once (the kernel
// resets the dead process's connections; no heartbeat wait needed), none
// hangs, and the channel reconnects and serves calls again.
#include <fcntl.h>
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "net/sync.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "tests/server_process.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;

using ::mrpc::testing::ServerProcess;

TEST(ServerRestartTest, KilledServerFailsPendingCallsThenChannelReconnects) {
  auto server = std::make_unique<ServerProcess>(0);
  const int port = server->port();
  ChannelOptions options;
  options.connect.initial_backoff = absl::Milliseconds(20);
  options.connect.max_backoff = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", port), options);
  ASSERT_TRUE(channel.ok());

  EchoRequest ping;
  ping.set_payload("up?");
  EchoResponse pong;
  ASSERT_TRUE(
      (*channel)
          ->CallMethodBlocking(testing::kTestService, "Echo", ping, &pong)
          .ok());

  // Calls that would take 10 s each, in flight when the server dies.
  constexpr int kPending = 10;
  std::vector<EchoRequest> reqs(kPending);
  std::vector<EchoResponse> resps(kPending);
  std::vector<absl::Status> statuses(kPending);
  CountDownLatch done(kPending);
  for (int i = 0; i < kPending; ++i) {
    reqs[i].set_payload("10000");
    (*channel)->CallMethod(testing::kTestService, "Delay", reqs[i], &resps[i],
                           nullptr, [&, i](absl::Status s) {
                             statuses[i] = s;
                             done.CountDown();
                           });
  }
  // Make sure they reached the server: a call sent after them has returned.
  ASSERT_TRUE(
      (*channel)
          ->CallMethodBlocking(testing::kTestService, "Echo", ping, &pong)
          .ok());

  const absl::Time killed_at = absl::Now();
  server->Kill(SIGKILL);
  ASSERT_TRUE(done.WaitWithTimeout(absl::Seconds(5)));
  EXPECT_LT(absl::Now() - killed_at,
            absl::Seconds(1));  // Not the heartbeat timeout.
  for (int i = 0; i < kPending; ++i) {
    EXPECT_EQ(statuses[i].code(), absl::StatusCode::kUnavailable)
        << statuses[i];
  }

  // While the server is down, calls fail fast (never hang).
  absl::Status down = (*channel)->CallMethodBlocking(testing::kTestService,
                                                     "Echo", ping, &pong);
  EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;

  server = std::make_unique<ServerProcess>(port);  // Same port.
  absl::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    status = (*channel)->CallMethodBlocking(testing::kTestService, "Echo", ping,
                                            &pong);
    if (status.ok()) break;
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    absl::SleepFor(absl::Milliseconds(10));  // Pacing retries, not syncing.
  } while (absl::Now() < deadline);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(pong.payload(), "up?");
  EXPECT_GE((*channel)->stats().connects, 2u);
}

// Under steady load (calls in flight all the time), a SIGKILL: every call in
// flight completes with an error within its deadline, none hangs, and none
// completes twice.
TEST(ServerRestartTest, KilledUnderLoadEveryCallCompletesWithinItsDeadline) {
  auto server = std::make_unique<ServerProcess>(0);
  ChannelOptions options;
  options.heartbeat_interval = absl::Milliseconds(100);
  options.heartbeat_timeout = absl::Milliseconds(500);
  options.default_timeout = absl::Seconds(1);
  options.connect.initial_backoff = absl::Milliseconds(20);
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server->port()), options);
  ASSERT_TRUE(channel.ok());

  struct Op {
    EchoRequest request;
    EchoResponse response;
  };
  std::atomic<bool> stop{false};
  std::atomic<int> issued{0}, completed{0}, ok{0}, failed{0};
  std::atomic<int> bad_code{0};
  // A closed loop: each completion issues the next call (on the loop).
  std::function<void()> issue = [&] {
    if (stop.load()) return;
    ++issued;
    auto* op = new Op;
    op->request.set_payload(issued % 4 == 0 ? "20"
                                            : "1");  // Some calls wait 20 ms.
    (*channel)->CallMethod(
        testing::kTestService, "Delay", op->request, &op->response, nullptr,
        [&, op](absl::Status s) {
          if (s.ok()) {
            ++ok;
          } else {
            ++failed;
            if (s.code() != absl::StatusCode::kUnavailable &&
                s.code() != absl::StatusCode::kDeadlineExceeded) {
              ++bad_code;
            }
          }
          delete op;
          issue();
          // Last: once every call is counted, no callback
          // touches this test's state any more.
          ++completed;
        });
  };
  for (int i = 0; i < 50; ++i) issue();
  const absl::Time load_start = absl::Now();
  while (ok.load() < 2000 && absl::Now() - load_start < absl::Seconds(20)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GE(ok.load(), 2000);

  const absl::Time killed_at = absl::Now();
  server->Kill(SIGKILL);
  // Failed calls re-issue at once; stop after the in-flight ones failed.
  while (failed.load() < 50 && absl::Now() - killed_at < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  stop = true;
  while (completed.load() != issued.load() &&
         absl::Now() - killed_at < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(completed.load(), issued.load()) << "calls never completed";
  EXPECT_LT(absl::Now() - killed_at,
            options.default_timeout + absl::Milliseconds(500));
  EXPECT_EQ(bad_code.load(), 0);
  channel->reset();  // While `issue` and the counters still exist.

  server = std::make_unique<ServerProcess>(0);
  absl::StatusOr<std::unique_ptr<Channel>> fresh =
      Channel::Create(absl::StrCat("127.0.0.1:", server->port()), options);
  ASSERT_TRUE(fresh.ok());
  EchoRequest request;
  request.set_payload("1");
  EchoResponse response;
  EXPECT_TRUE((*fresh)
                  ->CallMethodBlocking(testing::kTestService, "Delay", request,
                                       &response)
                  .ok());
}

}  // namespace
}  // namespace mrpc
