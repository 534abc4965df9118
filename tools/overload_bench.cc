// overload_bench: issue 11, item 5 measured. A server whose one method runs
// on a worker pool with a known capacity (--workers each sleeping
// --work_ms: 4 x 2 ms = ~2000 calls/s, sleep-bound so a 2-core VM can
// drive it) is measured unloaded (open loop at 20% of capacity), at its
// peak (closed loop, 2 calls per worker, protection off), then driven
// open-loop at --factor x capacity (the nominal workers / work_ms, or the
// measured peak if higher) for --seconds with overload
// protection ON and OFF (alternating, --passes times). Reports per phase:
// goodput (OK answers within the deadline, per second), the accepted calls'
// p50/p99, and how many calls were refused RESOURCE_EXHAUSTED and how fast.
// Each overload phase starts on a new server after 1 s at 20% of capacity
// (--cold: without it).
//
// Tool-only. One process: the server (one I/O loop + workers), the client
// channel (its own loop) and the pacing thread (sends each call at its
// time, answered or not).
//
//   bazel run -c opt //tools:overload_bench -- --seconds=5 --passes=3
#include <glog/logging.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/sync.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tools/histogram.h"

ABSL_FLAG(int, workers, 4, "worker threads of the server");
ABSL_FLAG(int, work_ms, 2, "each call sleeps this long on a worker");
ABSL_FLAG(double, factor, 2.0, "overload: offered rate / measured peak");
ABSL_FLAG(int, seconds, 5, "length of each overload phase");
ABSL_FLAG(int, passes, 3, "ON/OFF overload pairs (order alternates)");
ABSL_FLAG(int, deadline_ms, 100, "each call's deadline");
ABSL_FLAG(int, loops, 1, "server I/O loops (one connection each)");
ABSL_FLAG(bool, cold, false,
          "overload a fresh server (no warm-up at 20% of capacity first)");

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;

constexpr char kService[] = "mrpc.bench.Overload";

struct Phase {
  std::string name;
  double seconds = 0;
  uint64_t sent = 0;
  uint64_t ok = 0;       // OK within the deadline.
  uint64_t late = 0;     // OK, but after the deadline (not goodput).
  uint64_t refused = 0;  // RESOURCE_EXHAUSTED.
  uint64_t deadline = 0;
  uint64_t other = 0;
  Histogram ok_ns, refused_ns;
  Histogram steady_ns;  // OK calls sent after the phase's first 0.5 s.
  Histogram in_flight;  // The server's calls in flight, sampled.
  ServerStats stats;
  double goodput() const { return ok / seconds; }
};

struct Recorder {
  Mutex mutex;
  Phase phase ABSL_GUARDED_BY(mutex);
};

struct Pending {
  EchoRequest req;
  EchoResponse resp;
  ClientContext ctx;
  absl::Time sent;
};

class Bench {
 public:
  Bench(bool protection, int loops) {
    ServerOptions options;
    options.num_threads = loops;
    options.worker_threads = absl::GetFlag(FLAGS_workers);
    options.overload_protection = protection;
    options.shutdown_grace = absl::Seconds(1);
    server_ = std::make_unique<Server>(options);
    MethodOptions method;
    method.use_worker_pool = true;
    const int work_ms = absl::GetFlag(FLAGS_work_ms);
    absl::Status registered = server_->RegisterMethod<EchoRequest, EchoResponse>(
        kService, "Work",
        [work_ms](ServerContext*, const EchoRequest& req, EchoResponse* resp,
                  RpcDone done) {
          absl::SleepFor(absl::Milliseconds(work_ms));
          resp->set_payload(req.payload());
          done(absl::OkStatus());
        },
        method);
    CHECK(registered.ok()) << registered;
    CHECK(server_->Start("127.0.0.1:0").ok());
    for (int i = 0; i < loops; ++i) {
      auto channel =
          Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
      CHECK(channel.ok()) << channel.status();
      channels_.push_back(std::move(*channel));
    }
  }
  ~Bench() {
    channels_.clear();
    server_->Shutdown();
    server_->Wait();
  }

