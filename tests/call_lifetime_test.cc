// A call's lifetime as the server promises it to handler writers
// (docs/guide.md, "Handlers"): `done` may be kept and called late, or
// dropped, and the server neither crashes nor leaks nor leaves the
// connection busy. Most calls end in the batch that read them and never
// enter the connection's call table (rpc/server_call.h); these tests pin
// what that fast path must still honour, from a raw socket speaking
// docs/protocol.md. Run under ASan and TSan in CI: a late `done` touching
// a connection that is gone is a use-after-free there.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/server.h"
#include "tests/wire.h"

namespace mrpc {
namespace {

using ::mrpc::testing::EchoPayload;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::Frame;
using ::mrpc::testing::LogCapture;
using ::mrpc::testing::RawClient;
using ::mrpc::testing::ReadFrame;
using ::mrpc::testing::RequestFrame;

using echo::EchoRequest;
using echo::EchoResponse;

constexpr char kService[] = "mrpc.test.Lifetime";

// The `done`s the handlers keep, handed to the test thread.
class Kept {
 public:
  void Put(RpcDone done) {
    MutexLock lock(&mutex_);
    dones_.push_back(std::move(done));
  }
  size_t size() {
    MutexLock lock(&mutex_);
    return dones_.size();
  }
  RpcDone Take() {
    MutexLock lock(&mutex_);
    CHECK(!dones_.empty());
    RpcDone done = std::move(dones_.front());
    dones_.erase(dones_.begin());
    return done;
  }

 private:
  Mutex mutex_;
  std::vector<RpcDone> dones_ ABSL_GUARDED_BY(mutex_);
};

class CallLifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(ServerOptions()); }
  void Start(ServerOptions options) {
    options.num_threads = 1;
    server_ = std::make_unique<Server>(options);
    // Answers, then keeps its `done` (a handler bug the server survives).
    Register("AnswerAndKeep", [this](ServerContext*, const EchoRequest& request,
                                     EchoResponse* response, RpcDone done) {
      response->set_payload(request.payload());
      done(absl::OkStatus());
      kept_.Put(std::move(done));
    });
    // Drops its `done` without calling it.
    Register("Drop",
             [](ServerContext*, const EchoRequest&, EchoResponse*, RpcDone) {});
    // Keeps its `done` for the test to call: the call outlives its batch.
    Register("Hold", [this](ServerContext*, const EchoRequest& request,
                            EchoResponse* response, RpcDone done) {
      response->set_payload(request.payload());
      kept_.Put(std::move(done));
    });
    CHECK(server_->Start("127.0.0.1:0").ok());
  }
  template <typename Handler>
  void Register(const char* method, Handler handler) {
    absl::Status s = server_->RegisterMethod<EchoRequest, EchoResponse>(
        kService, method, std::move(handler));
    CHECK(s.ok()) << s;
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
  static std::string Request(uint64_t id, absl::string_view method,
                             absl::string_view payload,
                             uint64_t timeout_us = 0) {
    return RequestFrame(id, kService, method, EchoPayload(payload), timeout_us);
  }
  static std::string EchoOf(const Frame& frame) {
    echo::EchoResponse response;
    CHECK(response.ParseFromString(frame.payload));
    return response.payload();
  }

  Kept kept_;
  std::unique_ptr<Server> server_;
};

TEST_F(CallLifetimeTest, DoneCalledAgainAfterTheConnectionIsGoneIsLogged) {
  LogCapture log([](google::LogSeverity, absl::string_view text) {
    return absl::StrContains(text, "done called twice");
  });
  RawClient raw = Connect();
  const std::string peer = raw.local_address().ToString();
  ASSERT_TRUE(raw.Write(Request(1, "AnswerAndKeep", "first")).ok());
  absl::StatusOr<Frame> answer = ReadFrame(raw);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->meta.status_code(), 0);
  EXPECT_EQ(EchoOf(*answer), "first");
  ASSERT_EQ(kept_.size(), 1u);
  // The client leaves; its connection is torn down on the server.
  raw.Close();
  ASSERT_TRUE(Eventually([&] { return server_->stats().connections == 0; }));
  // The handler's bug: `done` again, from another thread, after its
  // connection is gone. One log line naming the peer; nothing is sent.
  RpcDone done = kept_.Take();
  done(absl::InternalError("late"));
  done = nullptr;  // The call's last reference.
  std::vector<std::string> lines = log.Texts();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(absl::StrContains(lines[0], peer)) << lines[0];
  EXPECT_EQ(server_->stats().responses, 1u);
  EXPECT_EQ(server_->stats().calls_in_flight, 0);
}

