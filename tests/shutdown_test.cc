// Shutdown keeps its promise (docs/reliability.md, "Shutdown"): a server
// process with a handler that never returns, sent SIGTERM, answers that
// call UNAVAILABLE once shutdown_grace has passed and exits soon after;
// the stuck handler's thread does not hold the process.
//
// The server is tests/test_server in a child process (its Hang and
// HangInline methods block forever), started with a 500 ms grace.
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/sync.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "tests/server_process.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;

constexpr absl::Duration kGrace = absl::Milliseconds(500);

// tests/test_server in a child process, with a 500 ms grace.
class ServerProcess : public testing::ServerProcess {
 public:
  ServerProcess()
      : testing::ServerProcess(
            0, {absl::StrCat("--shutdown_grace_ms=",
                             absl::ToInt64Milliseconds(kGrace))}) {}
  void Terminate() { Signal(SIGTERM); }
};

struct Outcome {
  Notification done;
  absl::Status status;
  absl::Time at;
};

// Calls `method` (which never returns) with a long deadline, sends SIGTERM
// once it runs, and checks when the call failed and the process exited.
void ExpectShutdownWithin(const char* method, absl::Duration answer_limit,
                          bool check_message) {
  ServerProcess server;
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server.port()));
  ASSERT_TRUE(channel.ok()) << channel.status();
  EchoRequest request;
  request.set_payload("x");
  EchoResponse response;
  ASSERT_TRUE((*channel)
                  ->CallMethodBlocking(testing::kTestService, "Echo", request,
                                       &response)
                  .ok());

  ClientContext ctx;
  ctx.set_timeout(absl::Seconds(30));
  EchoResponse hang_response;
  auto outcome = std::make_shared<Outcome>();
  (*channel)->CallMethod(testing::kTestService, method, request,
                         &hang_response, &ctx, [outcome](absl::Status s) {
                           outcome->status = std::move(s);
                           outcome->at = absl::Now();
                           outcome->done.Notify();
                         });
  // The request must have reached its handler. On the worker pool, an
  // Echo sent after it and answered proves it was dispatched; inline, the
  // loop is then blocked for good, so give the request time to arrive.
  if (absl::StrContains(method, "Inline")) {
    absl::SleepFor(absl::Milliseconds(300));
  } else {
    ASSERT_TRUE((*channel)
                    ->CallMethodBlocking(testing::kTestService, "Echo",
                                         request, &response)
                    .ok());
    absl::SleepFor(absl::Milliseconds(50));  // Let a worker take it.
  }
  ASSERT_FALSE(outcome->done.HasBeenNotified()) << outcome->status;

  const absl::Time terminated = absl::Now();
  server.Terminate();
  ASSERT_TRUE(outcome->done.WaitForNotificationWithTimeout(absl::Seconds(20)))
      << "the stuck call was never answered";
  EXPECT_EQ(outcome->status.code(), absl::StatusCode::kUnavailable)
      << outcome->status;
  if (check_message) {
    EXPECT_TRUE(absl::StrContains(outcome->status.message(), "shut down"))
        << outcome->status;
  }
  const absl::Duration answered = outcome->at - terminated;
  EXPECT_LT(answered, kGrace + answer_limit);
  EXPECT_GE(answered, kGrace - absl::Milliseconds(50)) << "grace not honoured";

  const int status = server.WaitForExit(absl::Seconds(20));
  const absl::Duration exited = absl::Now() - terminated;
  ASSERT_NE(status, -1) << "the server did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(exited, kGrace + absl::Seconds(1));
  LOG(INFO) << method << ": answered " << answered << " and exited " << exited
            << " after SIGTERM (grace " << kGrace << ")";
}

// A worker-pool handler that never returns: its client is answered
// UNAVAILABLE on the loop right after the grace; the worker is detached.
TEST(ShutdownTest, StuckWorkerHandlerIsAbandonedAndTheProcessExits) {
  ExpectShutdownWithin("Hang", absl::Milliseconds(500), /*check_message=*/true);
}

// A handler blocking the loop itself: nobody can answer on that loop, so
// the client learns of it when the process exits and its socket closes;
// the blocked loop is left running (leaked) rather than joined.
TEST(ShutdownTest, HandlerBlockingItsLoopDoesNotHoldTheProcess) {
  ExpectShutdownWithin("HangInline", absl::Seconds(1), /*check_message=*/false);
}

}  // namespace
}  // namespace mrpc