  // Open loop at `qps` for `duration`.
  Phase OpenLoop(const std::string& name, double qps, absl::Duration duration) {
    Reset(name);
    const absl::Time start = absl::Now();
    const absl::Duration gap = absl::Seconds(1) / qps;
    const int64_t total = static_cast<int64_t>(qps * absl::ToDoubleSeconds(duration));
    for (int64_t i = 0; i < total; ++i) {
      const absl::Time due = start + gap * i;
      const absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
      Send(i, nullptr);
      if (i % 64 == 0) {
        const int64_t n = server_->stats().calls_in_flight;
        MutexLock lock(&recorder_.mutex);
        recorder_.phase.in_flight.Record(n);
      }
    }
    return Finish(absl::Now() - start);
  }

  // Closed loop: `depth` calls always in flight, for `duration`.
  Phase ClosedLoop(const std::string& name, int depth, absl::Duration duration) {
    Reset(name);
    const absl::Time start = absl::Now();
    stop_at_ = start + duration;
    for (int i = 0; i < depth; ++i) Send(i, &stop_at_);
    absl::SleepFor(duration);
    return Finish(duration);
  }

 private:
  void Reset(const std::string& name) {
    MutexLock lock(&recorder_.mutex);
    recorder_.phase = Phase();
    recorder_.phase.name = name;
    phase_start_ = absl::Now();
    base_ = server_->stats();
  }

  Phase Finish(absl::Duration elapsed) {
    // Wait out the calls in flight (each ends by its deadline).
    while (in_flight_.load() > 0) absl::SleepFor(absl::Milliseconds(5));
    MutexLock lock(&recorder_.mutex);
    Phase p = recorder_.phase;
    p.seconds = absl::ToDoubleSeconds(elapsed);
    ServerStats s = server_->stats();
    p.stats.limited = s.limited - base_.limited;
    p.stats.shed = s.shed - base_.shed;
    p.stats.overloaded = s.overloaded - base_.overloaded;
    p.stats.deadline_exceeded = s.deadline_exceeded - base_.deadline_exceeded;
    return p;
  }

  // One call; with `until`, a closed loop: the answer sends the next.
  void Send(int64_t i, const absl::Time* until) {
    auto* call = new Pending;
    call->req.set_payload("x");
    const absl::Duration deadline =
        absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
    call->ctx.set_timeout(deadline);
    call->sent = absl::Now();
    ++in_flight_;
    {
      MutexLock lock(&recorder_.mutex);
      ++recorder_.phase.sent;
    }
    Channel* channel = channels_[i % channels_.size()].get();
    channel->CallMethod(
        kService, "Work", call->req, &call->resp, &call->ctx,
        [this, call, i, until, deadline](absl::Status s) {
          const absl::Time call_sent = call->sent;
          const absl::Duration latency = absl::Now() - call_sent;
          delete call;
          {
            MutexLock lock(&recorder_.mutex);
            Phase& p = recorder_.phase;
            const int64_t ns = absl::ToInt64Nanoseconds(latency);
            if (s.ok() && latency <= deadline) {
              ++p.ok;
              p.ok_ns.Record(ns);
              if (call_sent - phase_start_ >= absl::Milliseconds(500)) {
                p.steady_ns.Record(ns);
              }
            } else if (s.ok()) {
              ++p.late;
            } else if (s.code() == absl::StatusCode::kResourceExhausted) {
              ++p.refused;
              p.refused_ns.Record(ns);
            } else if (s.code() == absl::StatusCode::kDeadlineExceeded) {
              ++p.deadline;
            } else {
              ++p.other;
            }
          }
          if (until != nullptr && absl::Now() < *until) Send(i, until);
          --in_flight_;
        });
  }

  std::unique_ptr<Server> server_;
  std::vector<std::unique_ptr<Channel>> channels_;
  Recorder recorder_;
  ServerStats base_;
  absl::Time stop_at_;
  absl::Time phase_start_;  // Written before the phase's calls are sent.
  std::atomic<int64_t> in_flight_{0};
};

double Ms(int64_t ns) { return ns / 1e6; }

void Print(const Phase& p) {
  std::printf(
      "  %-12s %5.0f sent/s %5.0f goodput/s | ok p50 %5.2f p99 %6.2f "
      "(after 0.5 s %6.2f) ms | "
      "refused %6" PRIu64 " p50 %5.3f p99 %5.3f ms | late %" PRIu64
      " deadline %" PRIu64 " other %" PRIu64 " | limited %" PRIu64
      " shed %" PRIu64 " pool-full %" PRIu64 " | in flight p50 %" PRId64
      " p99 %" PRId64 "\n",
      p.name.c_str(), p.sent / p.seconds, p.goodput(),
      Ms(p.ok_ns.Percentile(50)), Ms(p.ok_ns.Percentile(99)),
      Ms(p.steady_ns.Percentile(99)), p.refused,
      Ms(p.refused_ns.Percentile(50)), Ms(p.refused_ns.Percentile(99)),
      p.late, p.deadline, p.other, p.stats.limited, p.stats.shed,
      p.stats.overloaded, p.in_flight.Percentile(50),
      p.in_flight.Percentile(99));
  std::fflush(stdout);
}

