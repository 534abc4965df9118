// The dns: resolver against a real DNS server (Debian's dnsmasq, run as a
// child on a loopback port and stopped by its PID), the system resolver,
// and a hostile DNS server played by the test on a loopback UDP socket.
#include "rpc/cluster/dns_resolver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/inet_address.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "rpc/cluster/dns_message.h"
#include "tests/dnsmasq_process.h"


namespace mrpc {
namespace {

using Backends = absl::StatusOr<std::vector<InetAddress>>;
using testing::Eventually;

std::string ToString(const Backends& b) {
  if (!b.ok()) return b.status().ToString();
  std::vector<std::string> parts;
  for (const InetAddress& a : *b) parts.push_back(a.ToString());
  return absl::StrCat("[", absl::StrJoin(parts, " "), "]");
}

// Collects what a resolver reports (on its loop) for the test thread.
class Recorder {
 public:
  ResolverListener Listener() {
    return [this](Backends b) {
      MutexLock lock(&mu_);
      results_.push_back(std::move(b));
      cv_.SignalAll();
    };
  }
  // Waits until some result (from index `from` on) satisfies `match`;
  // returns its index, or -1 after `limit`.
  int WaitFor(std::function<bool(const Backends&)> match, size_t from = 0,
              absl::Duration limit = absl::Seconds(8)) {
    const absl::Time deadline = absl::Now() + limit;
    MutexLock lock(&mu_);
    int found = -1;
    cv_.WaitUntil(&mu_, deadline, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      for (size_t i = from; i < results_.size(); ++i) {
        if (match(results_[i])) {
          found = static_cast<int>(i);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::vector<Backends> Results() {
    MutexLock lock(&mu_);
    return results_;
  }
  size_t size() {
    MutexLock lock(&mu_);
    return results_.size();
  }
  std::string Dump() {
    std::vector<std::string> lines;
    for (const Backends& b : Results()) lines.push_back(ToString(b));
    return absl::StrJoin(lines, "\n");
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<Backends> results_ ABSL_GUARDED_BY(mu_);
};

std::function<bool(const Backends&)> IsSet(const std::string& want) {
  return [want](const Backends& b) { return b.ok() && ToString(b) == want; };
}
std::function<bool(const Backends&)> IsError(absl::StatusCode code,
                                             absl::string_view text = "") {
  return [code, text = std::string(text)](const Backends& b) {
    return !b.ok() && b.status().code() == code &&
           absl::StrContains(b.status().message(), text);
  };
}

// A loop thread, and a resolver made, started, poked and destroyed on it.
class ResolverHarness {
 public:
  ResolverHarness() : thread_("dns-test") {
    loop_ = testing::StartOrDie(&thread_);
  }
  ~ResolverHarness() { Destroy(); }

  absl::Status Create(const std::string& target, DnsResolverOptions options) {
    absl::Status status;
    RunInLoopAndWait(loop_, [&] {
      absl::StatusOr<std::unique_ptr<Resolver>> r =
          NewDnsResolver(loop_, target, options);
      if (!r.ok()) {
        status = r.status();
        return;
      }
      resolver_ = *std::move(r);
      resolver_->Start(recorder_.Listener());
    });
    return status;
  }
  void Reresolve() {
    RunInLoopAndWait(loop_, [&] {
      if (resolver_ != nullptr) resolver_->Reresolve();
    });
  }
  void Destroy() {
    RunInLoopAndWait(loop_, [&] { resolver_.reset(); });
  }
  EventLoop* loop() { return loop_; }
  Recorder& recorder() { return recorder_; }

 private:
  EventLoopThread thread_;
  EventLoop* loop_;
  std::unique_ptr<Resolver> resolver_;
  Recorder recorder_;
};

DnsResolverOptions FastOptions() {
  DnsResolverOptions o;
  o.query_timeout = absl::Milliseconds(200);
  o.query_retries = 1;
  o.initial_backoff = absl::Milliseconds(50);
  o.max_backoff = absl::Milliseconds(200);
  o.min_reresolve_interval = absl::Milliseconds(20);
  return o;
}

// ---- Target syntax. ----

TEST(DnsTargetTest, Forms) {
  absl::StatusOr<DnsTarget> t = ParseDnsTarget("dns:///kv.internal:9001");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->authority.has_value());
  EXPECT_EQ(t->host, "kv.internal");
  EXPECT_EQ(t->port, 9001);
  EXPECT_FALSE(t->literal.has_value());

  t = ParseDnsTarget("dns:kv.internal:9001");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->authority.has_value());

  t = ParseDnsTarget("dns://127.0.0.1:5353/kv.internal:9001");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->authority->ToString(), "127.0.0.1:5353");

  t = ParseDnsTarget("dns://10.0.0.53/kv.internal:9001");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->authority->ToString(), "10.0.0.53:53");

  t = ParseDnsTarget("dns://[::1]/kv.internal:9001");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->authority->ToString(), "[::1]:53");

