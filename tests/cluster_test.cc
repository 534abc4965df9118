// A channel over several servers (list:// targets), from outside: real
// servers on loopback, real connections. How calls spread under each load
// balancing policy, what a slow, failing, refusing or dead server does to
// the callers, retries within the budget, and backup requests.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/dnsmasq_process.h"
#include "tests/test_service.h"
#include "tests/wire.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;

constexpr char kService[] = "mrpc.test.Cluster";

// One server: "Who" answers its own address, after `delay_ms`, or fails with
// `fail_code` when set. "Hang" answers only when cancelled.
class Backend {
 public:
  explicit Backend(const std::string& listen = "127.0.0.1:0") {
    absl::Status who = server_.RegisterMethod<EchoRequest, EchoResponse>(
        kService, "Who",
        [this](ServerContext* ctx, const EchoRequest&, EchoResponse* resp,
               RpcDone done) {
          ++calls;
          const int code = fail_code.load();
          if (code != 0) {
            done(absl::Status(static_cast<absl::StatusCode>(code),
                              "told to fail"));
            return;
          }
          resp->set_payload(address());
          const int delay = delay_ms.load();
          if (delay == 0) {
            done(absl::OkStatus());
            return;
          }
          ctx->loop()->RunAfter(
              absl::Milliseconds(delay),
              [done = std::move(done)]() mutable { done(absl::OkStatus()); });
        });
    CHECK(who.ok());
    absl::Status hang_method =
        server_.RegisterMethod<EchoRequest, EchoResponse>(
            kService, "Hang",
            [this](ServerContext* ctx, const EchoRequest&, EchoResponse* resp,
                   RpcDone done) {
              ++calls;
              resp->set_payload(address());
              if (!hang.load()) {
                done(absl::OkStatus());
                return;
              }
              auto pending = std::make_shared<RpcDone>(std::move(done));
              ctx->NotifyOnCancel([this, pending] {
                ++cancelled;
                (*pending)(absl::CancelledError("cancelled"));
              });
            });
    CHECK(hang_method.ok());
    CHECK(server_.Start(listen).ok());
  }
  ~Backend() { Stop(); }

  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    server_.Shutdown();
    server_.Wait();
  }
  int port() const { return server_.port(); }
  std::string address() const { return server_.listen_address().ToString(); }

  std::atomic<int> calls{0};
  std::atomic<int> delay_ms{0};
  std::atomic<int> fail_code{0};
  std::atomic<bool> hang{false};
  std::atomic<int> cancelled{0};

 private:
  Server server_;
  bool stopped_ = false;
};

std::string ListTarget(const std::vector<Backend*>& backends) {
  std::vector<std::string> addresses;
  for (Backend* b : backends) addresses.push_back(b->address());
  return absl::StrCat("list://", absl::StrJoin(addresses, ","));
}

// A port nobody listens on.
std::string ClosedAddress() {
  return absl::StrCat("127.0.0.1:", testing::PickUnusedPort());
}

struct Outcome {
  std::map<std::string, int> by_port;  // OK calls per answering port.
  std::map<absl::StatusCode, int> by_code;
  int failed = 0;
};

// `calls` calls of `method`, `concurrency` at a time; each call's key (for
// consistent hashing) is `key(i)` if given.
Outcome Drive(Channel* channel, const std::string& method, int calls,
              int concurrency, bool idempotent = false,
              std::function<std::string(int)> key = nullptr,
              absl::Duration timeout = absl::Seconds(5)) {
  Outcome out;
  Mutex mu;
  std::atomic<int> next{0};
  CountDownLatch finished(calls);
  const MethodName name{kService, method, idempotent};
  struct Call {
    EchoRequest request;
    EchoResponse response;
    ClientContext context;
  };
  std::function<void()> start = [&] {
    const int i = next.fetch_add(1);
    if (i >= calls) return;
    auto call = std::make_shared<Call>();
    call->context.set_timeout(timeout);
    if (key) call->context.set_hash_key(key(i));
    channel->CallMethod(name, call->request, &call->response, &call->context,
                        [&, call](absl::Status status) {
                          {
                            MutexLock lock(&mu);
                            ++out.by_code[status.code()];
                            if (status.ok()) {
                              ++out.by_port[call->response.payload()];
                            } else {
                              ++out.failed;
                            }
                          }
                          start();  // Before the count: Drive() may return.
                          finished.CountDown();
                        });
  };
  for (int c = 0; c < concurrency; ++c) start();
  CHECK(finished.WaitWithTimeout(absl::Seconds(60)));
  return out;
}

