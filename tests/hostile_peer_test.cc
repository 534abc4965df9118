// Hostile and unlucky peers against the server's memory: each case is an
// attack from issue 11, played on raw sockets speaking the documented
// bytes, and each asserts the bound docs/reliability.md promises: the
// memory budget's own count (what the server holds for its peers), the
// process's peak RSS, and a bystander's calls served throughout.
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/channel.h"
#include "rpc/codec.h"
#include "rpc/server.h"
#include "tests/server_process.h"
#include "tests/test_service.h"
#include "tests/wire.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::ControlFrame;
using ::mrpc::testing::EchoPayload;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;
using ::mrpc::testing::RequestFrame;

constexpr int64_t kMiB = 1 << 20;

// Sanitizers multiply RSS (shadow memory) and time: the budget's own count
// is still asserted exactly; RSS and time bounds only in plain builds.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// A field of /proc/self/status in bytes (VmRSS, VmHWM), or -1.
int64_t StatusBytes(absl::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, field)) continue;
    absl::string_view rest = absl::string_view(line).substr(field.size() + 1);
    rest = absl::StripAsciiWhitespace(rest);
    int64_t kb = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &kb)) return kb * 1024;
  }
  return -1;
}

// Resets the peak RSS (VmHWM) to the current RSS.
void ResetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

class HostilePeerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options) {
    fds_before_ = ::mrpc::testing::CountOpenFds();
    options.num_threads = 2;
    options.shutdown_grace = absl::Milliseconds(200);
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(channel.ok());
    bystander_ = std::move(*channel);
    ExpectBystanderServed();
  }
  void TearDown() override {
    if (bystander_thread_.joinable()) StopBystander();  // A test failed early.
    if (!counters_.holds_released.HasBeenNotified()) {
      counters_.holds_released.Notify();  // No handler outlives the test.
    }
    if (server_ == nullptr) return;
    ExpectBystanderServed();
    bystander_.reset();
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    Eventually([&] { return ::mrpc::testing::CountOpenFds() == fds_before_; },
               absl::Seconds(5));
    EXPECT_EQ(::mrpc::testing::CountOpenFds(), fds_before_);
  }

  // A small call from an unrelated client succeeds within 1 s.
  void ExpectBystanderServed() {
    EchoRequest req;
    req.set_payload("bystander");
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(1));
    absl::Status s = bystander_->CallMethodBlocking(kTestService, "Echo", req,
                                                    &resp, &ctx);
    EXPECT_TRUE(s.ok()) << s;
  }
  // A bystander calling throughout an attack: one Echo at a time, each
  // with a 3 s deadline, every 2 ms, on its own thread and channel-side
  // loop, until StopBystander() reports what it saw.
  struct BystanderReport {
    int calls = 0;
    int errors = 0;
    std::string first_error;
    absl::Duration p99;
  };
  void StartBystander() {
    bystander_stop_ = false;
    bystander_thread_ = std::thread([this] {
      EchoRequest req;
      req.set_payload("bystander");
      while (!bystander_stop_.load()) {
        EchoResponse resp;
        ClientContext ctx;
        // Generous: what is judged is the p99 below, and that every call
        // is answered. (A 1 s deadline failed once on a loaded 2-core VM,
        // where one loop spent 1.1 s building 12 MiB responses.)
        ctx.set_timeout(absl::Seconds(3));
        const absl::Time start = absl::Now();
        absl::Status s = bystander_->CallMethodBlocking(kTestService, "Echo",
                                                        req, &resp, &ctx);
        bystander_latencies_.push_back(absl::Now() - start);
        if (!s.ok() && bystander_report_.errors++ == 0) {
          bystander_report_.first_error = s.ToString();
        }
        absl::SleepFor(absl::Milliseconds(2));  // Pacing, not waiting.
      }
    });
  }
  BystanderReport StopBystander() {
    bystander_stop_ = true;
    bystander_thread_.join();
    BystanderReport report = bystander_report_;
    report.calls = static_cast<int>(bystander_latencies_.size());
    std::sort(bystander_latencies_.begin(), bystander_latencies_.end());
    if (!bystander_latencies_.empty()) {
      report.p99 = bystander_latencies_[(bystander_latencies_.size() - 1) *
                                        99 / 100];
    }
    bystander_latencies_.clear();
    bystander_report_ = BystanderReport();
    return report;
  }
  // Every bystander call was served within its 3 s deadline, the slowest
  // 1% within `p99_bound`. (Timing, so plain builds only: under TSan a loop
  // building the attackers' 12 MiB responses takes most of a second.)
  static void ExpectServedThroughout(const BystanderReport& report,
                                     absl::Duration p99_bound) {
    EXPECT_GT(report.calls, 0);
    if (kSanitized) return;
    EXPECT_EQ(report.errors, 0) << report.first_error;
    EXPECT_LT(report.p99, p99_bound);
  }

  RawClient Connect(int receive_buffer = 0) {
    absl::StatusOr<RawClient> c = RawClient::Connect(
        InetAddress::Loopback(server_->port()), absl::Seconds(10),
        receive_buffer);
    CHECK(c.ok()) << c.status();
    return std::move(*c);
  }

  int fds_before_ = 0;
  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> bystander_;
  std::thread bystander_thread_;
  std::atomic<bool> bystander_stop_{false};
  std::vector<absl::Duration> bystander_latencies_;  // Its thread's, until
  BystanderReport bystander_report_;                 // joined.
};