  t = ParseDnsTarget("dns:///[fd00::7]:80");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->literal->ToString(), "[fd00::7]:80");

  t = ParseDnsTarget("dns:///10.1.2.3:80");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->literal->ToString(), "10.1.2.3:80");
}

TEST(DnsTargetTest, BadTargetsSayWhy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kv.internal:9001", "does not start with 'dns:'"},
      {"dns:///kv.internal", "no port"},
      {"dns:///kv.internal:", "bad port"},
      {"dns:///kv.internal:0", "bad port"},
      {"dns:///kv.internal:65536", "bad port"},
      {"dns:///kv.internal:http", "bad port"},
      {"dns:///fd00::1:80", "brackets"},
      {"dns:///[fd00::1:80", "']'"},
      {"dns:///[fd00::1]", "no port"},
      {"dns:///[kv.internal]:80", "not an IPv6 address"},
      {"dns://127.0.0.1:53", "no '/'"},
      {"dns://ns.example/kv.internal:80", "not a numeric IP"},
      {"dns:///kv..internal:80", "empty label"},
      {"dns:///kv internal:80", "letters, digits"},
      {"dns:///:80", "empty"},
  };
  for (const auto& [target, why] : cases) {
    absl::StatusOr<DnsTarget> t = ParseDnsTarget(target);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_TRUE(absl::StrContains(t.status().message(), why))
        << target << ": " << t.status();
  }
}

