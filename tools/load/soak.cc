// Soak test: a server and its clients in one process, under mixed load with
// connection churn, for a set time. Every --report_every seconds it prints
// the process's RSS and open fds, the calls per second, and every status
// seen (expected ones apart from unexpected ones), so leaks and drift show
// as numbers that move. Exits non-zero if an unexpected status appeared or
// RSS or the fd count grew past a bound after the warm-up.
//
//   bazel run --config=opt //tools/load:soak -- --duration=600
//
// The mix, on --channels steady channels (each keeping --depth calls in
// flight) plus churn:
//   Echo with 16 B to 16 KiB payloads          -> OK
//   SlowEcho (1 ms of work, worker pool), 2%    -> OK
//   kv Put/Get/Delete/List on 1,000 keys        -> OK or NOT_FOUND
//   calls with a 1 ms deadline, 3%              -> OK or DEADLINE_EXCEEDED
//   calls cancelled right after they start, 2%  -> OK or CANCELLED
//   a new channel every --churn_ms: a few calls, then destroyed
//   a raw connection sending garbage every second (the server closes it)
#include <glog/logging.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "examples/echo/echo_service.h"
#include "examples/kv/kv_service.h"
#include "net/event_loop.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.mrpc.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tools/proc_stat.h"

ABSL_FLAG(double, duration, 600, "seconds to run");
ABSL_FLAG(double, report_every, 10, "seconds between report lines");
ABSL_FLAG(double, warmup, 20, "seconds before the baseline RSS/fds are taken");
ABSL_FLAG(int, channels, 4, "steady channels");
ABSL_FLAG(int, depth, 8, "calls in flight per steady channel");
ABSL_FLAG(int, churn_ms, 100, "a new short-lived channel this often");
ABSL_FLAG(int, server_threads, 2, "server I/O loops");
ABSL_FLAG(double, max_rss_growth, 0.2,
          "allowed RSS growth after warm-up (fraction)");

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
namespace kv = examples::kv;

// Status counts, by code, thread-safe.
class Tally {
 public:
  void Add(absl::StatusCode code, bool expected) {
    MutexLock lock(&mutex_);
    ++(expected ? expected_ : unexpected_)[code];
    ++total_;
  }
  uint64_t total() {
    MutexLock lock(&mutex_);
    return total_;
  }
  uint64_t unexpected() {
    MutexLock lock(&mutex_);
    uint64_t n = 0;
    for (auto& [code, count] : unexpected_) n += count;
    return n;
  }
  std::string Summary() {
    MutexLock lock(&mutex_);
    std::string out;
    for (auto& [code, count] : expected_) {
      absl::StrAppend(&out, absl::StatusCodeToString(code), " ", count, "  ");
    }
    for (auto& [code, count] : unexpected_) {
      absl::StrAppend(&out, "UNEXPECTED ", absl::StatusCodeToString(code), " ",
                      count, "  ");
    }
    return out;
  }

 private:
  Mutex mutex_;
  uint64_t total_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<absl::StatusCode, uint64_t> expected_ ABSL_GUARDED_BY(mutex_);
  std::map<absl::StatusCode, uint64_t> unexpected_ ABSL_GUARDED_BY(mutex_);
};

// One steady channel with `depth` calls always in flight, each completion
// starting the next (on the channel's loop).
class Worker {
 public:
  Worker(const std::string& target, int depth, int seed, Tally* tally)
      : tally_(tally), rng_(seed), chains_ended_(depth) {
    ChannelOptions options;
    options.heartbeat_interval = absl::Seconds(1);
    options.heartbeat_timeout = absl::Seconds(5);
    auto channel = Channel::Create(target, options);
    CHECK(channel.ok()) << channel.status();
    channel_ = std::move(*channel);
    echo_ = std::make_unique<echo::EchoService::Stub>(channel_.get());
    kv_ = std::make_unique<kv::KvService::Stub>(channel_.get());
    for (int i = 0; i < depth; ++i) {
      channel_->loop()->RunInLoop([this] { Next(); });
    }
  }
  ChannelStats stats() const { return channel_->stats(); }
  ~Worker() {
    stop_ = true;
    chains_ended_.Wait();  // No callback of ours runs after this.
  }