// Issue 11: a client that sends requests and never reads was held forever
// (16 such clients held 1.08 GB); on the kv example one List plus a PING
// per connection pinned 830 MB. Now a connection whose output has not
// drained for output_stall_timeout is closed, and what it held is freed.
TEST_F(HostilePeerTest, ClientsThatNeverReadAreClosedAtTheStallTimeout) {
  constexpr absl::Duration kStall = absl::Milliseconds(400);
  ServerOptions options;
  options.output_stall_timeout = kStall;
  options.idle_timeout = absl::Seconds(60);  // Not what closes them.
  StartServer(options);
  ResetPeakRss();
  StartBystander();
  const int64_t rss_before = StatusBytes("VmRSS:");
  constexpr int kClients = 8;
  // One at a time, each asks for a 12 MiB answer, then a PING (72 bytes
  // that ask for 12 MiB), and never reads. The next asks once the answer
  // has started (readable), so no answer waits behind another's handler.
  // Meanwhile the ones answered are watched, without reading, for their
  // close: a reset (the output owed is discarded), seen as POLLHUP and
  // ECONNRESET.
  std::vector<RawClient> clients;
  std::vector<absl::Time> asked;
  std::vector<absl::Time> reset(kClients, absl::InfinitePast());
  bool answered = true;  // The last to ask has its answer.
  int resets = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (resets < kClients && absl::Now() < give_up) {
    const int asking = static_cast<int>(clients.size());
    if (answered && asking < kClients) {
      clients.push_back(Connect(/*receive_buffer=*/4096));
      asked.push_back(absl::Now());
      ASSERT_TRUE(clients.back()
                      .Write(RequestFrame(1, kTestService, "Big",
                                          EchoPayload("12582912")) +
                             ControlFrame(PING, 2))
                      .ok());
      answered = false;
      continue;
    }
    std::vector<pollfd> fds;
    std::vector<int> which;
    for (int i = 0; i < static_cast<int>(clients.size()); ++i) {
      const bool waiting = !answered && i == asking - 1;
      if (!waiting && reset[i] != absl::InfinitePast()) continue;
      fds.push_back({clients[i].fd(),
                     static_cast<short>(waiting ? POLLIN : POLLRDHUP), 0});
      which.push_back(i);
    }
    ASSERT_GE(::poll(fds.data(), fds.size(), 100), 0);
    const absl::Time now = absl::Now();
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].events == POLLIN) {
        if (fds[k].revents != 0) answered = true;
        continue;
      }
      if ((fds[k].revents & (POLLHUP | POLLERR)) == 0) continue;
      reset[which[k]] = now;
      ++resets;
      int error = 0;
      socklen_t len = sizeof error;
      ASSERT_EQ(::getsockopt(fds[k].fd, SOL_SOCKET, SO_ERROR, &error, &len), 0);
      EXPECT_EQ(error, ECONNRESET) << "client " << which[k];
    }
  }
  ASSERT_EQ(clients.size(), static_cast<size_t>(kClients));
  absl::Duration slowest = absl::ZeroDuration();
  for (int i = 0; i < kClients; ++i) {
    ASSERT_NE(reset[i], absl::InfinitePast()) << "client " << i << " open";
    const absl::Duration took = reset[i] - asked[i];
    slowest = std::max(slowest, took);
    // Not before the timeout (closed for stalling, not by a cap)...
    EXPECT_GE(took, kStall) << "client " << i;
    // ...and soon after it: within two timeouts (the kernel's copy may
    // still drain a little into the client's buffer, which counts as
    // progress), plus the handler's run and the loop finishing whatever
    // another client's handler holds it for.
    EXPECT_LT(took, 2 * kStall + absl::Seconds(kSanitized ? 10 : 1.5))
        << "client " << i;
  }
  LOG(INFO) << "never-reading clients: reset at most " << slowest
            << " after they asked (stall timeout " << kStall << ")";
  EXPECT_EQ(server_->stats().stall_closes, static_cast<uint64_t>(kClients));
  ExpectBystanderServed();
  const ServerStats stats = server_->stats();
  EXPECT_EQ(stats.overflow_closes, 0u);
  EXPECT_EQ(stats.idle_closes, 0u);
  // Everything they held is given back: the bystander's buffers remain.
  EXPECT_TRUE(Eventually([&] { return server_->stats().memory_used < kMiB; },
                         absl::Seconds(5)))
      << server_->stats().memory_used;
  // 8 x 12 MiB were held at the peak (each output buffer grown by a
  // quarter for the PONG behind it), and no more: what the clients asked.
  EXPECT_LT(stats.memory_peak, kClients * 16 * kMiB);
  const int64_t peak = StatusBytes("VmHWM:");
  const BystanderReport bystander = StopBystander();
  LOG(INFO) << "never-reading clients: RSS before " << rss_before / kMiB
            << " MiB, peak " << peak / kMiB << " MiB, after "
            << StatusBytes("VmRSS:") / kMiB << " MiB; budget peak "
            << stats.memory_peak / kMiB << " MiB"
            << "; bystander: " << bystander.calls << " calls, "
            << bystander.errors << " errors, p99 "
            << absl::FormatDuration(bystander.p99);
  ExpectServedThroughout(bystander, absl::Milliseconds(500));
  if (!kSanitized) {
  EXPECT_LT(peak - rss_before, 2 * kClients * 16 * kMiB);
  }
}