int Main() {
  const int workers = absl::GetFlag(FLAGS_workers);
  const int work_ms = absl::GetFlag(FLAGS_work_ms);
  const int loops = absl::GetFlag(FLAGS_loops);
  const double nominal = 1000.0 * workers / work_ms;
  const absl::Duration seconds = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  std::printf("overload_bench: %d workers x %d ms (nominal %.0f calls/s), "
              "deadline %d ms, %d loop(s)\n",
              workers, work_ms, nominal, absl::GetFlag(FLAGS_deadline_ms),
              loops);
  Phase unloaded, peak;
  {
    Bench bench(/*protection=*/true, loops);
    bench.OpenLoop("warmup", 0.2 * nominal, absl::Seconds(1));
    unloaded = bench.OpenLoop("unloaded", 0.2 * nominal, absl::Seconds(3));
    Print(unloaded);
  }
  {
    Bench bench(/*protection=*/false, loops);
    peak = bench.ClosedLoop("peak", 2 * workers, absl::Seconds(3));
    Print(peak);
  }
  // Capacity: the nominal one (sleep-bound), or the measured peak if a
  // noisy peak phase saw more.
  const double capacity = std::max(nominal, peak.goodput());
  const double offered = absl::GetFlag(FLAGS_factor) * capacity;
  std::printf("overload: open loop at %.0f calls/s (%.1fx capacity %.0f/s) "
              "for %d s\n",
              offered, absl::GetFlag(FLAGS_factor), capacity,
              absl::GetFlag(FLAGS_seconds));
  std::vector<double> on_goodput, off_goodput, on_p99, off_p99, on_refused_p99,
      on_steady_p99;
  for (int pass = 0; pass < absl::GetFlag(FLAGS_passes); ++pass) {
    for (int k = 0; k < 2; ++k) {
      const bool on = (k == 0) == (pass % 2 == 0);
      Bench bench(on, loops);
      // Overload hits a server that was serving normally (and so knows the
      // method's unloaded latency); --cold skips that.
      if (!absl::GetFlag(FLAGS_cold)) {
        bench.OpenLoop("warmup", 0.2 * nominal, absl::Seconds(1));
      }
      Phase p = bench.OpenLoop(on ? "limiter ON" : "limiter OFF", offered,
                               seconds);
      Print(p);
      (on ? on_goodput : off_goodput).push_back(p.goodput());
      (on ? on_p99 : off_p99).push_back(Ms(p.ok_ns.Percentile(99)));
      if (on) {
        on_refused_p99.push_back(Ms(p.refused_ns.Percentile(99)));
        on_steady_p99.push_back(Ms(p.steady_ns.Percentile(99)));
      }
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  const double unloaded_p99 = Ms(unloaded.ok_ns.Percentile(99));
  std::printf(
      "summary (medians of %d passes): peak %.0f/s (capacity %.0f/s), "
      "unloaded p99 %.2f ms\n"
      "  ON : goodput %.0f/s = %.0f%% of capacity, accepted p99 %.2f ms = %.2fx "
      "unloaded (after 0.5 s: %.2f ms = %.2fx), refused p99 %.3f ms\n"
      "  OFF: goodput %.0f/s = %.0f%% of capacity, accepted p99 %.2f ms = %.2fx "
      "unloaded\n",
      absl::GetFlag(FLAGS_passes), peak.goodput(), capacity, unloaded_p99,
      median(on_goodput), 100 * median(on_goodput) / capacity,
      median(on_p99), median(on_p99) / unloaded_p99, median(on_steady_p99),
      median(on_steady_p99) / unloaded_p99, median(on_refused_p99),
      median(off_goodput), 100 * median(off_goodput) / capacity,
      median(off_p99), median(off_p99) / unloaded_p99);
  return 0;
}

}  // namespace
}  // namespace mrpc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  return mrpc::Main();
}
