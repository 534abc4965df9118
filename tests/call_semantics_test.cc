// Call semantics as docs/protocol.md ("Calls") states them, checked from
// outside: a raw socket speaks the documented bytes, as a client written in
// another language would, and each test asserts what that client must be
// able to rely on: deadlines, CANCEL, correlation id reuse, duplicate ids,
// and the answers owed to requests received before a protocol error.
#include <glog/logging.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/socket.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/test_service.h"
#include "tests/wire.h"

namespace mrpc {
namespace {

using ::mrpc::testing::ControlFrame;
using ::mrpc::testing::EchoPayload;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::Frame;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;
using ::mrpc::testing::ReadFrame;
using ::mrpc::testing::RequestFrame;

constexpr int kCancelled = static_cast<int>(absl::StatusCode::kCancelled);
constexpr int kDeadline = static_cast<int>(absl::StatusCode::kDeadlineExceeded);
constexpr int kUnavailable = static_cast<int>(absl::StatusCode::kUnavailable);

std::string EchoOf(const Frame& frame) {
  echo::EchoResponse response;
  CHECK(response.ParseFromString(frame.payload));
  return response.payload();
}

class CallSemanticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.num_threads = 1;
    options.worker_threads = 1;  // One worker: a second call queues.
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  }
  void TearDown() override {
    server_->Shutdown();
    server_->Wait();
  }
  RawClient Connect() {
    absl::StatusOr<RawClient> c =
        RawClient::Connect(InetAddress::Loopback(server_->port()));
    CHECK(c.ok()) << c.status();
    return std::move(*c);
  }
  // Expects nothing more from the server for `quiet` (the late results
  // of abandoned handlers are dropped, not sent).
  static void ExpectSilence(RawClient& raw, absl::Duration quiet) {
    absl::StatusOr<Frame> extra = ReadFrame(raw, quiet);
    EXPECT_FALSE(extra.ok()) << "unexpected frame: "
                             << extra->meta.ShortDebugString();
  }

  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
};

// timeout_us is a uint64: UINT64_MAX (the usual "none"), 2^63 and INT64_MAX
// are no deadline at all, never "already expired".
TEST_F(CallSemanticsTest, HugeTimeoutsMeanNoDeadline) {
  RawClient raw = Connect();
  const uint64_t timeouts[] = {UINT64_MAX, uint64_t{1} << 63,
                               uint64_t{INT64_MAX}, uint64_t{INT64_MAX} - 1};
  uint64_t id = 1;
  for (uint64_t timeout : timeouts) {
    ASSERT_TRUE(raw.Write(RequestFrame(id, kTestService, "Delay",
                                       EchoPayload("30"), timeout))
                    .ok());
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ(frame->meta.correlation_id(), id);
    EXPECT_EQ(frame->meta.status_code(), 0)
        << "timeout_us " << timeout << ": " << frame->meta.status_message();
    EXPECT_EQ(EchoOf(*frame), "30");
    ++id;
  }
}

// A request received whole before a bad frame is answered, then the server
// closes the connection.
TEST_F(CallSemanticsTest, RequestBeforeABadFrameIsAnsweredThenClosed) {
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(RequestFrame(1, kTestService, "Echo", EchoPayload("a")) +
                        "garbage garbage!")
                  .ok());
  absl::StatusOr<Frame> frame = ReadFrame(raw);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->meta.correlation_id(), 1u);
  EXPECT_EQ(frame->meta.status_code(), 0);
  EXPECT_EQ(EchoOf(*frame), "a");
  EXPECT_TRUE(raw.WaitForClose(absl::Seconds(10)).ok());
  EXPECT_EQ(server_->stats().protocol_errors, 1u);
}

// Calls still running at a protocol error are answered UNAVAILABLE (and
// say so) before the close, so the client knows each one's fate.
TEST_F(CallSemanticsTest, CallsInFlightAtAProtocolErrorAreAnswered) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(1, kTestService, "Sleep", EchoPayload("300")) +
                RequestFrame(2, kTestService, "WaitCancel", EchoPayload("")) +
                RequestFrame(3, kTestService, "Echo", EchoPayload("c")) +
                "\x01\x02\x03\x04garbage!")
          .ok());
  std::set<uint64_t> answered;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    const uint64_t id = frame->meta.correlation_id();
    EXPECT_TRUE(answered.insert(id).second) << "answered twice: " << id;
    if (id == 3) {
      EXPECT_EQ(frame->meta.status_code(), 0);
    } else {
      EXPECT_EQ(frame->meta.status_code(), kUnavailable);
      EXPECT_TRUE(absl::StrContains(frame->meta.status_message(),
                                    "protocol error"))
          << frame->meta.status_message();
    }
  }
  EXPECT_EQ(answered, (std::set<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(raw.WaitForClose(absl::Seconds(10)).ok());
  EXPECT_TRUE(Eventually([&] { return counters_.cancel_callbacks == 1; }));
}

// A second REQUEST with an id still in flight is a protocol error: the
// first call is answered (UNAVAILABLE, naming the duplicate), the second is
// not run, and the connection closes.
TEST_F(CallSemanticsTest, DuplicateInFlightIdIsAProtocolError) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(5, kTestService, "WaitCancel", EchoPayload("")) +
                RequestFrame(5, kTestService, "Echo", EchoPayload("dup")))
          .ok());
  absl::StatusOr<Frame> frame = ReadFrame(raw);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->meta.correlation_id(), 5u);
  EXPECT_EQ(frame->meta.status_code(), kUnavailable);
  EXPECT_TRUE(absl::StrContains(frame->meta.status_message(),
                                "correlation id 5 is already in flight"))
      << frame->meta.status_message();
  EXPECT_TRUE(raw.WaitForClose(absl::Seconds(10)).ok());
  EXPECT_EQ(server_->stats().protocol_errors, 1u);
}