// The other side of the stall timeout: "not drained by one byte" counts
// the bytes the kernel holds too. A client that reads slowly, a few KiB at
// a time, frees too little of the server's socket buffer for the kernel to
// report it writable, yet it is reading: it stays open for five timeouts.
// Once it stops, it is reset within two.
TEST_F(HostilePeerTest, SlowReadersStayOpenUntilTheyStopReading) {
  constexpr absl::Duration kStall = absl::Milliseconds(400);
  ServerOptions options;
  options.output_stall_timeout = kStall;
  StartServer(options);
  RawClient client = Connect(/*receive_buffer=*/4096);
  ASSERT_TRUE(
      client
          .Write(RequestFrame(1, kTestService, "Big", EchoPayload("12582912")))
          .ok());
  // About 160 KB/s: a few KiB every 25 ms, for five stall timeouts.
  int64_t received = 0;
  absl::Time last_read = absl::Now();
  const absl::Time stop = absl::Now() + 5 * kStall;
  std::string chunk(4096, '\0');
  while (absl::Now() < stop) {
    pollfd ready = {client.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&ready, 1, 1000), 1) << "nothing to read for 1 s";
    ASSERT_EQ(ready.revents & (POLLHUP | POLLERR), 0)
        << "closed while reading, " << received << " bytes in, "
        << absl::Now() - last_read << " after the last read";
    const ssize_t n =
        ::recv(client.fd(), chunk.data(), chunk.size(), MSG_DONTWAIT);
    ASSERT_GT(n, 0);
    received += n;
    last_read = absl::Now();
    absl::SleepFor(absl::Milliseconds(25));  // The pace, not a wait.
  }
  // Far less than the answer: the server's output waited all along.
  EXPECT_LT(received, 12582912 / 4);
  EXPECT_EQ(server_->stats().stall_closes, 0u);
  // Now it stops reading.
  pollfd closed = {client.fd(), POLLRDHUP, 0};
  ASSERT_EQ(::poll(&closed, 1, 10000), 1);
  const absl::Duration took = absl::Now() - last_read;
  ASSERT_NE(closed.revents & (POLLHUP | POLLERR), 0);
  LOG(INFO) << "slow reader: " << received << " bytes in " << 5 * kStall
            << ", reset " << took << " after its last read";
  EXPECT_GE(took, kStall);
  EXPECT_LT(took, 2 * kStall + absl::Seconds(kSanitized ? 10 : 1));
  EXPECT_EQ(server_->stats().stall_closes, 1u);
}