std::unique_ptr<Channel> MakeChannel(const std::string& target,
                                     ChannelOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(target, std::move(options));
  CHECK(channel.ok()) << channel.status();
  return *std::move(channel);
}

// Waits (bounded) until the channel has a connection to every server.
void WaitAllReady(Channel* channel, size_t n) {
  ASSERT_TRUE(testing::Eventually(
      [&] {
        std::vector<BackendStats> backends = channel->backends();
        size_t ready = 0;
        for (const BackendStats& b : backends) ready += b.state == "ready";
        return backends.size() == n && ready == n;
      },
      absl::Seconds(10)))
      << "the channel's servers never all became ready";
}

// The wire promise behind transparent retries (docs/protocol.md, Metadata):
// a refusal before the method ran carries "mrpc-refused: 1"; a method's own
// failure does not.
bool Refused(const testing::Frame& frame) {
  for (const MetadataEntry& entry : frame.meta.metadata()) {
    if (entry.key() == kRefusedKey && entry.value() == "1") return true;
  }
  return false;
}

TEST(ClusterTest, RefusalsAreMarkedOnTheWire) {
  ServerOptions options;
  options.max_calls_per_connection = 1;
  options.shutdown_grace = absl::Seconds(5);
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  absl::StatusOr<testing::RawClient> raw =
      testing::RawClient::Connect(InetAddress::Loopback(server.port()));
  ASSERT_TRUE(raw.ok()) << raw.status();
  using testing::EchoPayload;
  using testing::ReadFrame;
  using testing::RequestFrame;
  // A method's own UNAVAILABLE: not marked.
  ASSERT_TRUE(raw->Write(RequestFrame(1, testing::kTestService, "Fail",
                                      EchoPayload("14:mine")))
                  .ok());
  absl::StatusOr<testing::Frame> frame = ReadFrame(*raw);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->meta.status_code(), 14);
  EXPECT_FALSE(Refused(*frame));
  // Past the connection's call cap: refused, marked.
  ASSERT_TRUE(raw->Write(RequestFrame(3, testing::kTestService, "WaitCancel",
                                      EchoPayload("")))
                  .ok());
  ASSERT_TRUE(raw->Write(RequestFrame(5, testing::kTestService, "Echo",
                                      EchoPayload("x")))
                  .ok());
  frame = ReadFrame(*raw);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->meta.correlation_id(), 5u);
  EXPECT_EQ(frame->meta.status_code(), 8);  // RESOURCE_EXHAUSTED
  EXPECT_TRUE(Refused(*frame));
  // Shutting down (call 3 still in flight): refused, marked.
  server.Shutdown();
  ASSERT_TRUE(raw->Write(RequestFrame(7, testing::kTestService, "Echo",
                                      EchoPayload("x")))
                  .ok());
  frame = ReadFrame(*raw);
  ASSERT_TRUE(frame.ok()) << frame.status();
  EXPECT_EQ(frame->meta.correlation_id(), 7u);
  EXPECT_EQ(frame->meta.status_code(), 14);  // UNAVAILABLE
  EXPECT_TRUE(Refused(*frame));
  ASSERT_TRUE(raw->Write(testing::ControlFrame(CANCEL, 3)).ok());
  server.Wait();
}

TEST(ClusterTest, BadTargetsAndOptionsAreRefusedAtCreate) {
  for (const char* target :
       {"list://", "list://127.0.0.1:1,", "list://nonsense", "zk://x/y"}) {
    absl::StatusOr<std::unique_ptr<Channel>> channel = Channel::Create(target);
    EXPECT_FALSE(channel.ok()) << target;
  }
  ChannelOptions options;
  options.cluster.lb_policy = "fastest";
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create("127.0.0.1:1", options);
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(channel.status().message().find("fastest"), std::string::npos);
}

