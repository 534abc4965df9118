// Logs that cannot be used as a weapon: a stranger's flood of bad requests
// or bad connections, sent as raw bytes the way docs/protocol.md describes
// them, gets each its answer but only a bounded number of log lines, and the
// lines let through say how many were suppressed (docs/reliability.md, "Log
// rate limits").
//
// The limiter's window is 1 s here (10 s by default) so that a test can see
// the suppressed count reported without a long sleep. Every line counts:
// lines let through + the suppressed counts they report == lines triggered.
#include <glog/logging.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/log_limiter.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/server.h"
#include "tests/test_service.h"
#include "tests/text.pb.h"
#include "tests/wire.h"

namespace mrpc {
namespace {

using ::mrpc::test::TextMessage;
using ::mrpc::testing::Frame;
using ::mrpc::testing::RawClient;
using ::mrpc::testing::ReadFrame;
using ::mrpc::testing::RequestFrame;

constexpr int kPerPeer = 10;
constexpr absl::Duration kWindow = absl::Seconds(1);
constexpr int kInvalidArgument =
    static_cast<int>(absl::StatusCode::kInvalidArgument);
constexpr char kTextService[] = "mrpc.test.TextService";

// Collects the lines glog emits that contain `needle` (all WARNING and
// above if empty).
class CountingSink : public ::mrpc::testing::LogCapture {
 public:
  explicit CountingSink(std::string needle)
      : LogCapture([needle = std::move(needle)](google::LogSeverity severity,
                                                absl::string_view text) {
          return needle.empty() ? severity >= google::GLOG_WARNING
                                : absl::StrContains(text, needle);
        }) {}
};

// The N of "(N similar lines suppressed ...)", or 0.
int64_t SuppressedCount(const std::string& line) {
  const size_t at = line.rfind(" similar line");
  if (at == std::string::npos) return 0;
  const size_t open = line.rfind('(', at);
  long long n = 0;
  if (open == std::string::npos ||
      std::sscanf(line.c_str() + open, "(%lld", &n) != 1) {
    ADD_FAILURE() << "unreadable count in: " << line;
  }
  return n;
}

// Windows a flood lasting `elapsed` can open: each starts at a line, at
// least one window after the previous.
int64_t WindowsSpanned(absl::Duration elapsed) {
  return 1 + absl::IDivDuration(elapsed, kWindow, &elapsed);
}

class LogFloodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogLimits limits;
    limits.per_peer = kPerPeer;
    limits.window = kWindow;
    SetDefaultLogLimits(limits);
    ServerOptions options;
    options.num_threads = 2;
    // No loop watchdog: its WARNING when a CI machine descheduled a loop
    // for 100 ms is a real line, but not one the flood caused, and the
    // tests below count every line.
    options.loop_stall_threshold = absl::ZeroDuration();
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE((server_->RegisterMethod<TextMessage, TextMessage>(
                     kTextService, "Echo",
                     [](ServerContext*, const TextMessage& req,
                        TextMessage* resp, RpcDone done) {
                       resp->set_text(req.text());
                       done(absl::OkStatus());
                     }))
                    .ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    address_ = InetAddress::Loopback(server_->port());
  }
  void TearDown() override {
    server_->Shutdown();
    server_->Wait();
    SetDefaultLogLimits(LogLimits());
  }