// CANCEL of a call waiting for a worker: answered CANCELLED at once (before
// the call ahead of it finishes), and its handler never runs.
TEST_F(CallSemanticsTest, CancelledQueuedCallIsAnsweredAtOnceAndNeverRuns) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(1, kTestService, "Sleep", EchoPayload("1000")) +
                RequestFrame(2, kTestService, "Sleep", EchoPayload("1000")) +
                ControlFrame(CANCEL, 2))
          .ok());
  absl::StatusOr<Frame> first = ReadFrame(raw);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->meta.correlation_id(), 2u);
  EXPECT_EQ(first->meta.status_code(), kCancelled);
  absl::StatusOr<Frame> second = ReadFrame(raw);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->meta.correlation_id(), 1u);
  EXPECT_EQ(second->meta.status_code(), 0);
  EXPECT_EQ(counters_.sleep_runs, 1);  // Call 2 never started.
  ExpectSilence(raw, absl::Milliseconds(300));
}

// CANCEL of a running call: answered CANCELLED at once, the handler is told
// (NotifyOnCancel), and nothing else comes for that id.
TEST_F(CallSemanticsTest, CancelledRunningCallIsAnsweredAtOnce) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(1, kTestService, "Delay", EchoPayload("200")) +
                RequestFrame(2, kTestService, "WaitCancel", EchoPayload("")) +
                ControlFrame(CANCEL, 1) + ControlFrame(CANCEL, 2))
          .ok());
  for (uint64_t id : {1, 2}) {
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ(frame->meta.correlation_id(), id);
    EXPECT_EQ(frame->meta.status_code(), kCancelled);
  }
  EXPECT_EQ(counters_.cancel_callbacks, 1);
  // Delay's own `done` (OK, at 200 ms) is dropped.
  ExpectSilence(raw, absl::Milliseconds(500));
  EXPECT_EQ(counters_.delays_cancelled, 1);
}

// An id may be reused as soon as its RESPONSE is read: a CANCEL's answer
// comes first, then the new call's, and never the old call's late result.
TEST_F(CallSemanticsTest, IdReusedRightAfterCancelGetsItsOwnAnswer) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(7, kTestService, "Delay", EchoPayload("200")) +
                ControlFrame(CANCEL, 7) +
                RequestFrame(7, kTestService, "Echo", EchoPayload("new")))
          .ok());
  absl::StatusOr<Frame> cancelled = ReadFrame(raw);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->meta.correlation_id(), 7u);
  EXPECT_EQ(cancelled->meta.status_code(), kCancelled);
  absl::StatusOr<Frame> fresh = ReadFrame(raw);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->meta.correlation_id(), 7u);
  EXPECT_EQ(fresh->meta.status_code(), 0);
  EXPECT_EQ(EchoOf(*fresh), "new");
  ExpectSilence(raw, absl::Milliseconds(500));
  EXPECT_EQ(server_->stats().protocol_errors, 0u);
}

// CANCEL for an id that is not in flight (never sent, or answered) is
// ignored.
TEST_F(CallSemanticsTest, CancelOfUnknownIdIsIgnored) {
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(ControlFrame(CANCEL, 42) +
                        RequestFrame(1, kTestService, "Echo", EchoPayload("x")) +
                        ControlFrame(CANCEL, 1))
                  .ok());
  absl::StatusOr<Frame> frame = ReadFrame(raw);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->meta.correlation_id(), 1u);
  EXPECT_EQ(frame->meta.status_code(), 0);
  ExpectSilence(raw, absl::Milliseconds(200));
}

