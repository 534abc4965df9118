#include "tools/load/load_driver.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "net/event_loop.h"
#include "net/sync.h"
#include "tools/proc_stat.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9000",
          "server host:port; several (comma-separated) spread connections "
          "round-robin; or one target with a scheme (list://, dns:///, "
          "etcd://), which each connection's channel spreads itself");
ABSL_FLAG(int, conns, 8, "connections");
ABSL_FLAG(int, depth, 8, "closed loop: calls in flight per connection");
ABSL_FLAG(double, duration, 5, "seconds measured (after the warm-up)");
ABSL_FLAG(int64_t, requests, 0,
          "if > 0: stop after this many measured calls instead");
ABSL_FLAG(double, warmup, 1, "seconds of load before measuring");
ABSL_FLAG(int, payload, 16, "payload bytes per call");
ABSL_FLAG(int, threads, 1,
          "client I/O threads (and pacing threads in open loop)");
ABSL_FLAG(double, qps, 0, "if > 0: open loop at this many calls per second");
ABSL_FLAG(double, slow_fraction, 0,
          "fraction of calls sent as slow (SlowEcho)");
ABSL_FLAG(double, slow_ms, 5, "work per slow call, in milliseconds");
ABSL_FLAG(double, deadline_ms, 1000, "deadline per call, in milliseconds");
ABSL_FLAG(int, server_pid, 0, "server process to charge CPU time to (0: none)");
ABSL_FLAG(bool, json, false, "print one JSON object instead of the table");
ABSL_FLAG(bool, progress, true, "print a progress line each second on stderr");

namespace mrpc::load {
namespace {

// The payload of call number `seq`: a rolling byte pattern offset by the
// sequence number (kVariants offsets, each a variant), so an echo of the
// wrong call, or a corrupted one, fails the transport's check. The bytes
// live as long as the runner, so longer than any call.
class Pattern {
 public:
  static constexpr uint32_t kVariants = 256;

  explicit Pattern(size_t size) : size_(size), bytes_(size + kVariants) {
    for (size_t i = 0; i < bytes_.size(); ++i)
      bytes_[i] = static_cast<char>(i * 7 + 3);
  }
  static uint32_t VariantOf(uint64_t seq) { return seq % kVariants; }
  absl::string_view Variant(uint32_t variant) const {
    return absl::string_view(bytes_.data() + variant, size_);
  }
  std::vector<absl::string_view> All() const {
    std::vector<absl::string_view> all;
    for (uint32_t v = 0; v < kVariants; ++v) all.push_back(Variant(v));
    return all;
  }

 private:
  const size_t size_;
  std::vector<char> bytes_;
};

// About `fraction` of sequence numbers, spread evenly and reproducibly.
bool IsSlow(uint64_t seq, double fraction) {
  if (fraction <= 0) return false;
  const uint64_t h = (seq + 1) * 0x9E3779B97F4A7C15ull;
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;
}

constexpr int kCodes = 17;  // absl's canonical codes 0..16.

// One call in flight. Pooled per thread, so issuing a call allocates
// nothing and its completion callback (`this` + a record pointer) fits in
// AnyInvocable's inline storage: the client's own overhead stays small for
// every transport alike.
struct CallRecord {
  size_t conn;
  int64_t start_ns;
  bool slow;
};

// A thread's spare records (freed at thread exit).
std::vector<std::unique_ptr<CallRecord>>& SpareRecords() {
  thread_local std::vector<std::unique_ptr<CallRecord>> spare;
  return spare;
}

CallRecord* TakeRecord() {
  std::vector<std::unique_ptr<CallRecord>>& spare = SpareRecords();
  if (spare.empty()) return new CallRecord;
  CallRecord* record = spare.back().release();
  spare.pop_back();
  return record;
}

void ReturnRecord(CallRecord* record) { SpareRecords().emplace_back(record); }

// Guards one thread's statistics: written by that thread at every
// completion, read about once a second by the progress line and once at the
// end. Taking it is one exchange and releasing it one store; a Mutex cost
// about 90 instructions per call (pthread_mutex_lock and _unlock), on the
// core that also runs the client's channel under load.
class ABSL_LOCKABLE StatsLock {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    while (held_.exchange(true, std::memory_order_acquire)) {
      // Only the reader contends, merging two histograms (microseconds);
      // yield rather than spin against it on a busy core.
      while (held_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    held_.store(false, std::memory_order_release);
  }

