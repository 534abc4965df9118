// The worker pool is shared fairly (docs/reliability.md, "Fair worker
// pool"), checked from outside: a flooding connection (a raw socket
// pipelining thousands of worker-pool calls) cannot starve other clients'
// calls, is refused past max_calls_per_connection, and queued requests
// cannot hold more than worker_queue_bytes, cancelled or expired ones
// releasing their bytes at once.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
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

constexpr int kOk = 0;
constexpr int kExhausted = static_cast<int>(absl::StatusCode::kResourceExhausted);
constexpr int kDeadline = static_cast<int>(absl::StatusCode::kDeadlineExceeded);
constexpr int kCancelled = static_cast<int>(absl::StatusCode::kCancelled);

RawClient Connect(const Server& server) {
  absl::StatusOr<RawClient> c =
      RawClient::Connect(InetAddress::Loopback(server.port()));
  CHECK(c.ok()) << c.status();
  return std::move(*c);
}

// One connection makes 4 long calls (200 ms) and pipelines 12,000 short
// ones to the worker pool (Sleep), all at once; meanwhile bystanders on
// their own connections call the same method, one call at a time, with a
// 2 s deadline. Every
// bystander call succeeds within 1 s; the flooder is refused past its cap.
TEST(WorkerFairnessTest, FloodingConnectionCannotStarveOthers) {
  ServerOptions options;  // Default caps: 4 workers, 1000 calls/connection.
  options.num_threads = 2;
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());

  constexpr int kLong = 4;
  constexpr int kShort = 12000;
  constexpr int kBystanders = 4;
  std::atomic<bool> flood_done{false};
  std::atomic<bool> flood_started{false};
  std::vector<std::thread> bystanders;
  std::vector<int> calls(kBystanders, 0);
  std::vector<std::vector<absl::Status>> failures(kBystanders);
  std::vector<absl::Duration> slowest(kBystanders, absl::ZeroDuration());
  // Bystanders on raw connections too (several channels connecting at
  // once trip TSan inside Debian's uninstrumented abseil).
  std::vector<RawClient> raws;
  for (int b = 0; b < kBystanders; ++b) raws.push_back(Connect(server));
  for (int b = 0; b < kBystanders; ++b) {
    bystanders.emplace_back([&, b] {
      RawClient& raw = raws[b];
      while (!flood_started.load()) absl::SleepFor(absl::Milliseconds(1));
      // At least 20 calls each, and calls all through the flood.
      for (uint64_t id = 1; calls[b] < 20 || !flood_done.load(); ++id) {
        const absl::Time start = absl::Now();
        absl::Status s = raw.Write(RequestFrame(id, kTestService, "Sleep",
                                                EchoPayload("1"),
                                                /*timeout_us=*/2000000));
        absl::StatusOr<Frame> frame = ReadFrame(raw, absl::Seconds(5));
        if (s.ok()) s = frame.status();
        if (s.ok() && frame->meta.status_code() != kOk) {
          s = absl::Status(
              static_cast<absl::StatusCode>(frame->meta.status_code()),
              frame->meta.status_message());
        }
        slowest[b] = std::max(slowest[b], absl::Now() - start);
        ++calls[b];
        if (!s.ok()) failures[b].push_back(s);
      }
    });
  }

  RawClient flooder = Connect(server);
  std::string frames;
  uint64_t id = 1;
  for (int i = 0; i < kLong; ++i) {
    frames += RequestFrame(id++, kTestService, "Sleep", EchoPayload("200"));
  }
  for (int i = 0; i < kShort; ++i) {
    frames += RequestFrame(id++, kTestService, "Sleep", EchoPayload("1"));
  }
  const absl::Time flood_start = absl::Now();
  flood_started = true;
  ASSERT_TRUE(flooder.Write(frames).ok());
  int ok = 0, exhausted = 0, other = 0;
  std::vector<bool> long_ok(kLong, false);
  for (int i = 0; i < kLong + kShort; ++i) {
    absl::StatusOr<Frame> frame = ReadFrame(flooder, absl::Seconds(60));
    ASSERT_TRUE(frame.ok()) << frame.status() << " after " << i << " answers";
    const int code = frame->meta.status_code();
    if (code == kOk) {
      ++ok;
      if (frame->meta.correlation_id() <= kLong) {
        long_ok[frame->meta.correlation_id() - 1] = true;
      }
    } else if (code == kExhausted) {
      ++exhausted;
      // Past its cap; or, at the edge of it, at the method's concurrency
      // limit (the flood is the heaviest caller, refused first there).
      EXPECT_TRUE(absl::StrContains(frame->meta.status_message(),
                                    "max_calls_per_connection") ||
                  absl::StrContains(frame->meta.status_message(),
                                    "concurrency limit"))
          << frame->meta.status_message();
    } else {
      ++other;
      ADD_FAILURE() << "flooder call " << frame->meta.correlation_id() << ": "
                    << frame->meta.status_code() << " "
                    << frame->meta.status_message();
    }
  }
  const absl::Duration flood_time = absl::Now() - flood_start;
  flood_done = true;
  for (std::thread& t : bystanders) t.join();

  absl::Duration worst = absl::ZeroDuration();
  int bystander_calls = 0;
  for (int b = 0; b < kBystanders; ++b) {
    bystander_calls += calls[b];
    worst = std::max(worst, slowest[b]);
    EXPECT_TRUE(failures[b].empty())
        << "bystander " << b << ": " << failures[b].size() << " of "
        << calls[b] << " calls failed, first: " << failures[b].front();
  }
  EXPECT_LT(worst, absl::Seconds(1));
  for (int i = 0; i < kLong; ++i) EXPECT_TRUE(long_ok[i]) << "long call " << i;
  EXPECT_GT(exhausted, 0);
  EXPECT_EQ(ok + exhausted, kLong + kShort);
  // Admitted: at most the cap at a time (more overall, as calls finish;
  // the bystanders' few calls on the flood's loop share its limit).
  EXPECT_GE(ok, 1000 - kBystanders);
  const ServerStats stats = server.stats();
  EXPECT_EQ(stats.connection_cap_refusals + stats.limited,
            static_cast<uint64_t>(exhausted));
  LOG(INFO) << "flooder: " << ok << " OK, " << exhausted
            << " RESOURCE_EXHAUSTED in " << flood_time << "; bystanders: "
            << bystander_calls << " calls, slowest " << worst;
  server.Shutdown();
  server.Wait();
}