TEST(ClusterTest, DnsTargetThroughTheSystemResolver) {
  // localhost may name ::1 too, where nothing listens: the channel still
  // reaches the server on 127.0.0.1, and no call fails for the other.
  Backend backend;
  std::unique_ptr<Channel> channel =
      MakeChannel(absl::StrCat("dns:///localhost:", backend.port()));
  Outcome out = Drive(channel.get(), "Who", 200, 4);
  EXPECT_EQ(out.failed, 0);
  EXPECT_EQ(out.by_port[backend.address()], 200);
  bool found = false;
  for (const BackendStats& b : channel->backends()) {
    found = found || b.address == backend.address();
  }
  EXPECT_TRUE(found);
  EXPECT_GE(channel->stats().resolver_updates, 1u);
  // A malformed dns: target fails at Create, saying why.
  absl::StatusOr<std::unique_ptr<Channel>> bad =
      Channel::Create("dns:///no-port-here");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument)
      << bad.status();
}

TEST(ClusterTest, DnsTargetFollowsItsRecordsWhenAServerFails) {
  // A name on a real DNS server (dnsmasq) points at one server; it moves
  // to another (same port, another loopback address), and the first one
  // stops: the failure makes the channel resolve again, and calls go to
  // the new address.
  Backend first("127.0.0.2:0");
  Backend second(absl::StrCat("127.0.0.3:", first.port()));
  testing::DnsmasqProcess dns("127.0.0.2 kv.internal\n");
  std::unique_ptr<Channel> channel =
      MakeChannel(dns.Target(absl::StrCat("kv.internal:", first.port())));
  Outcome before = Drive(channel.get(), "Who", 100, 4);
  EXPECT_EQ(before.failed, 0);
  EXPECT_EQ(before.by_port[first.address()], 100);
  dns.SetHosts("127.0.0.3 kv.internal\n");
  first.Stop();
  const absl::Time stopped = absl::Now();
  const bool moved = testing::Eventually(
      [&] {
        Outcome o = Drive(channel.get(), "Who", 10, 1);
        return o.by_port[second.address()] == 10;
      },
      absl::Seconds(10));
  ASSERT_TRUE(moved) << dns.Log();
  const absl::Duration took = absl::Now() - stopped;
  EXPECT_LT(took, absl::Seconds(5)) << took;
  std::map<std::string, std::string> states;
  for (const BackendStats& b : channel->backends()) states[b.address] = b.state;
  EXPECT_EQ(states[second.address()], "ready");
  EXPECT_EQ(states[first.address()], "removed");
  EXPECT_GE(channel->stats().resolver_updates, 2u);
}

TEST(ClusterTest, RoundRobinSpreadsCallsEvenly) {
  Backend a, b, c;
  std::unique_ptr<Channel> channel = MakeChannel(ListTarget({&a, &b, &c}));
  WaitAllReady(channel.get(), 3);
  const int kCalls = 3000;
  Outcome out = Drive(channel.get(), "Who", kCalls, 8);
  EXPECT_EQ(out.failed, 0);
  ASSERT_EQ(out.by_port.size(), 3u);
  for (const auto& [port, n] : out.by_port) {
    // Within 5% of an even share.
    EXPECT_NEAR(n, kCalls / 3, kCalls / 3 * 5 / 100) << port;
  }
  EXPECT_EQ(channel->stats().attempts, static_cast<uint64_t>(kCalls));
}

TEST(ClusterTest, P2cStarvesAServerFiveMillisecondsSlower) {
  Backend a, b, slow;
  slow.delay_ms = 5;
  ChannelOptions options;
  options.cluster.lb_policy = "p2c";
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&a, &b, &slow}), options);
  WaitAllReady(channel.get(), 3);
  const int kCalls = 3000;
  Outcome out = Drive(channel.get(), "Who", kCalls, 8);
  EXPECT_EQ(out.failed, 0);
  const int slow_share = out.by_port[slow.address()];
  // An even share is a third; losing at least 80% of it leaves under 6.7%.
  EXPECT_LT(slow_share, kCalls / 3 * 20 / 100)
      << "slow server got " << slow_share << " of " << kCalls;
  EXPECT_GT(out.by_port[a.address()], kCalls / 3);
  EXPECT_GT(out.by_port[b.address()], kCalls / 3);
}