TEST(DnsResolverTest, BadOptions) {
  ResolverHarness h;
  DnsResolverOptions o;
  o.query_timeout = absl::ZeroDuration();
  EXPECT_EQ(h.Create("dns:///kv.internal:80", o).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Create("dns:///kv.internal", {}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DnsResolverTest, LiteralIpResolvesToItself) {
  ResolverHarness h;
  ASSERT_TRUE(h.Create("dns:///[::1]:8080", FastOptions()).ok());
  EXPECT_EQ(h.recorder().WaitFor(IsSet("[[::1]:8080]")), 0);
  h.Reresolve();  // Nothing to look up: nothing new is reported.
  h.Destroy();
  EXPECT_EQ(h.recorder().size(), 1u);
}

// ---- The system resolver. ----

TEST(DnsResolverTest, SystemResolverLocalhost) {
  ResolverHarness h;
  ASSERT_TRUE(h.Create("dns:///localhost:4242", FastOptions()).ok());
  const int i = h.recorder().WaitFor([](const Backends& b) { return true; });
  ASSERT_EQ(i, 0);
  const Backends b = h.recorder().Results()[0];
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_FALSE(b->empty());
  for (const InetAddress& a : *b) {
    EXPECT_TRUE(a.Ip() == "::1" || absl::StartsWith(a.Ip(), "127."))
        << a.ToString();
    EXPECT_EQ(a.port(), 4242);
  }
}

TEST(DnsResolverTest, SystemResolverUnknownHostIsAnError) {
  ResolverHarness h;
  DnsResolverOptions o = FastOptions();
  o.system_lookup_timeout = absl::Seconds(3);  // Whatever resolv.conf says.
  ASSERT_TRUE(h.Create("dns:///no-such-host.invalid:80", o).ok());
  EXPECT_GE(h.recorder().WaitFor([](const Backends& b) { return !b.ok(); }), 0)
      << h.recorder().Dump();
}

TEST(DnsResolverTest, DestroyedResolverGetsNoSystemAnswer) {
  // The lookup thread is FIFO: once the second resolver has its answer,
  // the first one's answer was posted too, and dropped.
  ResolverHarness h;
  Recorder second;
  std::unique_ptr<Resolver> other;
  RunInLoopAndWait(h.loop(), [&] {
    absl::StatusOr<std::unique_ptr<Resolver>> first =
        NewDnsResolver(h.loop(), "dns:///localhost:1", FastOptions());
    ASSERT_TRUE(first.ok());
    (*first)->Start(h.recorder().Listener());
    absl::StatusOr<std::unique_ptr<Resolver>> r =
        NewDnsResolver(h.loop(), "dns:///localhost:2", FastOptions());
    ASSERT_TRUE(r.ok());
    other = *std::move(r);
    other->Start(second.Listener());
    // Let the first one's lookup start, then destroy it.
    h.loop()->QueueInLoop([first = std::shared_ptr<Resolver>(std::move(
                               *first))]() mutable { first.reset(); });
  });
  EXPECT_EQ(second.WaitFor([](const Backends& b) { return b.ok(); }), 0);
  RunInLoopAndWait(h.loop(), [&] { other.reset(); });
  EXPECT_EQ(h.recorder().size(), 0u) << h.recorder().Dump();
}

// ---- A real DNS server: dnsmasq. ----

using Dnsmasq = testing::DnsmasqProcess;

const char kHosts[] =
    "10.0.0.3 kv.internal\n10.0.0.1 kv.internal\n10.0.0.2 kv.internal\n"
    "fd00::1 kv.internal\n10.0.0.9 other.internal\n";
const char kAll[] =
    "[10.0.0.1:9001 10.0.0.2:9001 10.0.0.3:9001 [fd00::1]:9001]";

TEST(DnsmasqTest, ReportsEveryARecordAndAaaa) {
  Dnsmasq dnsmasq(kHosts);
  ResolverHarness h;
  ASSERT_TRUE(h.Create(dnsmasq.Target("kv.internal:9001"), FastOptions()).ok());
  EXPECT_EQ(h.recorder().WaitFor(IsSet(kAll)), 0) << h.recorder().Dump();
}

TEST(DnsmasqTest, HostsChangeSeenAfterReresolve) {
  Dnsmasq dnsmasq(kHosts);
  ResolverHarness h;
  DnsResolverOptions o = FastOptions();
  o.refresh_interval = absl::Hours(1);  // Only Reresolve() may find it.
  ASSERT_TRUE(h.Create(dnsmasq.Target("kv.internal:9001"), o).ok());
  ASSERT_EQ(h.recorder().WaitFor(IsSet(kAll)), 0) << h.recorder().Dump();

  dnsmasq.SetHosts("10.0.0.1 kv.internal\n10.0.0.4 kv.internal\n");
  // SIGHUP is handled asynchronously: ask until the new set shows.
  const std::string want = "[10.0.0.1:9001 10.0.0.4:9001]";
  ASSERT_TRUE(Eventually(
      [&] {
        h.Reresolve();
        return h.recorder().WaitFor(IsSet(want), 1, absl::Milliseconds(50)) > 0;
      },
      absl::Seconds(8)))
      << h.recorder().Dump() << "\n"
      << dnsmasq.Log();
  // Unchanged answers since are not reported again; nothing but the sets.
  for (const Backends& b : h.recorder().Results()) {
    EXPECT_TRUE(b.ok()) << b.status();
  }
}

TEST(DnsmasqTest, HostsChangeSeenAfterRefresh) {
  Dnsmasq dnsmasq(kHosts);
  ResolverHarness h;
  DnsResolverOptions o = FastOptions();
  o.refresh_interval = absl::Milliseconds(100);
  ASSERT_TRUE(h.Create(dnsmasq.Target("kv.internal:9001"), o).ok());
  ASSERT_EQ(h.recorder().WaitFor(IsSet(kAll)), 0) << h.recorder().Dump();
  dnsmasq.SetHosts("10.0.0.7 kv.internal\n");
  EXPECT_GT(h.recorder().WaitFor(IsSet("[10.0.0.7:9001]"), 1), 0)
      << h.recorder().Dump();
}

TEST(DnsmasqTest, UseTtlRefreshesAtTheTtl) {
  Dnsmasq dnsmasq(kHosts);  // Answers with TTL 1 s.
  ResolverHarness h;
  DnsResolverOptions o = FastOptions();
  o.refresh_interval = absl::Hours(1);
  o.use_ttl = true;
  o.min_refresh = absl::Milliseconds(100);
  ASSERT_TRUE(h.Create(dnsmasq.Target("kv.internal:9001"), o).ok());
  ASSERT_EQ(h.recorder().WaitFor(IsSet(kAll)), 0) << h.recorder().Dump();
  dnsmasq.SetHosts("10.0.0.8 kv.internal\n");
  EXPECT_GT(h.recorder().WaitFor(IsSet("[10.0.0.8:9001]"), 1), 0)
      << h.recorder().Dump();
}

TEST(DnsmasqTest, NameRemovedIsNotFoundNotAnEmptySet) {
  Dnsmasq dnsmasq(kHosts);
  ResolverHarness h;
  ASSERT_TRUE(h.Create(dnsmasq.Target("kv.internal:9001"), FastOptions()).ok());
  ASSERT_EQ(h.recorder().WaitFor(IsSet(kAll)), 0) << h.recorder().Dump();
  dnsmasq.SetHosts("10.0.0.9 other.internal\n");
  ASSERT_TRUE(Eventually(
      [&] {
        h.Reresolve();
        return h.recorder().WaitFor(IsError(absl::StatusCode::kNotFound), 1,
                                    absl::Milliseconds(50)) > 0;
      },
      absl::Seconds(8)))
      << h.recorder().Dump();
  for (const Backends& b : h.recorder().Results()) {
    EXPECT_TRUE(!b.ok() || !b->empty()) << "an empty set was reported";
  }
}

TEST(DnsmasqTest, ServerKilledGivesErrorsAndKeepsNoEmptySet) {
  auto dnsmasq = std::make_unique<Dnsmasq>(kHosts);
  ResolverHarness h;
  DnsResolverOptions o = FastOptions();
  o.refresh_interval = absl::Milliseconds(100);
  ASSERT_TRUE(h.Create(dnsmasq->Target("kv.internal:9001"), o).ok());
  ASSERT_EQ(h.recorder().WaitFor(IsSet(kAll)), 0) << h.recorder().Dump();
  dnsmasq->Stop();
  h.Reresolve();
  // Several failures (each retried with backoff), each reported as an error.
  ASSERT_TRUE(Eventually(
      [&] {
        int errors = 0;
        for (const Backends& b : h.recorder().Results()) errors += !b.ok();
        return errors >= 3;
      },
      absl::Seconds(8)))
      << h.recorder().Dump();
  const std::vector<Backends> results = h.recorder().Results();
  for (size_t i = 1; i < results.size(); ++i) {
    EXPECT_FALSE(results[i].ok()) << i << ": " << ToString(results[i]);
    EXPECT_EQ(results[i].status().code(), absl::StatusCode::kUnavailable)
        << results[i].status();
  }
}

// ---- A hostile DNS server. ----

// A UDP "DNS server" on loopback run by a thread of the test: for each
// query it receives, `respond` says what to send back, and from which
// socket (the server's, or another port's).
class FakeDnsServer {
 public:
  struct Reply {
    std::string bytes;
    bool from_other_port = false;
  };
  using Respond = std::function<std::vector<Reply>(const dns::Message& query,
                                                   const std::string& raw)>;

  explicit FakeDnsServer(Respond respond) : respond_(std::move(respond)) {
    fd_ = Bind();
    other_fd_ = Bind();
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len)
                ->port();
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    ::close(other_fd_);
  }
  std::string Target(const std::string& host_port) const {
    return absl::StrCat("dns://127.0.0.1:", port_, "/", host_port);
  }
  int queries() const { return queries_.load(); }
  // When each query arrived (MonotonicMillis).
  std::vector<int64_t> QueryTimes() {
    MutexLock lock(&mu_);
    return times_;
  }

 private:
  static int Bind() {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const InetAddress lo = InetAddress::Loopback(0);
    CHECK_EQ(::bind(fd, lo.sockaddr(), lo.sockaddr_length()), 0);
    return fd;
  }
  void Run() {
    char buf[2048];
    while (!stop_) {
      struct pollfd p = {fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      struct sockaddr_storage from;
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      {
        MutexLock lock(&mu_);
        times_.push_back(MonotonicMillis());
      }
      ++queries_;
      const std::string raw(buf, n);
      absl::StatusOr<dns::Message> query = dns::ParseMessage(raw);
      if (!query.ok()) continue;
      for (const Reply& r : respond_(*query, raw)) {
        ::sendto(r.from_other_port ? other_fd_ : fd_, r.bytes.data(),
                 r.bytes.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    }
  }

  const Respond respond_;
  int fd_ = -1;
  int other_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  Mutex mu_;
  std::vector<int64_t> times_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

void Put16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

// An answer to `raw`: its header and question, then `records` (each a
// type and RDATA, owned by the question's name via a pointer to it).
std::string MakeAnswer(
    const std::string& raw,
    const std::vector<std::pair<uint16_t, std::string>>& records,
    uint16_t flags = 0x8180) {
  std::string out = raw.substr(0, 2);
  Put16(flags, &out);
  Put16(1, &out);
  Put16(records.size(), &out);
  Put16(0, &out);
  Put16(0, &out);
  out += raw.substr(dns::kHeaderSize);
  for (const auto& [type, rdata] : records) {
    Put16(0xC00C, &out);
    Put16(type, &out);
    Put16(1, &out);
    out += std::string("\0\0\0\x3c", 4);
    Put16(rdata.size(), &out);
    out += rdata;
  }
  return out;
}

// The right records: A 10.0.0.1, AAAA fd00::1.
std::string GoodAnswer(const dns::Message& q, const std::string& raw) {
  if (q.questions[0].type == 1) {
    return MakeAnswer(raw, {{1, std::string("\x0a\0\0\x01", 4)}});
  }
  std::string v6(16, '\0');
  v6[0] = '\xfd';
  v6[15] = '\x01';
  return MakeAnswer(raw, {{28, v6}});
}
const char kGood[] = "[10.0.0.1:80 [fd00::1]:80]";

// Runs the resolver against `server` while a 10 ms timer on its loop
// measures the largest gap between ticks.
struct HostileRun {
  std::vector<Backends> results;
  absl::Duration max_tick_gap;
};

HostileRun RunAgainst(const FakeDnsServer& server,
                      std::function<bool(const Backends&)> until,
                      DnsResolverOptions options = FastOptions()) {
  ResolverHarness h;
  std::atomic<int64_t> max_gap_ms{0};
  auto last = std::make_shared<int64_t>(0);
  TimerId ticker;
  RunInLoopAndWait(h.loop(), [&] {
    *last = MonotonicMillis();
    ticker = h.loop()->RunEvery(absl::Milliseconds(10), [last, &max_gap_ms] {
      const int64_t now = MonotonicMillis();
      max_gap_ms = std::max<int64_t>(max_gap_ms, now - *last);
      *last = now;
    });
  });
  CHECK(h.Create(server.Target("kv.internal:80"), options).ok());
  h.recorder().WaitFor(until);
  h.Destroy();
  RunInLoopAndWait(h.loop(), [&] { h.loop()->Cancel(ticker); });
  return {h.recorder().Results(), absl::Milliseconds(max_gap_ms.load())};
}

std::string Dump(const std::vector<Backends>& results) {
  std::vector<std::string> lines;
  for (const Backends& b : results) lines.push_back(ToString(b));
  return absl::StrJoin(lines, "\n");
}

TEST(HostileDnsTest, GoodServerForReference) {
  FakeDnsServer server([](const dns::Message& q, const std::string& raw) {
    return std::vector<FakeDnsServer::Reply>{{GoodAnswer(q, raw)}};
  });
  HostileRun run = RunAgainst(server, IsSet(kGood));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(IsSet(kGood)(run.results[0])) << Dump(run.results);
}

TEST(HostileDnsTest, ReresolveIsRateLimited) {
  FakeDnsServer server([](const dns::Message& q, const std::string& raw) {
    return std::vector<FakeDnsServer::Reply>{{GoodAnswer(q, raw)}};
  });
  ResolverHarness h;
  DnsResolverOptions o = FastOptions();
  o.refresh_interval = absl::Hours(1);
  o.min_reresolve_interval = absl::Milliseconds(300);
  ASSERT_TRUE(h.Create(server.Target("kv.internal:80"), o).ok());
  ASSERT_EQ(h.recorder().WaitFor(IsSet(kGood)), 0) << h.recorder().Dump();
  for (int round = 1; round <= 2; ++round) {
    // A burst of hints, and more while waiting (a hint during a lookup is
    // dropped): one resolution (A + AAAA) per interval, not one per hint.
    for (int i = 0; i < 50; ++i) h.Reresolve();
    ASSERT_TRUE(Eventually(
        [&] {
          h.Reresolve();
          return server.queries() >= 2 + 2 * round;
        },
        absl::Seconds(5)));
  }
  h.Destroy();
  const std::vector<int64_t> t = server.QueryTimes();
  ASSERT_EQ(t.size(), 6u);  // Three resolutions for hundreds of hints.
  EXPECT_GE(t[2] - t[0], 290);
  EXPECT_GE(t[4] - t[2], 290);
  EXPECT_EQ(h.recorder().size(), 1u) << "unchanged sets are not reported";
}

TEST(HostileDnsTest, TruncatedAnswersAreErrors) {
  FakeDnsServer server([](const dns::Message& q, const std::string& raw) {
    const std::string good = GoodAnswer(q, raw);
    return std::vector<FakeDnsServer::Reply>{{good.substr(0, good.size() - 3)}};
  });
  HostileRun run =
      RunAgainst(server, IsError(absl::StatusCode::kUnavailable, "malformed"));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(
      IsError(absl::StatusCode::kUnavailable, "malformed")(run.results[0]))
      << Dump(run.results);
}

TEST(HostileDnsTest, TcBitIsAnErrorNamingTcp) {
  FakeDnsServer server([](const dns::Message& q, const std::string& raw) {
    return std::vector<FakeDnsServer::Reply>{{MakeAnswer(raw, {}, 0x8380)}};
  });
  HostileRun run =
      RunAgainst(server, IsError(absl::StatusCode::kUnavailable, "TCP"));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(IsError(absl::StatusCode::kUnavailable, "TCP")(run.results[0]))
      << Dump(run.results);
}

TEST(HostileDnsTest, WrongIdsOversizedAndOtherPortAreIgnored) {
  // Before each real answer: a wrong id, an oversized datagram with the
  // right id, and the right answer from another port. The resolver must
  // take none of them and still get the real answer.
  FakeDnsServer server([](const dns::Message& q, const std::string& raw) {
    const std::string good = GoodAnswer(q, raw);
    std::string wrong_id = good;
    wrong_id[1] = static_cast<char>(wrong_id[1] ^ 0x5a);
    std::string oversized =
        MakeAnswer(raw, {{1, std::string("\x0b\0\0\x01", 4)}});
    oversized.append(6000, '\0');
    std::string spoofed =
        MakeAnswer(raw, {{1, std::string("\x0c\0\0\x01", 4)}});
    return std::vector<FakeDnsServer::Reply>{
        {wrong_id}, {oversized}, {spoofed, /*from_other_port=*/true}, {good}};
  });
  HostileRun run = RunAgainst(server, IsSet(kGood));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(IsSet(kGood)(run.results[0])) << Dump(run.results);
}

TEST(HostileDnsTest, WrongRecordTypesAndPointerLoops) {
  // MX and TXT records for the name (nothing of the asked type): NODATA
  // for both queries, so NOT_FOUND.
  FakeDnsServer wrong_types([](const dns::Message& q, const std::string& raw) {
    return std::vector<FakeDnsServer::Reply>{{MakeAnswer(
        raw, {{15, std::string("\0\x0a\xc0\x0c", 4)}, {16, "\x03txt"}})}};
  });
  HostileRun run =
      RunAgainst(wrong_types, IsError(absl::StatusCode::kNotFound));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(IsError(absl::StatusCode::kNotFound)(run.results[0]))
      << Dump(run.results);

  // An A record where AAAA was asked (RDLENGTH 4): malformed.
  FakeDnsServer a_for_aaaa([](const dns::Message& q, const std::string& raw) {
    return std::vector<FakeDnsServer::Reply>{{MakeAnswer(
        raw, {{q.questions[0].type, std::string("\x0a\0\0\x01", 4)}})}};
  });
  run = RunAgainst(a_for_aaaa, IsError(absl::StatusCode::kUnavailable));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(
      IsError(absl::StatusCode::kUnavailable, "RDLENGTH")(run.results[0]))
      << Dump(run.results);

  // A record whose name is a pointer to itself.
  FakeDnsServer loop([](const dns::Message& q, const std::string& raw) {
    std::string out = MakeAnswer(raw, {{1, std::string("\x0a\0\0\x01", 4)}});
    const size_t at = raw.size();  // Where the record's name pointer is.
    out[at] = static_cast<char>(0xC0 | (at >> 8));
    out[at + 1] = static_cast<char>(at & 0xff);
    return std::vector<FakeDnsServer::Reply>{{out}};
  });
  run = RunAgainst(loop, IsError(absl::StatusCode::kUnavailable, "backwards"));
  ASSERT_FALSE(run.results.empty());
  EXPECT_TRUE(
      IsError(absl::StatusCode::kUnavailable, "backwards")(run.results[0]))
      << Dump(run.results);
}

TEST(HostileDnsTest, SilentServerTimesOut) {
  FakeDnsServer server([](const dns::Message&, const std::string&) {
    return std::vector<FakeDnsServer::Reply>{};
  });
  HostileRun run =
      RunAgainst(server, IsError(absl::StatusCode::kUnavailable, "no answer"));
  ASSERT_FALSE(run.results.empty()) << "no error within the limit";
  EXPECT_TRUE(
      IsError(absl::StatusCode::kUnavailable, "2 tries")(run.results[0]))
      << Dump(run.results);
  EXPECT_GE(server.queries(), 4);  // Two queries, each sent twice.
}

TEST(HostileDnsTest, FloodKeepsTheLoopResponsiveAndMemoryBounded) {
  // Each query gets 3000 answers with wrong ids, the real one among them
  // after the first 100: within what a socket buffer holds (about 270
  // datagrams) however slowly the loop reads (TSan), while the rest of the
  // flood still arrives behind it.
  FakeDnsServer server([](const dns::Message& q, const std::string& raw) {
    std::vector<FakeDnsServer::Reply> replies;
    const std::string good = GoodAnswer(q, raw);
    for (int i = 0; i < 3000; ++i) {
      if (i == 100) replies.push_back({good});
      std::string bad = good;
      bad[0] = static_cast<char>(bad[0] ^ (1 + i % 255));
      replies.push_back({bad});
    }
    return replies;
  });
  DnsResolverOptions o = FastOptions();
  o.query_timeout = absl::Seconds(1);
  o.refresh_interval = absl::Milliseconds(50);  // Keep the flood coming.
  std::vector<Backends> all;
  absl::Duration worst;
  const auto rss = [] {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (absl::StartsWith(line, "VmRSS:")) return std::atoll(line.c_str() + 6);
    }
    return 0LL;
  };
  long long first_rss = 0;
  for (int round = 0; round < 3; ++round) {
    HostileRun run = RunAgainst(server, IsSet(kGood), o);
    if (round == 0) first_rss = rss();
    all.insert(all.end(), run.results.begin(), run.results.end());
    worst = std::max(worst, run.max_tick_gap);
  }
  EXPECT_GE(server.queries(), 6);
  ASSERT_FALSE(all.empty());
  // The real answer was found through the flood (the kernel may drop some
  // of it for a full socket buffer; a dropped real answer is re-asked).
  EXPECT_TRUE(IsSet(kGood)(all.back())) << Dump(all);
  // A 10 ms timer never waited long: datagrams are read 64 per wake-up.
  EXPECT_LT(worst, absl::Milliseconds(250));
  // Nothing is buffered per datagram: memory does not grow with floods.
  EXPECT_LT(rss() - first_rss, 16 * 1024) << "kB";
}

}  // namespace
}  // namespace mrpc