 private:
  // Starts one call; its completion starts the next. Loop thread only.
  void Next() {
    if (stop_.load()) {
      chains_ended_.CountDown();
      return;
    }
    const int pick = std::uniform_int_distribution<int>(0, 99)(rng_);
    auto context = std::make_shared<ClientContext>();
    bool tight = false, cancel = false;
    if (pick < 3) {
      context->set_timeout(absl::Milliseconds(1));
      tight = true;
    } else if (pick < 5) {
      cancel = true;
    } else {
      context->set_timeout(absl::Seconds(5));
    }
    auto finish = [this, context, tight, cancel](const absl::Status& s,
                                                 bool not_found_ok) {
      const absl::StatusCode code = s.code();
      const bool expected =
          code == absl::StatusCode::kOk ||
          (not_found_ok && code == absl::StatusCode::kNotFound) ||
          (tight && code == absl::StatusCode::kDeadlineExceeded) ||
          (cancel && code == absl::StatusCode::kCancelled);
      if (!expected) {
        LOG_EVERY_N(ERROR, 100) << "unexpected status: " << s;
      }
      tally_->Add(code, expected);
      Next();
    };
    if (pick < 60) {
      EchoRequest req;
      const int size =
          16 << std::uniform_int_distribution<int>(0, 10)(rng_);  // 16 B-16 KiB
      req.set_payload(std::string(size, static_cast<char>('a' + pick % 26)));
      const bool slow = pick >= 58;  // 2%
      if (slow) req.set_work_us(1000);
      auto check = [finish, size](absl::StatusOr<EchoResponse> r) {
        absl::Status s = r.status();
        if (r.ok() && static_cast<int>(r->payload().size()) != size) {
          s = absl::DataLossError("echo differs");
        }
        finish(s, false);
      };
      if (slow) {
        echo_->SlowEchoAsync(req, context.get(), std::move(check));
      } else {
        echo_->EchoAsync(req, context.get(), std::move(check));
      }
    } else {
      const std::string key =
          absl::StrCat("key", std::uniform_int_distribution<int>(0, 999)(rng_));
      if (pick < 75) {
        kv::PutRequest req;
        req.set_key(key);
        req.set_value(std::string(64, 'v'));
        kv_->PutAsync(req, context.get(),
                      [finish](absl::StatusOr<kv::PutResponse> r) {
                        finish(r.status(), false);
                      });
      } else if (pick < 90) {
        kv::GetRequest req;
        req.set_key(key);
        kv_->GetAsync(req, context.get(),
                      [finish](absl::StatusOr<kv::GetResponse> r) {
                        finish(r.status(), true);
                      });
      } else if (pick < 97) {
        kv::DeleteRequest req;
        req.set_key(key);
        kv_->DeleteAsync(req, context.get(),
                         [finish](absl::StatusOr<kv::DeleteResponse> r) {
                           finish(r.status(), true);
                         });
      } else {
        kv::ListRequest req;
        req.set_prefix("key1");
        req.set_limit(20);
        kv_->ListAsync(req, context.get(),
                       [finish](absl::StatusOr<kv::ListResponse> r) {
                         finish(r.status(), false);
                       });
      }
    }
    if (cancel) context->TryCancel();
  }

  Tally* const tally_;
  std::mt19937 rng_;  // Loop thread only.
  std::atomic<bool> stop_{false};
  CountDownLatch chains_ended_;  // One count per chain of calls.
  std::unique_ptr<Channel> channel_;
  std::unique_ptr<echo::EchoService::Stub> echo_;
  std::unique_ptr<kv::KvService::Stub> kv_;
};