// The cap is per connection and covers inline async calls too: a client
// with max_calls_per_connection calls in flight (Delay: inline, finishing
// later) is refused its next one at once; another connection is not.
TEST(WorkerFairnessTest, CapCoversInlineAsyncCalls) {
  ServerOptions options;
  options.num_threads = 1;
  options.max_calls_per_connection = 10;
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  RawClient raw = Connect(server);
  std::string frames;
  for (uint64_t id = 1; id <= 11; ++id) {
    frames += RequestFrame(id, kTestService, "Delay", EchoPayload("500"));
  }
  const absl::Time start = absl::Now();
  ASSERT_TRUE(raw.Write(frames).ok());
  absl::StatusOr<Frame> refused = ReadFrame(raw);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->meta.correlation_id(), 11u);
  EXPECT_EQ(refused->meta.status_code(), kExhausted);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(400)) << "not at once";

  RawClient other = Connect(server);
  ASSERT_TRUE(
      other.Write(RequestFrame(1, kTestService, "Echo", EchoPayload("hi")))
          .ok());
  absl::StatusOr<Frame> answer = ReadFrame(other);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->meta.status_code(), kOk);
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ(frame->meta.status_code(), kOk);
  }
  EXPECT_EQ(server.stats().connection_cap_refusals, 1u);
  server.Shutdown();
  server.Wait();
}