TEST_F(CallLifetimeTest, DroppedDoneIsAnsweredAtTheDeadlineAndFreed) {
  LogCapture log([](google::LogSeverity, absl::string_view text) {
    return absl::StrContains(text, "without calling done");
  });
  RawClient raw = Connect();
  const absl::Time sent = absl::Now();
  ASSERT_TRUE(raw.Write(Request(7, "Drop", "x", /*timeout_us=*/200000)).ok());
  absl::StatusOr<Frame> answer = ReadFrame(raw, absl::Seconds(5));
  ASSERT_TRUE(answer.ok()) << answer.status();
  const absl::Duration waited = absl::Now() - sent;
  EXPECT_EQ(answer->meta.correlation_id(), 7u);
  EXPECT_EQ(answer->meta.status_code(),
            static_cast<int>(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(waited, absl::Milliseconds(190));
  EXPECT_LT(waited, absl::Seconds(2));
  // Answered and released (the line is written as the call is freed, just
  // after its answer): nothing left in flight, one line for the bug.
  EXPECT_TRUE(Eventually([&] { return log.Texts().size() == 1; }));
  EXPECT_EQ(server_->stats().calls_in_flight, 0);
  // The id is free and the connection serves on.
  ASSERT_TRUE(raw.Write(Request(7, "AnswerAndKeep", "again")).ok());
  answer = ReadFrame(raw);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->meta.status_code(), 0);
  EXPECT_EQ(EchoOf(*answer), "again");
  kept_.Take()(absl::OkStatus());  // Called twice: logged, not sent.
}

// The idle timer closes a connection whose calls all ended in their batch
// (they never marked it busy), but not one with a call still pending.
TEST_F(CallLifetimeTest, OnlyPendingCallsKeepAConnectionFromIdling) {
  TearDown();
  ServerOptions options;
  options.idle_timeout = absl::Milliseconds(300);
  Start(options);

  RawClient quick = Connect();
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(quick.Write(Request(id, "AnswerAndKeep", "q")).ok());
    ASSERT_TRUE(ReadFrame(quick).ok());
  }
  const absl::Time silent = absl::Now();
  EXPECT_TRUE(quick.WaitForClose(absl::Seconds(5)).ok());
  EXPECT_GE(absl::Now() - silent, absl::Milliseconds(250));
  EXPECT_EQ(server_->stats().idle_closes, 1u);

  RawClient held = Connect();
  ASSERT_TRUE(held.Write(Request(9, "Hold", "h")).ok());
  ASSERT_TRUE(Eventually([&] { return kept_.size() == 4; }));
  // Three idle timeouts pass while the call is pending: no close, no frame.
  absl::StatusOr<Frame> early = ReadFrame(held, absl::Milliseconds(900));
  EXPECT_FALSE(early.ok());
  EXPECT_EQ(server_->stats().idle_closes, 1u);
  for (int i = 0; i < 3; ++i) kept_.Take();  // The quick calls' spent dones.
  kept_.Take()(absl::OkStatus());
  absl::StatusOr<Frame> answer = ReadFrame(held);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->meta.correlation_id(), 9u);
  EXPECT_EQ(EchoOf(*answer), "h");
  // Answered: idle again, and closed.
  EXPECT_TRUE(held.WaitForClose(absl::Seconds(5)).ok());
  EXPECT_EQ(server_->stats().idle_closes, 2u);
}

}  // namespace
}  // namespace mrpc