int Run() {
  ServerOptions options;
  options.num_threads = absl::GetFlag(FLAGS_server_threads);
  options.idle_timeout = absl::Seconds(10);
  options.shutdown_grace = absl::Seconds(2);
  Server server(options);
  echo::EchoServiceImpl echo_service;
  MethodOptions pool;
  pool.use_worker_pool = true;
  echo_service.SetMethodOptions("SlowEcho", pool);
  kv::KvServiceImpl kv_service;
  CHECK(server.RegisterService(&echo_service).ok());
  CHECK(server.RegisterService(&kv_service).ok());
  CHECK(server.Start("127.0.0.1:0").ok());
  const std::string target = absl::StrCat("127.0.0.1:", server.port());

  Tally tally;
  Tally churn_tally;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < absl::GetFlag(FLAGS_channels); ++i) {
    workers.push_back(std::make_unique<Worker>(
        target, absl::GetFlag(FLAGS_depth), 1000 + i, &tally));
  }

  // Churn: short-lived channels, and garbage on raw connections.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> churned{0};
  std::thread churner([&] {
    int tick = 0;
    while (!stop.load()) {
      auto channel = Channel::Create(target);
      if (channel.ok()) {
        echo::EchoService::Stub stub(channel->get());
        for (int i = 0; i < 3; ++i) {
          EchoRequest req;
          req.set_payload("churn");
          CallOptions call;
          call.timeout = absl::Seconds(5);
          absl::StatusOr<EchoResponse> r = stub.Echo(req, call);
          churn_tally.Add(r.status().code(), r.ok());
        }
      }
      churned.fetch_add(1);
      if (++tick % (1000 / std::max(1, absl::GetFlag(FLAGS_churn_ms))) == 0) {
        absl::StatusOr<testing::RawClient> raw =
            testing::RawClient::Connect(InetAddress::Loopback(server.port()));
        if (raw.ok()) {
          (void)raw->Write("this is not an mrpc frame");
          (void)raw->WaitForClose(absl::Seconds(5));
        }
      }
      absl::SleepFor(absl::Milliseconds(absl::GetFlag(FLAGS_churn_ms)));
    }
  });

  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  const absl::Duration every = absl::Seconds(absl::GetFlag(FLAGS_report_every));
  const absl::Duration warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  const absl::Time start = absl::Now();
  long long base_rss = -1, max_rss = 0;
  int base_fds = -1, max_fds = 0;
  uint64_t last_calls = 0;
  absl::Time last = start;
  std::printf("%8s %10s %8s %10s %10s %9s %8s  %s\n", "time", "rss KiB", "fds",
              "calls/s", "calls", "churned", "conns", "statuses");
  while (absl::Now() - start < duration) {
    absl::SleepFor(every);  // The report interval itself.
    const absl::Time now = absl::Now();
    const long long rss = ProcessRssBytes(getpid());
    const int fds = testing::CountOpenFds();
    const uint64_t calls = tally.total();
    const double qps = (calls - last_calls) / absl::ToDoubleSeconds(now - last);
    last_calls = calls;
    last = now;
    if (now - start >= warmup) {
      if (base_rss < 0) {
        base_rss = rss;
        base_fds = fds;
      }
      max_rss = std::max(max_rss, rss);
      max_fds = std::max(max_fds, fds);
    }
    const ServerStats stats = server.stats();
    std::printf("%7.0fs %10lld %8d %10.0f %10" PRIu64 " %9" PRIu64
                " %8d  %s| protocol errors %" PRIu64 "\n",
                absl::ToDoubleSeconds(now - start), rss / 1024, fds, qps, calls,
                churned.load(), stats.connections, tally.Summary().c_str(),
                stats.protocol_errors);
    std::fflush(stdout);
  }
  stop = true;
  churner.join();
  ChannelStats channels;
  for (auto& worker : workers) {
    const ChannelStats one = worker->stats();
    channels.calls += one.calls;
    channels.failed += one.failed;
    channels.deadline_exceeded += one.deadline_exceeded;
    channels.late_responses += one.late_responses;
    channels.reconnects += one.reconnects;
    channels.heartbeat_timeouts += one.heartbeat_timeouts;
    channels.pings += one.pings;
  }
  workers.clear();
  const ServerStats stats = server.stats();
  server.Shutdown();
  server.Wait();
  std::printf("\nserver: %" PRIu64 " connections accepted, %" PRIu64
              " requests, %" PRIu64 " protocol errors, %" PRIu64
              " idle closes, %" PRIu64 " output-cap closes, %" PRIu64
              " error closes, %" PRIu64 " frame timeouts, %" PRIu64
              " answered DEADLINE_EXCEEDED unrun, %" PRIu64 " cancels\n",
              stats.connections_accepted, stats.requests, stats.protocol_errors,
              stats.idle_closes, stats.overflow_closes, stats.error_closes,
              stats.frame_timeouts, stats.deadline_exceeded, stats.cancels);
  std::printf("steady channels: %" PRIu64 " calls, %" PRIu64 " failed, %" PRIu64
              " client deadline expiries, %" PRIu64 " late responses, %" PRIu64
              " reconnects, %" PRIu64 " heartbeat timeouts, %" PRIu64
              " pings\n",
              channels.calls, channels.failed, channels.deadline_exceeded,
              channels.late_responses, channels.reconnects,
              channels.heartbeat_timeouts, channels.pings);

  const uint64_t unexpected = tally.unexpected() + churn_tally.unexpected();
  const bool rss_ok =
      base_rss > 0 &&
      max_rss <= base_rss * (1 + absl::GetFlag(FLAGS_max_rss_growth));
  const bool fds_ok = base_fds > 0 && max_fds <= base_fds + 8;
  std::printf("summary: %" PRIu64 " calls, %" PRIu64
              " churned channels; unexpected statuses %" PRIu64
              "; RSS after warm-up %lld KiB, peak %lld KiB (%s); fds after "
              "warm-up %d, peak %d (%s)\n",
              tally.total(), churned.load(), unexpected, base_rss / 1024,
              max_rss / 1024, rss_ok ? "flat" : "GREW", base_fds, max_fds,
              fds_ok ? "flat" : "GREW");
  return unexpected == 0 && rss_ok && fds_ok ? 0 : 1;
}

}  // namespace
}  // namespace mrpc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return mrpc::Run();
}