// Issue 11: 8 connections each sending 60 MiB of a 64 MiB frame and then
// stopping held 563 MB until the idle timeout. Now the frames that would
// take the budget past its limit are answered RESOURCE_EXHAUSTED and
// skipped as they arrive; what is held stays within the budget, and a
// bystander's small calls are served from the eighth kept for them.
TEST_F(HostilePeerTest, PartialHugeFramesStayWithinTheBudget) {
  constexpr int64_t kBudget = 64 * kMiB;
  ServerOptions options;
  options.memory_budget = kBudget;
  options.frame_timeout = absl::Seconds(30);  // Not what frees them.
  StartServer(options);
  ResetPeakRss();
  StartBystander();
  const int64_t rss_before = StatusBytes("VmRSS:");
  constexpr int kClients = 8;
  const uint32_t body = 16 * kMiB - 64;
  const std::string meta = RequestFrame(1, kTestService, "Echo", "")
                               .substr(kFrameHeaderSize);
  std::string header = "MRPC";
  for (uint32_t v : {body, static_cast<uint32_t>(meta.size())}) {
    for (int shift = 24; shift >= 0; shift -= 8)
      header.push_back(static_cast<char>(v >> shift));
  }
  const std::string most(15 * kMiB, 'x');  // Of the 16 MiB announced.
  std::vector<RawClient> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(Connect());
    ASSERT_TRUE(clients.back().Write(header + meta + most).ok());
  }
  // Each connection is either holding its frame or was refused it.
  int refused = 0;
  for (RawClient& client : clients) {
    absl::StatusOr<testing::Frame> answer =
        testing::ReadFrame(client, absl::Milliseconds(500));
    if (!answer.ok()) continue;  // Held: its frame is still arriving.
    EXPECT_EQ(answer->meta.correlation_id(), 1u);
    EXPECT_EQ(answer->meta.status_code(),
              static_cast<int>(absl::StatusCode::kResourceExhausted));
    EXPECT_NE(answer->meta.status_message().find("memory budget"),
              std::string::npos)
        << answer->meta.status_message();
    ++refused;
  }
  // 7/8 of 64 MiB holds three 16 MiB frames (one connection may hold two).
  EXPECT_EQ(refused, kClients - 3);
  ExpectBystanderServed();
  const ServerStats stats = server_->stats();
  EXPECT_EQ(stats.memory_refusals, static_cast<uint64_t>(refused));
  EXPECT_LE(stats.memory_peak, kBudget);
  const int64_t peak = StatusBytes("VmHWM:");
  const BystanderReport bystander = StopBystander();
  LOG(INFO) << "partial huge frames: " << refused << " of " << kClients
            << " refused; RSS before " << rss_before / kMiB << " MiB, peak "
            << peak / kMiB << " MiB; budget peak " << stats.memory_peak / kMiB
            << " of " << kBudget / kMiB << " MiB"
            << "; bystander: " << bystander.calls << " calls, "
            << bystander.errors << " errors, p99 "
            << absl::FormatDuration(bystander.p99);
  ExpectServedThroughout(bystander, absl::Milliseconds(500));
  // The test's own 15 MiB block and the kernel's socket buffers aside, the
  // process grew by no more than the budget.
  if (!kSanitized) {
  EXPECT_LT(peak - rss_before, kBudget + 32 * kMiB);
  }
}