// At the deadline the server answers DEADLINE_EXCEEDED itself, tells the
// handler, says how long it held the call, and drops the late result.
TEST_F(CallSemanticsTest, ServerAnswersAtTheDeadlineWhileTheHandlerRuns) {
  RawClient raw = Connect();
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(raw.Write(RequestFrame(1, kTestService, "WaitCancel",
                                     EchoPayload(""), /*timeout_us=*/100000) +
                        RequestFrame(2, kTestService, "Delay",
                                     EchoPayload("300"), /*timeout_us=*/100000))
                  .ok());
  std::set<uint64_t> answered;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_GE(absl::Now() - sent, absl::Milliseconds(100));
    answered.insert(frame->meta.correlation_id());
    EXPECT_EQ(frame->meta.status_code(), kDeadline);
    EXPECT_TRUE(absl::StrContains(frame->meta.status_message(),
                                  "while the handler ran"))
        << frame->meta.status_message();
    // The server's time for the call rides along as mrpc-server-us.
    ASSERT_EQ(frame->meta.metadata_size(), 1);
    EXPECT_EQ(frame->meta.metadata(0).key(), "mrpc-server-us");
    int64_t us = 0;
    ASSERT_TRUE(absl::SimpleAtoi(frame->meta.metadata(0).value(), &us));
    EXPECT_GE(us, 100000);
  }
  EXPECT_EQ(answered, (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(counters_.cancel_callbacks, 1);
  ExpectSilence(raw, absl::Milliseconds(400));  // Delay's OK is dropped.
  EXPECT_EQ(counters_.delays_cancelled, 1);     // It saw IsCancelled().
  EXPECT_EQ(server_->stats().deadline_exceeded, 2u);
}

// A call whose deadline passes while it waits for a worker is answered
// then, and never runs.
TEST_F(CallSemanticsTest, DeadlineWhileQueuedForAWorker) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(1, kTestService, "Sleep", EchoPayload("600")) +
                RequestFrame(2, kTestService, "Sleep", EchoPayload("600"),
                             /*timeout_us=*/100000))
          .ok());
  absl::StatusOr<Frame> first = ReadFrame(raw);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->meta.correlation_id(), 2u);
  EXPECT_EQ(first->meta.status_code(), kDeadline);
  EXPECT_TRUE(absl::StrContains(first->meta.status_message(),
                                "waited for a worker"))
      << first->meta.status_message();
  absl::StatusOr<Frame> second = ReadFrame(raw);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->meta.correlation_id(), 1u);
  EXPECT_EQ(second->meta.status_code(), 0);
  EXPECT_EQ(counters_.sleep_runs, 1);
}

// The channel's own errors say where the time went.
TEST_F(CallSemanticsTest, ClientDeadlineSaysWhereTheTimeWent) {
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
  ASSERT_TRUE(channel.ok());
  echo::EchoRequest request;
  request.set_payload("1000");
  echo::EchoResponse response;
  ClientContext context;
  context.set_timeout(absl::Milliseconds(50));
  absl::Status status = (*channel)->CallMethodBlocking(
      kTestService, "Delay", request, &response, &context);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(absl::StrContains(status.message(), "waiting for the response from 127.0.0.1:"))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "after the request was written"))
      << status;
}

TEST_F(CallSemanticsTest, ClientConnectFailureNamesTargetAndReason) {
  // A port nobody listens on: bound, then closed.
  absl::StatusOr<Socket> probe = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(probe.ok());
  ASSERT_TRUE(probe->Bind(InetAddress::Loopback(0)).ok());
  absl::StatusOr<InetAddress> closed = probe->LocalAddress();
  ASSERT_TRUE(closed.ok());
  *probe = Socket();
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(closed->ToString());
  ASSERT_TRUE(channel.ok());
  echo::EchoRequest request;
  echo::EchoResponse response;
  absl::Status status = (*channel)->CallMethodBlocking(kTestService, "Echo",
                                                       request, &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  // Either the call waited for the first attempt ("... (the call waited N
  // ms for a connection): ...") or it came after it and failed fast; both
  // name the target and the reason.
  EXPECT_TRUE(absl::StartsWith(status.message(),
                               absl::StrCat("cannot reach ", closed->ToString())))
      << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "Connection refused"))
      << status;
}

TEST_F(CallSemanticsTest, ClientUnavailableSaysWhereTheTimeWent) {
  // A server that reads the request and resets the connection.
  absl::StatusOr<Socket> listener = Socket::CreateTcp(AF_INET);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_TRUE(listener->Bind(InetAddress::Loopback(0)).ok());
  ASSERT_TRUE(listener->Listen(16).ok());
  absl::StatusOr<InetAddress> bound = listener->LocalAddress();
  ASSERT_TRUE(bound.ok());
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(bound->ToString());
  ASSERT_TRUE(channel.ok());
  Notification done;
  absl::Status status;
  echo::EchoRequest request;
  echo::EchoResponse response;
  (*channel)->CallMethod(kTestService, "Echo", request, &response, nullptr,
                         [&](absl::Status s) {
                           status = std::move(s);  // Not shared: see OwnCopy in channel.cc.
                           done.Notify();
                         });
  struct pollfd pfd = {listener->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  InetAddress peer;
  int saved_errno = 0;
  Socket accepted(listener->Accept(&peer, &saved_errno));
  ASSERT_TRUE(accepted.valid()) << saved_errno;
  pfd = {accepted.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1);
  char byte;
  ASSERT_EQ(::read(accepted.fd(), &byte, 1), 1);  // The request arrived.
  ASSERT_TRUE(accepted.SetLingerZero().ok());
  accepted = Socket();  // RST.
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(status.message(), "lost")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "after the request was written"))
      << status;
}

}  // namespace
}  // namespace mrpc
