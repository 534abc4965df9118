#include "rpc/protobuf_log.h"

#include <glog/logging.h>
#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "net/log_limiter.h"
#include "net/sync.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

using Line = ::mrpc::testing::LogCapture::Line;
using CapturingSink = ::mrpc::testing::LogCapture;

class ProtobufLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogLimits limits;
    limits.window = absl::Hours(1);  // One window for the whole test.
    SetDefaultLogLimits(limits);
    InstallProtobufLogHandler();
    InstallProtobufLogHandler();  // Idempotent.
  }
  void TearDown() override { SetDefaultLogLimits(LogLimits()); }
};

TEST_F(ProtobufLogTest, LevelsMapToGlog) {
  CapturingSink sink;
  GOOGLE_LOG(INFO) << "pb info";
  GOOGLE_LOG(WARNING) << "pb warning";
  GOOGLE_LOG(ERROR) << "pb error";
  std::vector<Line> lines = sink.Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].severity, google::GLOG_INFO);
  EXPECT_EQ(lines[0].text, "protobuf: pb info");
  EXPECT_EQ(lines[1].severity, google::GLOG_WARNING);
  EXPECT_EQ(lines[2].severity, google::GLOG_ERROR);
}

TEST_F(ProtobufLogTest, LimitedPerStatementAndPeer) {
  CapturingSink sink;
  // No peer: the per-reason cap (100) only.
  for (int i = 0; i < 150; ++i) GOOGLE_LOG(ERROR) << "no peer " << i;
  // With a peer set, as ServerCall sets it around the parse: 10.
  {
    ScopedLogPeer peer(LogPeer("10.0.0.7:99"));
    for (int i = 0; i < 50; ++i) GOOGLE_LOG(ERROR) << "from a peer " << i;
  }
  int no_peer = 0, from_peer = 0;
  for (const Line& line : sink.Lines()) {
    no_peer += absl::StrContains(line.text, "no peer");
    if (absl::StrContains(line.text, "from a peer")) {
      ++from_peer;
      EXPECT_TRUE(absl::EndsWith(line.text, "(peer 10.0.0.7:99)")) << line.text;
    }
  }
  EXPECT_EQ(no_peer, 100);
  EXPECT_EQ(from_peer, 10);
}

}  // namespace
}  // namespace mrpc
