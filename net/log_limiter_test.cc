#include "net/log_limiter.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "net/inet_address.h"
#include "net/sync.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

constexpr int64_t kSecond = 1000 * 1000 * 1000;

LogLimits Limits(int per_peer, int per_reason, absl::Duration window) {
  LogLimits limits;
  limits.per_peer = per_peer;
  limits.per_reason = per_reason;
  limits.window = window;
  return limits;
}

InetAddress Address(absl::string_view ip, uint16_t port) {
  absl::StatusOr<InetAddress> address = InetAddress::FromIpPort(ip, port);
  CHECK(address.ok()) << address.status();
  return *address;
}

// A limiter on a clock the test moves by hand.
class LogLimiterTest : public ::testing::Test {
 protected:
  int CountAllowed(LogLimiter& limiter, const LogPeer& peer, int lines) {
    int allowed = 0;
    for (int i = 0; i < lines; ++i) allowed += limiter.Admit(peer).allowed;
    return allowed;
  }
  std::atomic<int64_t> now_ns_{1000 * kSecond};
};

TEST_F(LogLimiterTest, PerPeerLimitPerWindow) {
  LogLimiter limiter("test", Limits(10, 100, absl::Seconds(10)),
                     [this] { return now_ns_.load(); });
  const InetAddress peer = Address("10.0.0.1", 5000);
  EXPECT_EQ(CountAllowed(limiter, peer, 25), 10);
  EXPECT_EQ(limiter.allowed_total(), 10);
  EXPECT_EQ(limiter.suppressed_total(), 15);
  // Still inside the window: nothing more.
  now_ns_ += 9 * kSecond;
  EXPECT_FALSE(limiter.Admit(peer).allowed);
  // The next window: the first line carries the count of the 16 dropped,
  // and how long ago the first of them was.
  now_ns_ += 1 * kSecond;
  LogLimiter::Admission admission = limiter.Admit(peer);
  EXPECT_TRUE(admission.allowed);
  EXPECT_EQ(admission.suppressed, 16);
  EXPECT_EQ(admission.suppressed_over_ns, 10 * kSecond);
  // Reported once only.
  admission = limiter.Admit(peer);
  EXPECT_TRUE(admission.allowed);
  EXPECT_EQ(admission.suppressed, 0);
  EXPECT_EQ(CountAllowed(limiter, peer, 20), 8);
}

TEST_F(LogLimiterTest, PortsOfOneHostAreOnePeer) {
  LogLimiter limiter("test", Limits(10, 100, absl::Seconds(10)),
                     [this] { return now_ns_.load(); });
  int allowed = 0;
  for (uint16_t port = 1000; port < 1100; ++port)
    allowed += limiter.Admit(Address("10.0.0.1", port)).allowed;
  EXPECT_EQ(allowed, 10);
  // Another host still has its own allowance, IPv6 included.
  EXPECT_EQ(CountAllowed(limiter, Address("10.0.0.2", 1), 20), 10);
  EXPECT_EQ(CountAllowed(limiter, Address("::1", 1), 20), 10);
  EXPECT_EQ(CountAllowed(limiter, Address("::2", 1), 20), 10);
  // Names (a channel's target) are peers too.
  EXPECT_EQ(CountAllowed(limiter, LogPeer("server-a:80"), 20), 10);
}

TEST_F(LogLimiterTest, PerReasonCapAcrossPeers) {
  LogLimiter limiter("test", Limits(10, 100, absl::Seconds(10)),
                     [this] { return now_ns_.load(); });
  // A flood from 100,000 distinct sources: 100 lines, then silence.
  int allowed = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::string ip =
        absl::StrCat("10.", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255);
    allowed += limiter.Admit(Address(ip, 1)).allowed;
  }
  EXPECT_EQ(allowed, 100);
  EXPECT_EQ(limiter.suppressed_total(), 100000 - 100);
  // Lines without a peer count against the reason only.
  EXPECT_FALSE(limiter.Admit(LogPeer()).allowed);
  now_ns_ += 10 * kSecond;
  EXPECT_EQ(CountAllowed(limiter, LogPeer(), 500), 100);
}

TEST_F(LogLimiterTest, PerPeerTableStaysBounded) {
  // The table holds only peers let through this window: at most per_reason
  // entries, however many sources flood, and it is cleared per window.
  LogLimiter limiter("test", Limits(1, 50, absl::Seconds(10)),
                     [this] { return now_ns_.load(); });
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20000; ++i) {
      limiter.Admit(LogPeer(absl::StrCat("peer-", round, "-", i)));
    }
    EXPECT_EQ(limiter.allowed_total(), 50 * (round + 1));
    now_ns_ += 10 * kSecond;
  }
  EXPECT_EQ(limiter.allowed_total() + limiter.suppressed_total(), 3 * 20000);
}