// Issue 11: 4 idle connections that each made one 60 MiB call kept 566 MB
// resident afterwards (buffers and pooled messages kept their size, and
// malloc kept what was freed). Now buffers shrink when they empty, large
// messages are freed rather than pooled, and freed memory goes back to the
// OS. The server runs in a process of its own, so its RSS is its own.
TEST(IdleServerProcessTest, GivesBackWhatLargeCallsUsed) {
  testing::ServerProcess server(0);
  const std::string target = absl::StrCat("127.0.0.1:", server.port());
  constexpr int kClients = 4;
  std::vector<std::unique_ptr<Channel>> channels;
  for (int i = 0; i < kClients; ++i) {
    absl::StatusOr<std::unique_ptr<Channel>> channel = Channel::Create(target);
    ASSERT_TRUE(channel.ok());
    channels.push_back(std::move(*channel));
  }
  EchoRequest small;
  small.set_payload("warm");
  EchoResponse resp;
  for (auto& channel : channels) {
    ASSERT_TRUE(
        channel->CallMethodBlocking(kTestService, "Echo", small, &resp).ok());
  }
  const long long rss_before = testing::ProcStatusBytes(server.pid(), "VmRSS");
  EchoRequest req;
  req.set_payload(std::string(12 * kMiB, 'e'));
  for (auto& channel : channels) {
    ASSERT_TRUE(
        channel->CallMethodBlocking(kTestService, "Echo", req, &resp).ok());
    EXPECT_EQ(resp.payload().size(), 12u * kMiB);
  }
  const long long rss_peak = testing::ProcStatusBytes(server.pid(), "VmHWM");
  // Idle now, connections open: within 1 s the server is back to within
  // 8 MiB of where it was, a third of one 12 MiB call's request and
  // response.
  long long rss_after = 0;
  // (ASan's quarantine keeps freed memory on purpose: RSS in plain builds.)
  if (!kSanitized) {
    EXPECT_TRUE(Eventually(
        [&] {
          rss_after = testing::ProcStatusBytes(server.pid(), "VmRSS");
          return rss_after - rss_before < 8 * kMiB;
        },
        absl::Seconds(1)))
        << (rss_after - rss_before) / kMiB << " MiB kept";
  }
  LOG(INFO) << "idle after large calls: server RSS before "
            << rss_before / kMiB << " MiB, peak " << rss_peak / kMiB
            << " MiB, after " << rss_after / kMiB << " MiB";
  // The connections stay up and serve.
  for (auto& channel : channels) {
    EXPECT_TRUE(
        channel->CallMethodBlocking(kTestService, "Echo", small, &resp).ok());
    EXPECT_EQ(channel->stats().connects, 1u);
  }
}

// Issue 11: a valid 64 MiB request made of tiny unknown fields cost 631 MB
// and a second of one loop. Requests over 4 KiB have their parsed size
// estimated from the wire first; one that would take more than the
// connection's share of the budget is refused without being parsed.
TEST_F(HostilePeerTest, TinyFieldBombsAreRefusedBeforeTheyAreParsed) {
  constexpr int64_t kBudget = 256 * kMiB;  // A connection's share: 32 MiB.
  ServerOptions options;
  options.memory_budget = kBudget;
  StartServer(options);
  // 16 MiB less a little of 2-byte unknown fields (field 15 = 1): valid
  // protobuf, about 300 MB parsed.
  std::string bomb;
  bomb.reserve(16 * kMiB);
  while (bomb.size() < 16 * kMiB - 256) bomb.append("\x78\x01", 2);
  const std::string frame = RequestFrame(1, kTestService, "Echo", bomb);
  ResetPeakRss();
  StartBystander();
  const int64_t rss_before = StatusBytes("VmRSS:");
  RawClient client = Connect();
  absl::Duration slowest;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client.Write(frame).ok());
    const absl::Time sent = absl::Now();
    absl::StatusOr<testing::Frame> answer = testing::ReadFrame(client);
    ASSERT_TRUE(answer.ok()) << answer.status();
    slowest = std::max(slowest, absl::Now() - sent);
    EXPECT_EQ(answer->meta.status_code(),
              static_cast<int>(absl::StatusCode::kResourceExhausted));
    EXPECT_NE(answer->meta.status_message().find("parsed"), std::string::npos)
        << answer->meta.status_message();
  }
  ExpectBystanderServed();
  const int64_t grown = StatusBytes("VmHWM:") - rss_before;
  const BystanderReport bystander = StopBystander();
  LOG(INFO) << "tiny-field bombs: slowest answer "
            << absl::FormatDuration(slowest) << ", RSS peak +" << grown / kMiB
            << " MiB, budget peak " << server_->stats().memory_peak / kMiB
            << " MiB"
            << "; bystander: " << bystander.calls << " calls, "
            << bystander.errors << " errors, p99 "
            << absl::FormatDuration(bystander.p99);
  ExpectServedThroughout(bystander, absl::Milliseconds(500));
  // The frame's own 16 MiB in the input buffer, and nothing parsed.
  if (!kSanitized) {
  EXPECT_LT(grown, 48 * kMiB);
  }
  EXPECT_LE(server_->stats().memory_peak, 20 * kMiB);
  EXPECT_EQ(server_->stats().memory_refusals, 5u);
}