TEST(ClusterTest, ConsistentHashKeepsKeysOnTheirServer) {
  Backend a, b, c;
  ChannelOptions options;
  options.cluster.lb_policy = "consistent_hash";
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&a, &b, &c}), options);
  WaitAllReady(channel.get(), 3);
  // Each of 300 keys, called 3 times (in any order), always lands on one
  // server; the keys spread over all three.
  const int kKeys = 300;
  std::vector<std::string> first(kKeys);
  Mutex mu;
  bool stable = true;
  for (int round = 0; round < 3; ++round) {
    for (int k = 0; k < kKeys; ++k) {
      EchoRequest request;
      EchoResponse response;
      ClientContext context;
      context.set_timeout(absl::Seconds(5));
      context.set_hash_key(absl::StrCat("user-", k));
      ASSERT_TRUE(channel
                      ->CallMethodBlocking(MethodName{kService, "Who"}, request,
                                           &response, &context)
                      .ok());
      if (round == 0) {
        first[k] = response.payload();
      } else if (first[k] != response.payload()) {
        stable = false;
      }
    }
  }
  EXPECT_TRUE(stable);
  std::map<std::string, int> spread;
  for (const std::string& port : first) ++spread[port];
  EXPECT_EQ(spread.size(), 3u);
  for (const auto& [port, n] : spread) EXPECT_GT(n, kKeys / 3 / 2) << port;
}

TEST(ClusterTest, ConnectingOrDeadServersGetNoCallsWhileOneIsUp) {
  Backend live;
  std::unique_ptr<Channel> channel = MakeChannel(absl::StrCat(
      "list://", ClosedAddress(), ",", live.address(), ",", ClosedAddress()));
  const int kCalls = 500;
  Outcome out = Drive(channel.get(), "Who", kCalls, 4);
  EXPECT_EQ(out.failed, 0);
  EXPECT_EQ(out.by_port[live.address()], kCalls);
}

TEST(ClusterTest, AllServersDownFailsFastWithUnavailable) {
  std::unique_ptr<Channel> channel = MakeChannel(absl::StrCat(
      "list://", ClosedAddress(), ",", ClosedAddress(), ",", ClosedAddress()));
  // Once the first attempts have failed, every call fails at once.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (channel->stats().connects == 0 && absl::Now() < deadline) {
    EchoRequest request;
    EchoResponse response;
    ClientContext context;
    absl::Status status = channel->CallMethodBlocking(
        MethodName{kService, "Who"}, request, &response, &context);
    ASSERT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    if (absl::StrContains(status.message(), "cannot reach any of the 3")) break;
  }
  const absl::Time start = absl::Now();
  Outcome out = Drive(channel.get(), "Who", 1000, 8, /*idempotent=*/true);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(out.by_code[absl::StatusCode::kUnavailable], 1000);
  EXPECT_LT(took, absl::Seconds(2)) << "1000 failing calls took " << took;
  EXPECT_EQ(channel->stats().attempts, 0u);  // None was written anywhere.
}

TEST(ClusterTest, RetriesOfAFailingFleetStayWithinTheBudget) {
  // Every server answers UNAVAILABLE: an idempotent call would be retried
  // on each, but the budget allows about 10% extra attempts.
  Backend a, b, c;
  for (Backend* backend : {&a, &b, &c}) backend->fail_code = 14;
  ChannelOptions options;
  options.cluster.outlier.consecutive_failures = 0;  // Keep them all in.
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&a, &b, &c}), options);
  WaitAllReady(channel.get(), 3);
  const int kCalls = 2000;
  Outcome out = Drive(channel.get(), "Who", kCalls, 8, /*idempotent=*/true);
  EXPECT_EQ(out.by_code[absl::StatusCode::kUnavailable], kCalls);
  const ChannelStats stats = channel->stats();
  const uint64_t served = a.calls + b.calls + c.calls;
  EXPECT_EQ(stats.attempts, served);
  // 1 + ratio per call, plus the initial burst of 10.
  EXPECT_LE(served, kCalls * 11 / 10 + 10) << "attempts " << served;
  EXPECT_GT(stats.retries, 0u);
  EXPECT_GT(stats.retries_throttled, 0u);
}