TEST_F(LogLimiterTest, WindowsStartAtTheFirstLine) {
  LogLimiter limiter("test", Limits(2, 100, absl::Seconds(10)),
                     [this] { return now_ns_.load(); });
  const LogPeer peer("p");
  EXPECT_EQ(CountAllowed(limiter, peer, 5), 2);
  now_ns_ += 25 * kSecond;  // A long quiet spell: one new window, from now.
  EXPECT_EQ(CountAllowed(limiter, peer, 5), 2);
  now_ns_ += 9 * kSecond;
  EXPECT_EQ(CountAllowed(limiter, peer, 5), 0);
  now_ns_ += 1 * kSecond;
  EXPECT_EQ(CountAllowed(limiter, peer, 5), 2);
}

TEST_F(LogLimiterTest, SuffixNamesTheCount) {
  std::ostringstream out;
  LogLimiter::Admission admission;
  admission.allowed = true;
  AppendSuppressedSuffix(admission, out);
  EXPECT_EQ(out.str(), "");
  admission.suppressed = 1234;
  admission.suppressed_over_ns = 9876 * 1000 * 1000LL;
  AppendSuppressedSuffix(admission, out);
  EXPECT_EQ(out.str(), " (1234 similar lines suppressed in the last 9876 ms)");
}

TEST_F(LogLimiterTest, ThreadSafeUnderContention) {
  LogLimiter limiter("test", Limits(10, 100, absl::Seconds(10)),
                     [this] { return now_ns_.load(); });
  constexpr int kThreads = 4;
  constexpr int kLines = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLines; ++i) {
        limiter.Admit(LogPeer(absl::StrCat("peer-", t, "-", i % 7)));
        if (t == 0 && i % 5000 == 4999) now_ns_ += 10 * kSecond;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(limiter.allowed_total() + limiter.suppressed_total(),
            kThreads * kLines);
  // Each window: 4 threads x 7 peers x 10 lines = 280 > 100, so the reason
  // cap binds; 4 windows (the clock moves 4 times, 5 windows at most).
  EXPECT_LE(limiter.allowed_total(), 5 * 100);
  EXPECT_GE(limiter.allowed_total(), 100);
}

TEST(ScopedLogPeerTest, Nests) {
  EXPECT_EQ(ScopedLogPeer::Current(), nullptr);
  {
    ScopedLogPeer outer(LogPeer("outer"));
    EXPECT_EQ(ScopedLogPeer::Current()->ToString(), "outer");
    {
      const InetAddress address = Address("10.1.2.3", 4);
      ScopedLogPeer inner{LogPeer(address)};
      EXPECT_EQ(ScopedLogPeer::Current()->ToString(), "10.1.2.3:4");
    }
    EXPECT_EQ(ScopedLogPeer::Current()->ToString(), "outer");
  }
  EXPECT_EQ(ScopedLogPeer::Current(), nullptr);
}

using CapturingSink = ::mrpc::testing::LogCapture;

TEST(PeerLogMacroTest, LimitsAndSkipsOperands) {
  SetDefaultLogLimits(Limits(3, 100, absl::Hours(1)));
  CapturingSink sink;
  const InetAddress peer = Address("10.9.9.9", 1);
  int evaluated = 0;
  auto count = [&evaluated] { return ++evaluated; };
  for (int i = 0; i < 50; ++i) {
    // Unbraced if/else: the macro is one statement.
    if (i >= 0)
      MRPC_PEER_LOG(WARNING, "log_limiter_test macro", peer)
          << "line " << count();
    else
      ADD_FAILURE();
  }
  EXPECT_EQ(evaluated, 3);
  std::vector<std::string> lines = sink.Texts();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "line 1");
  LogLimiter* limiter = LogLimiter::Get("log_limiter_test macro");
  EXPECT_EQ(limiter->allowed_total(), 3);
  EXPECT_EQ(limiter->suppressed_total(), 47);
  SetDefaultLogLimits(LogLimits());
}

TEST(PeerLogMacroTest, SuffixEndsTheLine) {
  CapturingSink sink;
  LogLimiter::Admission admission;
  admission.allowed = true;
  admission.suppressed = 7;
  admission.suppressed_over_ns = 1500 * 1000 * 1000LL;
  log_internal::PeerLogLine(__FILE__, __LINE__, google::GLOG_WARNING, admission)
          .stream()
      << "bad frame";
  std::vector<std::string> lines = sink.Texts();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0],
            "bad frame (7 similar lines suppressed in the last 1500 ms)");
}

TEST(PeerLogMacroTest, RegistryIsBounded) {
  LogLimiter* a = LogLimiter::Get("registry a");
  EXPECT_EQ(LogLimiter::Get("registry a"), a);
  for (size_t i = 0; i < LogLimiter::kMaxReasons + 10; ++i)
    LogLimiter::Get(absl::StrCat("registry-", i));
  LogLimiter* overflow = LogLimiter::Get("registry overflow");
  EXPECT_EQ(overflow->reason(), "other");
  EXPECT_EQ(LogLimiter::Get("registry overflow 2"), overflow);
  EXPECT_EQ(LogLimiter::Get("registry a"), a);
}

}  // namespace
}  // namespace mrpc