 private:
  std::atomic<bool> held_{false};
};

class ABSL_SCOPED_LOCKABLE StatsLockHolder {
 public:
  explicit StatsLockHolder(StatsLock* lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
      : lock_(lock) {
    lock_->Lock();
  }
  ~StatsLockHolder() ABSL_UNLOCK_FUNCTION() { lock_->Unlock(); }
  StatsLockHolder(const StatsLockHolder&) = delete;
  StatsLockHolder& operator=(const StatsLockHolder&) = delete;

 private:
  StatsLock* const lock_;
};

// What one completing thread saw; each thread writes its own, under its own
// lock (contended only by the reader) so the progress reporter can read it.
struct ThreadStats {
  StatsLock lock;
  Histogram fast ABSL_GUARDED_BY(lock);
  Histogram slow ABSL_GUARDED_BY(lock);
  uint64_t codes[kCodes] ABSL_GUARDED_BY(lock) = {};
  uint64_t mismatches ABSL_GUARDED_BY(lock) = 0;
  uint64_t ok_in_window ABSL_GUARDED_BY(lock) = 0;
};

class Runner {
 public:
  Runner(const LoadSpec& spec, EchoTransport* transport)
      : spec_(spec), transport_(transport), pattern_(spec.payload) {}

  absl::StatusOr<LoadReport> Run();

 private:
  // Sends one call on `conn`; its latency counts from `intended_ns` (the
  // pacer's intended time, or the closed loop's previous completion), or
  // from now if 0.
  void Issue(size_t conn, int64_t intended_ns);
  void OnDone(CallRecord* record, absl::StatusCode code, bool checked);
  ThreadStats* MyStats();
  void Pace(int thread_index);
  // Merged histograms and error counts of every thread so far.
  void Snapshot(Histogram* all, uint64_t* errors);

  const LoadSpec spec_;
  EchoTransport* const transport_;
  const Pattern pattern_;
  std::vector<std::unique_ptr<EchoConnection>> conns_;
  std::atomic<uint64_t> next_seq_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> measured_{0};
  std::atomic<uint64_t> dropped_{0};
  int64_t measure_from_ns_ = 0;
  std::atomic<int64_t> measure_until_ns_{INT64_MAX};
  Notification reached_requests_;