  // Sends `n` Echo requests whose `text` is invalid UTF-8 and checks that
  // each is answered INVALID_ARGUMENT.
  void SendBadRequests(RawClient& raw, int n, uint64_t first_id) {
    // 0x0a = field 1, length-delimited; "\xc3\x28" is not UTF-8.
    const std::string bad_text("\x0a\x02\xc3\x28", 4);
    constexpr int kBatch = 500;  // Read as we go: the answers must drain.
    for (int sent = 0; sent < n;) {
      const int batch = std::min(kBatch, n - sent);
      std::string frames;
      for (int i = 0; i < batch; ++i) {
        frames +=
            RequestFrame(first_id + sent + i, kTextService, "Echo", bad_text);
      }
      ASSERT_TRUE(raw.Write(frames).ok());
      for (int i = 0; i < batch; ++i) {
        absl::StatusOr<Frame> frame = ReadFrame(raw);
        ASSERT_TRUE(frame.ok()) << frame.status();
        ASSERT_EQ(frame->meta.status_code(), kInvalidArgument);
        ASSERT_TRUE(absl::StrContains(frame->meta.status_message(),
                                      "cannot parse the request"))
            << frame->meta.status_message();
      }
      sent += batch;
    }
  }

  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  InetAddress address_;
};

// (a) 20,000 requests whose proto3 string is invalid UTF-8: protobuf's
// "contains invalid UTF-8" error goes through the limiter with the peer
// attached, at most kPerPeer lines per window.
TEST_F(LogFloodTest, InvalidUtf8RequestsLogBoundedLines) {
  constexpr int kRequests = 20000;
  CountingSink sink("invalid UTF-8");
  CountingSink all("");
  absl::StatusOr<RawClient> raw = RawClient::Connect(address_);
  ASSERT_TRUE(raw.ok()) << raw.status();

  const absl::Time start = absl::Now();
  SendBadRequests(*raw, kRequests, 1);
  const absl::Duration elapsed = absl::Now() - start;
  const std::vector<std::string> flood_lines = sink.Texts();
  const int64_t bound = kPerPeer * WindowsSpanned(elapsed);
  LOG(INFO) << kRequests << " bad requests in " << elapsed << ": "
            << flood_lines.size() << " log lines (bound " << bound << ")";
  ASSERT_FALSE(flood_lines.empty());
  EXPECT_LE(static_cast<int64_t>(flood_lines.size()), bound);
  // And nothing else is logged for them (no per-request or per-connection
  // line besides the limited one).
  EXPECT_THAT(all.Texts(), ::testing::ElementsAreArray(flood_lines));
  // The line is protobuf's, via our handler: it names the peer.
  EXPECT_TRUE(absl::StrContains(flood_lines[0], "protobuf: String field"))
      << flood_lines[0];
  EXPECT_TRUE(absl::StrContains(flood_lines[0], "(peer 127.0.0.1:"))
      << flood_lines[0];

  // After the window, one more: its line reports what the flood left
  // unreported, so every bad request is accounted for.
  absl::SleepFor(kWindow + absl::Milliseconds(100));
  SendBadRequests(*raw, 1, kRequests + 1);
  const std::vector<std::string> lines = sink.Texts();
  ASSERT_EQ(lines.size(), flood_lines.size() + 1);
  EXPECT_GT(SuppressedCount(lines.back()), 0) << lines.back();
  int64_t reported = 0;
  for (const std::string& line : lines) reported += SuppressedCount(line);
  LOG(INFO) << "the lines report " << reported
            << " suppressed; last line: " << lines.back();
  EXPECT_EQ(static_cast<int64_t>(lines.size()) + reported, kRequests + 1);
}

// (b) One peer opening connection after connection, each starting with
// bytes that are neither mrpc's magic nor HTTP: each closed at once as an
// unknown protocol (docs/protocol.md, "One port"), bounded lines.
TEST_F(LogFloodTest, BadMagicConnectionsLogBoundedLines) {
  constexpr int kConnections = 2000;
  CountingSink sink("sent unknown first bytes");
  CountingSink all("");
  auto commit_error = [&] {
    absl::StatusOr<RawClient> raw = RawClient::Connect(address_);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_TRUE(raw->Write(std::string("JUNK\0\0\0\0\0\0\0\0", 12)).ok());
    // The server closes a connection of no protocol it speaks.
    ASSERT_TRUE(raw->WaitForClose().ok());
  };

  const absl::Time start = absl::Now();
  for (int i = 0; i < kConnections; ++i) {
    commit_error();
    if (HasFatalFailure()) return;
  }
  const absl::Duration elapsed = absl::Now() - start;
  const std::vector<std::string> flood_lines = sink.Texts();
  const int64_t bound = kPerPeer * WindowsSpanned(elapsed);
  LOG(INFO) << kConnections << " bad connections in " << elapsed << ": "
            << flood_lines.size() << " log lines (bound " << bound << ")";
  ASSERT_FALSE(flood_lines.empty());
  EXPECT_LE(static_cast<int64_t>(flood_lines.size()), bound);
  // And nothing else is logged for them (no per-request or per-connection
  // line besides the limited one).
  EXPECT_THAT(all.Texts(), ::testing::ElementsAreArray(flood_lines));

  absl::SleepFor(kWindow + absl::Milliseconds(100));
  commit_error();
  const std::vector<std::string> lines = sink.Texts();
  ASSERT_EQ(lines.size(), flood_lines.size() + 1);
  int64_t reported = 0;
  for (const std::string& line : lines) reported += SuppressedCount(line);
  LOG(INFO) << "the lines report " << reported
            << " suppressed; last line: " << lines.back();
  EXPECT_EQ(static_cast<int64_t>(lines.size()) + reported, kConnections + 1);
}

}  // namespace
}  // namespace mrpc