// Queued requests cannot hold more than worker_queue_bytes; a queued call
// that is cancelled or whose deadline passes gives its bytes back at once.
TEST(WorkerFairnessTest, QueueIsBoundedInBytes) {
  constexpr size_t kLimit = size_t{4} << 20;
  constexpr size_t kBig = size_t{256} << 10;
  constexpr int kRequests = 40;
  ServerOptions options;
  options.num_threads = 1;
  options.worker_threads = 1;
  options.worker_queue_bytes = kLimit;
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());

  RawClient raw = Connect(server);
  // The one worker is busy for 3 s: whatever comes next waits.
  ASSERT_TRUE(
      raw.Write(RequestFrame(1, kTestService, "Sleep", EchoPayload("3000")))
          .ok());
  ASSERT_TRUE(Eventually([&] { return counters.sleep_runs.load() == 1; }));
  const std::string big = EchoPayload(std::string(kBig, 'x'));  // Sleeps 0.
  std::string frames;
  for (uint64_t id = 2; id < 2 + kRequests; ++id) {
    frames += RequestFrame(id, kTestService, "Sleep", big);
  }
  ASSERT_TRUE(raw.Write(frames).ok());
  ASSERT_TRUE(Eventually([&] {
    return server.stats().requests == 1 + kRequests;
  }));
  ServerStats stats = server.stats();
  const uint64_t queued = stats.worker_queue_calls;
  EXPECT_LE(stats.worker_queue_bytes, kLimit);
  EXPECT_GT(stats.worker_queue_bytes, kLimit - 2 * big.size());
  EXPECT_EQ(stats.worker_queue_bytes, queued * big.size());
  EXPECT_EQ(queued, kLimit / big.size());
  // The rest were refused at once.
  std::vector<uint64_t> refused;
  for (uint64_t i = 0; i < kRequests - queued; ++i) {
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ(frame->meta.status_code(), kExhausted);
    EXPECT_TRUE(absl::StrContains(frame->meta.status_message(), "bytes"))
        << frame->meta.status_message();
    refused.push_back(frame->meta.correlation_id());
  }
  // Read after the refusals arrived: the snapshot above may precede the
  // last refusal's count (`requests` counts a request as it arrives).
  EXPECT_EQ(server.stats().overloaded, kRequests - queued);

  // A CANCEL of a queued call releases its bytes now (not when the worker
  // would have reached it) ...
  ASSERT_TRUE(raw.Write(ControlFrame(CANCEL, 2)).ok());
  absl::StatusOr<Frame> cancelled = ReadFrame(raw);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->meta.correlation_id(), 2u);
  EXPECT_EQ(cancelled->meta.status_code(), kCancelled);
  stats = server.stats();
  EXPECT_EQ(stats.worker_queue_calls, queued - 1);
  EXPECT_EQ(stats.worker_queue_bytes, (queued - 1) * big.size());
  // ... and so does a deadline that passes while the call waits.
  const uint64_t expiring = 100;
  ASSERT_TRUE(raw.Write(RequestFrame(expiring, kTestService, "Sleep", big,
                                     /*timeout_us=*/100000))
                  .ok());
  absl::StatusOr<Frame> expired = ReadFrame(raw);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(expired->meta.correlation_id(), expiring);
  EXPECT_EQ(expired->meta.status_code(), kDeadline);
  stats = server.stats();
  EXPECT_EQ(stats.worker_queue_calls, queued - 1);
  EXPECT_EQ(stats.worker_queue_bytes, (queued - 1) * big.size());

  // Once the worker is free every queued call runs.
  for (uint64_t i = 0; i < queued; ++i) {  // Sleep(3000), then queued - 1.
    absl::StatusOr<Frame> frame = ReadFrame(raw);
    ASSERT_TRUE(frame.ok()) << frame.status();
    EXPECT_EQ(frame->meta.status_code(), kOk) << frame->meta.status_message();
  }
  EXPECT_EQ(server.stats().worker_queue_bytes, 0u);
  server.Shutdown();
  server.Wait();
}

}  // namespace
}  // namespace mrpc