  Mutex stats_mutex_;
  std::vector<std::unique_ptr<ThreadStats>> stats_
      ABSL_GUARDED_BY(stats_mutex_);
};

ThreadStats* Runner::MyStats() {
  // Cached per thread, keyed by runner (tests run several in one process).
  thread_local const Runner* owner = nullptr;
  thread_local ThreadStats* mine = nullptr;
  if (owner != this) {
    MutexLock lock(&stats_mutex_);
    stats_.push_back(std::make_unique<ThreadStats>());
    mine = stats_.back().get();
    owner = this;
  }
  return mine;
}

void Runner::Issue(size_t conn, int64_t intended_ns) {
  const uint64_t seq = next_seq_.fetch_add(1, std::memory_order_relaxed);
  const bool slow = IsSlow(seq, spec_.slow_fraction);
  EchoCall call;
  call.seq = seq;
  call.variant = Pattern::VariantOf(seq);
  call.payload = pattern_.Variant(call.variant);
  call.work_us =
      slow ? static_cast<uint32_t>(absl::ToInt64Microseconds(spec_.slow_time))
           : 0;
  call.deadline = spec_.deadline;
  CallRecord* record = TakeRecord();
  record->conn = conn;
  record->slow = slow;
  record->start_ns = intended_ns > 0 ? intended_ns : MonotonicNanos();
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  conns_[conn]->Call(call, [this, record](absl::StatusCode code, bool checked) {
    OnDone(record, code, checked);
  });
}

void Runner::OnDone(CallRecord* record, absl::StatusCode code, bool checked) {
  const size_t conn = record->conn;
  const int64_t start_ns = record->start_ns;
  const bool slow = record->slow;
  ReturnRecord(record);
  const int64_t now = MonotonicNanos();
  const bool ok = code == absl::StatusCode::kOk;
  bool in_window = now >= measure_from_ns_ &&
                   now < measure_until_ns_.load(std::memory_order_relaxed);
  // With a request count, exactly that many completions are measured: the
  // count decides, since completions racing on other threads may all have
  // read the window as still open.
  if (in_window && spec_.requests > 0) {
    const uint64_t n = measured_.fetch_add(1, std::memory_order_relaxed) + 1;
    const uint64_t limit = static_cast<uint64_t>(spec_.requests);
    in_window = n <= limit;
    if (n == limit) {
      measure_until_ns_.store(now, std::memory_order_relaxed);
      reached_requests_.Notify();
    }
  }
  ThreadStats* stats = MyStats();
  {
    StatsLockHolder holder(&stats->lock);
    if (ok && !checked) {
      ++stats->mismatches;
    } else {
      const int c = static_cast<int>(code);
      ++stats->codes[c >= 0 && c < kCodes
                         ? c
                         : static_cast<int>(absl::StatusCode::kUnknown)];
    }
    if (in_window) {
      (slow ? stats->slow : stats->fast).Record(now - start_ns);
      if (ok && checked) ++stats->ok_in_window;
    }
  }
  // Closed loop: the completion sends the next call, from this thread,
  // starting its clock at this one's end (one clock read for both).
  if (spec_.qps <= 0 && !stop_.load(std::memory_order_relaxed)) {
    Issue(conn, now);
  }
  in_flight_.fetch_sub(1, std::memory_order_release);
}

void Runner::Pace(int thread_index) {
  // This thread's share of the rate, on its share of the connections.
  std::vector<size_t> mine;
  for (size_t i = thread_index; i < conns_.size(); i += spec_.threads)
    mine.push_back(i);
  if (mine.empty()) mine.push_back(thread_index % conns_.size());
  const double period_ns = 1e9 * spec_.threads / spec_.qps;
  double next = static_cast<double>(MonotonicNanos()) +
                period_ns * thread_index / spec_.threads;
  size_t rr = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    const int64_t now = MonotonicNanos();
    // Send everything whose intended time has come; latency counts from
    // the intended time, so a stalled client or server cannot hide delay.
    while (next <= now) {
      if (in_flight_.load(std::memory_order_relaxed) >= spec_.max_in_flight) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
      } else {
        Issue(mine[rr++ % mine.size()], static_cast<int64_t>(next));
      }
      next += period_ns;
    }
    const int64_t wait =
        std::min<int64_t>(static_cast<int64_t>(next) - now, 1000000);
    if (wait > 0) absl::SleepFor(absl::Nanoseconds(wait));
  }
}

void Runner::Snapshot(Histogram* all, uint64_t* errors) {
  MutexLock lock(&stats_mutex_);
  for (auto& stats : stats_) {
    StatsLockHolder holder(&stats->lock);
    all->Merge(stats->fast);
    all->Merge(stats->slow);
    *errors += stats->mismatches;
    for (int c = 1; c < kCodes; ++c) *errors += stats->codes[c];
  }
}

absl::StatusOr<LoadReport> Runner::Run() {
  transport_->Prepare(pattern_.All());
  for (int i = 0; i < spec_.conns; ++i) {
    const std::string& target = spec_.targets[i % spec_.targets.size()];
    absl::StatusOr<std::unique_ptr<EchoConnection>> conn =
        transport_->Connect(target, i);
    if (!conn.ok()) {
      return absl::Status(conn.status().code(),
                          absl::StrCat("connection ", i, " to ", target, ": ",
                                       conn.status().message()));
    }
    conns_.push_back(std::move(*conn));
  }
  const int64_t start = MonotonicNanos();
  measure_from_ns_ = start + absl::ToInt64Nanoseconds(spec_.warmup);
  if (spec_.requests <= 0) {
    measure_until_ns_ =
        measure_from_ns_ + absl::ToInt64Nanoseconds(spec_.duration);
  }
  std::vector<std::thread> pacers;
  if (spec_.qps > 0) {
    for (int t = 0; t < spec_.threads; ++t)
      pacers.emplace_back([this, t] { Pace(t); });
  } else {
    for (size_t c = 0; c < conns_.size(); ++c) {
      for (int d = 0; d < spec_.depth; ++d) Issue(c, 0);
    }
  }

  // Report progress each second; sample CPU at the window's edges.
  const pid_t self = getpid();
  double server_cpu_start = -1, client_cpu_start = 0;
  bool window_started = false;
  int64_t last_print = start;
  uint64_t last_count = 0;
  for (;;) {
    const int64_t now = MonotonicNanos();
    if (!window_started && now >= measure_from_ns_) {
      window_started = true;
      server_cpu_start =
          spec_.server_pid > 0 ? ProcessCpuSeconds(spec_.server_pid) : -1;
      client_cpu_start = ProcessCpuSeconds(self);
    }
    if (now >= measure_until_ns_.load()) break;
    if (spec_.progress && now - last_print >= 1000000000) {
      Histogram all;
      uint64_t errors = 0;
      Snapshot(&all, &errors);
      std::fprintf(
          stderr, "[%5.1fs] %10.0f qps | p99 %8.1f us | errors %" PRIu64 "%s\n",
          (now - start) / 1e9,
          (all.count() - last_count) * 1e9 / (now - last_print),
          all.Percentile(99) / 1e3, errors, window_started ? "" : " (warm-up)");
      last_count = all.count();
      last_print = now;
    }
    const int64_t until_end = measure_until_ns_.load() - now;
    const int64_t until_start =
        window_started ? INT64_MAX : measure_from_ns_ - now;
    // No progress lines: nothing to wake up for but the window's edges.
    const int64_t until_print =
        spec_.progress ? last_print + 1000000000 - now : int64_t{INT64_MAX};
    const int64_t wait = std::max<int64_t>(
        0, std::min({until_end, until_start, until_print, int64_t{200000000}}));
    if (spec_.requests > 0) {
      reached_requests_.WaitForNotificationWithTimeout(absl::Nanoseconds(wait));
    } else {
      absl::SleepFor(absl::Nanoseconds(wait));
    }
  }
  const double server_cpu_end =
      spec_.server_pid > 0 ? ProcessCpuSeconds(spec_.server_pid) : -1;
  const double client_cpu_end = ProcessCpuSeconds(self);

  stop_ = true;
  for (std::thread& t : pacers) t.join();
  // Let the calls in flight finish (each has a deadline).
  const absl::Time drain_limit =
      absl::Now() + spec_.deadline + absl::Seconds(2);
  while (in_flight_.load(std::memory_order_acquire) > 0 &&
         absl::Now() < drain_limit) {
    absl::SleepFor(absl::Milliseconds(1));
  }

  LoadReport report;
  report.transport = transport_->name();
  report.measured =
      absl::Nanoseconds(measure_until_ns_.load() - measure_from_ns_);
  report.dropped = dropped_.load();
  if (server_cpu_start >= 0 && server_cpu_end >= 0) {
    report.server_cpu_seconds = server_cpu_end - server_cpu_start;
  }
  report.client_cpu_seconds = client_cpu_end - client_cpu_start;
  {
    MutexLock lock(&stats_mutex_);
    for (auto& stats : stats_) {
      StatsLockHolder holder(&stats->lock);
      report.fast.Merge(stats->fast);
      report.slow.Merge(stats->slow);
      report.ok += stats->ok_in_window;
      for (int c = 1; c < kCodes; ++c) {
        if (stats->codes[c] > 0) {
          report.errors[absl::StatusCodeToString(
              static_cast<absl::StatusCode>(c))] += stats->codes[c];
        }
      }
      if (stats->mismatches > 0) report.errors["MISMATCH"] += stats->mismatches;
    }
  }
  if (in_flight_.load() > 0)
    report.errors["NEVER_COMPLETED"] += in_flight_.load();
  if (report.dropped > 0) report.errors["DROPPED_BY_CLIENT"] += report.dropped;
  report.servers = transport_->CallsByServer();
  // Connections close here, while the runner (their callbacks' target) lives.
  conns_.clear();
  return report;
}

}  // namespace

double LoadReport::qps() const {
  const double seconds = absl::ToDoubleSeconds(measured);
  return seconds > 0 ? measured_calls() / seconds : 0;
}

uint64_t LoadReport::error_count() const {
  uint64_t n = 0;
  for (const auto& [name, count] : errors) n += count;
  return n;
}

LoadSpec SpecFromFlags() {
  LoadSpec spec;
  spec.targets = SplitTargets(absl::GetFlag(FLAGS_target));
  spec.conns = std::max(1, absl::GetFlag(FLAGS_conns));
  spec.depth = std::max(1, absl::GetFlag(FLAGS_depth));
  spec.duration = absl::Seconds(absl::GetFlag(FLAGS_duration));
  spec.requests = absl::GetFlag(FLAGS_requests);
  spec.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup));
  spec.payload = std::max(0, absl::GetFlag(FLAGS_payload));
  spec.threads = std::max(1, absl::GetFlag(FLAGS_threads));
  spec.qps = absl::GetFlag(FLAGS_qps);
  spec.slow_fraction = absl::GetFlag(FLAGS_slow_fraction);
  spec.slow_time = absl::Milliseconds(absl::GetFlag(FLAGS_slow_ms));
  spec.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_deadline_ms));
  spec.server_pid = absl::GetFlag(FLAGS_server_pid);
  spec.progress = absl::GetFlag(FLAGS_progress);
  return spec;
}