// Issue 11: the worker queue was bounded in calls only: 2,000 queued
// 256 KiB requests held 523 MB. Calls waiting for a worker are charged to
// the budget, so past it large requests are refused as they arrive. The
// one worker is held until every request has been sent, so the queue
// grows however fast the server reads (it once slept 20 ms per call: under
// TSan the requests then arrived slower than that, none queued and none
// was refused).
TEST_F(HostilePeerTest, QueuedLargeRequestsStayWithinTheBudget) {
  constexpr int64_t kBudget = 64 * kMiB;
  ServerOptions options;
  options.memory_budget = kBudget;
  options.worker_threads = 1;
  StartServer(options);
  ResetPeakRss();
  StartBystander();
  const int64_t rss_before = StatusBytes("VmRSS:");
  constexpr int kRequests = 2000;
  EchoRequest req;
  req.set_payload(std::string(256 * 1024, ' '));  // Ballast.
  const std::string payload = req.SerializeAsString();
  RawClient client = Connect();
  // Every request gets its one answer, served or refused at once; read them
  // as they come (a client that reads is not the attack here).
  int ok = 0, refused = 0, other = 0;
  std::thread reader([&] {
    for (int i = 0; i < kRequests; ++i) {
      absl::StatusOr<testing::Frame> answer =
          testing::ReadFrame(client, absl::Seconds(60));
      if (!answer.ok()) {
        ADD_FAILURE() << answer.status() << " after " << i;
        return;
      }
      if (answer->meta.status_code() == 0) {
        ++ok;
      } else if (answer->meta.status_code() ==
                 static_cast<int>(absl::StatusCode::kResourceExhausted)) {
        ++refused;
      } else {
        ++other;
        ADD_FAILURE() << answer->meta.status_message();
      }
    }
  });
  std::string burst;
  for (int i = 1; i <= kRequests; ++i) {
    burst += RequestFrame(i, kTestService, "Hold", payload);
    if (i % 50 == 0) {
      ASSERT_TRUE(client.Write(burst).ok());
      burst.clear();
    }
    if (i == kRequests / 2) ExpectBystanderServed();
  }
  // Every request is in: the queue is as long as the budget let it grow.
  // Those refused were answered as they came; now the held ones finish.
  counters_.holds_released.Notify();
  reader.join();
  const ServerStats stats = server_->stats();
  const BystanderReport bystander = StopBystander();
  LOG(INFO) << "queued large requests: " << ok << " served, " << refused
            << " refused; budget peak " << stats.memory_peak / kMiB << " of "
            << kBudget / kMiB << " MiB; RSS peak +"
            << (StatusBytes("VmHWM:") - rss_before) / kMiB << " MiB"
            << "; bystander: " << bystander.calls << " calls, "
            << bystander.errors << " errors, p99 "
            << absl::FormatDuration(bystander.p99);
  ExpectServedThroughout(bystander, absl::Milliseconds(500));
  EXPECT_GT(ok, 0);
  EXPECT_GT(refused, 0);
  EXPECT_LE(stats.memory_peak, kBudget);
  if (!kSanitized) {
  EXPECT_LT(StatusBytes("VmHWM:") - rss_before, kBudget + 64 * kMiB);
  }
}

}  // namespace
}  // namespace mrpc