TEST(ClusterTest, IdempotentCallsAreRetriedOnAnotherServer) {
  Backend good, bad;
  bad.fail_code = 14;
  ChannelOptions options;
  options.cluster.outlier.consecutive_failures = 0;
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&good, &bad}), options);
  WaitAllReady(channel.get(), 2);
  // 100 calls: about half go to `bad` first. The burst (10) covers the
  // first retries; the rest earn 0.1 a call. Idempotent calls that were
  // retried succeed on `good`.
  Outcome idempotent = Drive(channel.get(), "Who", 100, 1, /*idempotent=*/true);
  EXPECT_GT(channel->stats().retries, 0u);
  EXPECT_EQ(idempotent.by_code[absl::StatusCode::kOk] +
                idempotent.by_code[absl::StatusCode::kUnavailable],
            100);
  EXPECT_GE(idempotent.by_code[absl::StatusCode::kOk], 50 + 10);
  // Not idempotent: never sent twice.
  const uint64_t retries = channel->stats().retries;
  Outcome plain = Drive(channel.get(), "Who", 100, 1, /*idempotent=*/false);
  EXPECT_EQ(channel->stats().retries, retries);
  EXPECT_GT(plain.by_code[absl::StatusCode::kUnavailable], 0);
}

TEST(ClusterTest, AFailingServerIsEjectedAndComesBack) {
  Backend good, bad;
  bad.fail_code = 14;
  ChannelOptions options;
  options.cluster.outlier.consecutive_failures = 3;
  options.cluster.outlier.base_ejection_time = absl::Milliseconds(300);
  options.cluster.retry.max_attempts = 1;  // See every failure.
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&good, &bad}), options);
  WaitAllReady(channel.get(), 2);
  Outcome out = Drive(channel.get(), "Who", 200, 1);
  // Round robin: bad gets every other call until its third failure.
  EXPECT_EQ(out.failed, 3);
  EXPECT_EQ(channel->stats().ejections, 1u);
  std::vector<BackendStats> backends = channel->backends();
  ASSERT_EQ(backends.size(), 2u);
  for (const BackendStats& b : backends) {
    EXPECT_EQ(b.ejected, b.address == bad.address()) << b.address;
  }
  // Healed and back in rotation after its ejection time: calls reach it.
  bad.fail_code = 0;
  const int before = bad.calls;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (bad.calls == before && absl::Now() < deadline) {
    Outcome more = Drive(channel.get(), "Who", 10, 1);
    EXPECT_EQ(more.failed, 0);
  }
  EXPECT_GT(bad.calls, before);
}

TEST(ClusterTest, AServerShuttingDownLosesNoIdempotentCalls) {
  // Its refusals say the method never ran, and a lost connection is
  // retried for idempotent calls: each is sent again to the other server.
  auto leaving = std::make_unique<Backend>();
  Backend staying;
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({leaving.get(), &staying}));
  WaitAllReady(channel.get(), 2);
  std::atomic<bool> stop{false};
  Outcome out;
  std::thread load([&] {
    while (!stop.load()) {
      Outcome o = Drive(channel.get(), "Who", 200, 8, /*idempotent=*/true);
      out.failed += o.failed;
      for (auto& [code, n] : o.by_code) out.by_code[code] += n;
    }
  });
  EXPECT_TRUE(testing::Eventually([&] { return leaving->calls >= 200; }));
  leaving->Stop();
  const int after = staying.calls;
  EXPECT_TRUE(
      testing::Eventually([&] { return staying.calls >= after + 1000; }));
  stop = true;
  load.join();
  EXPECT_EQ(out.failed, 0) << "codes: UNAVAILABLE "
                           << out.by_code[absl::StatusCode::kUnavailable];
}

TEST(ClusterTest, BackupRequestAnswersAroundAHungServer) {
  Backend hung, fine;
  hung.hang = true;
  ChannelOptions options;
  options.cluster.retry.backup_request_delay = absl::Milliseconds(20);
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&hung, &fine}), options);
  WaitAllReady(channel.get(), 2);
  for (int i = 0; i < 10; ++i) {
    EchoRequest request;
    EchoResponse response;
    ClientContext context;
    context.set_timeout(absl::Seconds(5));
    const absl::Time start = absl::Now();
    absl::Status status = channel->CallMethodBlocking(
        MethodName{kService, "Hang", /*idempotent=*/true}, request, &response,
        &context);
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(response.payload(), fine.address());
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  }
  EXPECT_GE(channel->stats().backup_requests, 4u);  // Round robin: half.
  // The loser was cancelled on the hung server.
  EXPECT_TRUE(testing::Eventually([&] { return hung.cancelled >= hung.calls; },
                                  absl::Seconds(5)));
  EXPECT_EQ(hung.cancelled.load(), hung.calls.load());
  // Not idempotent: no backup, so the call waits for the hung server.
  EchoRequest request;
  EchoResponse response;
  ClientContext context;
  context.set_hash_key("x");
  const uint64_t backups = channel->stats().backup_requests;
  int timed_out = 0;
  for (int i = 0; i < 2; ++i) {
    ClientContext ctx;
    ctx.set_timeout(absl::Milliseconds(100));
    absl::Status status = channel->CallMethodBlocking(
        MethodName{kService, "Hang"}, request, &response, &ctx);
    timed_out += status.code() == absl::StatusCode::kDeadlineExceeded;
  }
  EXPECT_EQ(timed_out, 1);  // One of the two went to the hung server.
  EXPECT_EQ(channel->stats().backup_requests, backups);
}