bool JsonFromFlags() { return absl::GetFlag(FLAGS_json); }

std::vector<std::string> SplitTargets(absl::string_view flag) {
  // A scheme's own commas (list://a,b; etcd://h1,h2/path) are its own.
  if (absl::StrContains(flag, ":/")) return {std::string(flag)};
  return absl::StrSplit(flag, ',', absl::SkipEmpty());
}

absl::StatusOr<LoadReport> Run(const LoadSpec& spec, EchoTransport* transport) {
  if (spec.targets.empty()) return absl::InvalidArgumentError("no --target");
  Runner runner(spec, transport);
  return runner.Run();
}

namespace {

std::string LatencyJson(const Histogram& h) {
  return absl::StrFormat(
      "{\"count\": %d, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, "
      "\"p999_us\": %.2f, \"max_us\": %.2f}",
      h.count(), h.Percentile(50) / 1e3, h.Percentile(90) / 1e3,
      h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3, h.max() / 1e3);
}

std::string LatencyRow(const Histogram& h) {
  return absl::StrFormat("%-9.1f %-9.1f %-9.1f %-10.1f %-9.1f",
                         h.Percentile(50) / 1e3, h.Percentile(90) / 1e3,
                         h.Percentile(99) / 1e3, h.Percentile(99.9) / 1e3,
                         h.max() / 1e3);
}

}  // namespace

void PrintReport(const LoadSpec& spec, const LoadReport& report, bool json) {
  Histogram all = report.fast;
  all.Merge(report.slow);
  const uint64_t calls = report.measured_calls();
  const double server_us = report.server_cpu_seconds >= 0 && calls > 0
                               ? report.server_cpu_seconds * 1e6 / calls
                               : -1;
  const double client_us =
      calls > 0 ? report.client_cpu_seconds * 1e6 / calls : -1;
  uint64_t server_total = 0;
  for (const auto& [address, n] : report.servers) server_total += n;
  std::vector<std::string> servers;
  for (const auto& [address, n] : report.servers) {
    servers.push_back(json ? absl::StrFormat("\"%s\": %d", address, n)
                           : absl::StrFormat("%s %d (%.1f%%)", address, n,
                                             100.0 * n / server_total));
  }
  if (json) {
    std::vector<std::string> errors;
    for (const auto& [name, count] : report.errors) {
      errors.push_back(absl::StrFormat("\"%s\": %d", name, count));
    }
    absl::PrintF(
        "{\"transport\": \"%s\", \"targets\": \"%s\", \"conns\": %d, "
        "\"depth\": %d, "
        "\"payload\": %d, \"threads\": %d, \"qps_target\": %.1f, "
        "\"slow_fraction\": %g, "
        "%s"
        "\"seconds\": %.3f, \"requests\": %d, \"ok\": %d, \"qps\": %.1f, "
        "\"p50_us\": %.2f, "
        "\"p90_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, \"max_us\": "
        "%.2f, "
        "\"fast\": %s, \"slow\": %s, \"errors\": {%s}, \"error_count\": %d, "
        "\"server_cpu_us_per_req\": %.3f, \"client_cpu_us_per_req\": %.3f, "
        "\"servers\": {%s}}\n",
        report.transport, absl::StrJoin(spec.targets, ","), spec.conns,
        spec.depth, spec.payload, spec.threads, spec.qps, spec.slow_fraction,
        spec.method.empty()
            ? std::string()
            : absl::StrFormat("\"method\": \"%s\", ", spec.method),
        absl::ToDoubleSeconds(report.measured), calls, report.ok, report.qps(),
        all.Percentile(50) / 1e3, all.Percentile(90) / 1e3,
        all.Percentile(99) / 1e3, all.Percentile(99.9) / 1e3, all.max() / 1e3,
        LatencyJson(report.fast), LatencyJson(report.slow),
        absl::StrJoin(errors, ", "), report.error_count(), server_us, client_us,
        absl::StrJoin(servers, ", "));
    return;
  }
  absl::PrintF(
      "%s load: %d connection(s) x %s, %s, %s, %.1f s measured -> %s\n",
      report.transport, spec.conns,
      spec.qps > 0 ? absl::StrFormat("open loop at %.0f qps", spec.qps)
                   : absl::StrFormat("%d in flight (closed loop)", spec.depth),
      spec.method.empty() ? absl::StrFormat("%d-byte payload", spec.payload)
                          : spec.method,
      spec.requests > 0 ? absl::StrFormat("%d requests", spec.requests)
                        : absl::StrFormat("%.1f s warm-up",
                                          absl::ToDoubleSeconds(spec.warmup)),
      absl::ToDoubleSeconds(report.measured), absl::StrJoin(spec.targets, ","));
  absl::PrintF("  %-10s %-11s %-9s %-9s %-9s %-10s %-9s\n", "", "qps", "p50 us",
               "p90 us", "p99 us", "p99.9 us", "max us");
  absl::PrintF("  %-10s %-11.0f %s\n", "all", report.qps(),
               LatencyRow(all).c_str());
  if (report.slow.count() > 0) {
    absl::PrintF("  %-10s %-11.0f %s\n", "fast",
                 report.fast.count() / absl::ToDoubleSeconds(report.measured),
                 LatencyRow(report.fast).c_str());
    absl::PrintF("  %-10s %-11.0f %s\n",
                 absl::StrFormat("slow %.0fms",
                                 absl::ToDoubleMilliseconds(spec.slow_time)),
                 report.slow.count() / absl::ToDoubleSeconds(report.measured),
                 LatencyRow(report.slow).c_str());
  }
  absl::PrintF("  calls measured: %" PRIu64 "\n", calls);
  if (report.errors.empty()) {
    absl::PrintF("  errors: none\n");
  } else {
    std::vector<std::string> errors;
    for (const auto& [name, count] : report.errors) {
      errors.push_back(absl::StrFormat("%s %d", name, count));
    }
    absl::PrintF("  errors: %s\n", absl::StrJoin(errors, ", "));
  }
  if (!servers.empty()) {
    absl::PrintF("  requests by server (whole run, retries included): %s\n",
                 absl::StrJoin(servers, ", "));
  }
  if (server_us >= 0) absl::PrintF("  server CPU: %.3f us/call\n", server_us);
  absl::PrintF("  client CPU: %.3f us/call\n", client_us);
}

int RunFromFlags(EchoTransport* transport) {
  return RunFromFlags(SpecFromFlags(), transport);
}

int RunFromFlags(const LoadSpec& spec, EchoTransport* transport) {
  absl::StatusOr<LoadReport> report = Run(spec, transport);
  if (!report.ok()) {
    std::fprintf(stderr, "load: %s\n", report.status().ToString().c_str());
    return 1;
  }
  PrintReport(spec, *report, JsonFromFlags());
  return report->error_count() == 0 && report->measured_calls() > 0 ? 0 : 1;
}

}  // namespace mrpc::load