TEST(ClusterTest, AllAttemptsShareTheCallsDeadline) {
  // Every server hangs: the first attempt, then a backup request, both
  // wait; the call ends at its one deadline (not one per attempt) and both
  // attempts are cancelled on their servers.
  Backend a, b, c;
  for (Backend* backend : {&a, &b, &c}) backend->hang = true;
  ChannelOptions options;
  options.cluster.retry.backup_request_delay = absl::Milliseconds(20);
  std::unique_ptr<Channel> channel =
      MakeChannel(ListTarget({&a, &b, &c}), options);
  WaitAllReady(channel.get(), 3);
  EchoRequest request;
  EchoResponse response;
  ClientContext context;
  context.set_timeout(absl::Milliseconds(150));
  const absl::Time start = absl::Now();
  absl::Status status = channel->CallMethodBlocking(
      MethodName{kService, "Hang", /*idempotent=*/true}, request, &response,
      &context);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(took, absl::Milliseconds(140));
  EXPECT_LT(took, absl::Milliseconds(400)) << took;
  EXPECT_EQ(channel->stats().backup_requests, 1u);
  EXPECT_EQ(a.calls + b.calls + c.calls, 2);
  EXPECT_TRUE(testing::Eventually(
      [&] { return a.cancelled + b.cancelled + c.cancelled >= 2; },
      absl::Seconds(5)));
  EXPECT_EQ(a.cancelled + b.cancelled + c.cancelled, 2);
}

TEST(ClusterTest, ACallStartedByACallbackWhileTheChannelIsDestroyedCompletes) {
  // Destroying the channel completes its calls with CANCELLED; a callback
  // that reacts by starting another call (a retry wrapper would) gets that
  // call completed too, before the destructor returns, exactly once.
  // On a loop it does not own: nothing runs on that loop for the channel
  // after its destructor returns, so nothing left queued could finish it.
  Backend hung;
  hung.hang = true;
  EventLoopThread loop_thread("shared-loop");
  absl::StatusOr<EventLoop*> loop = loop_thread.Start();
  ASSERT_TRUE(loop.ok());
  ChannelOptions options;
  options.loop = *loop;
  std::unique_ptr<Channel> channel = MakeChannel(hung.address(), options);
  Channel* raw = channel.get();
  EchoRequest request;
  EchoResponse first_response, second_response;
  std::atomic<int> first{0}, second{0};
  absl::Status first_status, second_status;
  raw->CallMethod(MethodName{kService, "Hang"}, request, &first_response,
                  nullptr, [&](absl::Status status) {
                    first_status = status;
                    ++first;
                    raw->CallMethod(MethodName{kService, "Who"}, request,
                                    &second_response, nullptr,
                                    [&](absl::Status status) {
                                      second_status = status;
                                      ++second;
                                    });
                  });
  ASSERT_TRUE(
      testing::Eventually([&] { return hung.calls > 0; }, absl::Seconds(5)));
  ASSERT_EQ(hung.calls, 1);
  channel.reset();
  // Anything the channel left queued on the loop runs now, or never.
  RunInLoopAndWait(*loop, [] {});
  EXPECT_EQ(first.load(), 1);
  EXPECT_EQ(first_status.code(), absl::StatusCode::kCancelled) << first_status;
  EXPECT_EQ(second.load(), 1);
  EXPECT_EQ(second_status.code(), absl::StatusCode::kCancelled)
      << second_status;
}

}  // namespace
}  // namespace mrpc
