// Opens many idle mrpc connections (each makes one call, then only sends
// heartbeats) and reports what they cost the server: RSS growth per
// connection and CPU while idle.
//
//   idle_conns --target=127.0.0.1:9000 --server_pid=N --conns=10000
//       --hold=30 [--heartbeat_ms=10000] [--loops=2] [--json]
//
// The channels share --loops client loops (a channel per loop thread would
// be 10,000 threads).
#include <glog/logging.h>
#include <sys/resource.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "proto/echo.mrpc.h"
#include "rpc/channel.h"
#include "tools/proc_stat.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9000", "server host:port");
ABSL_FLAG(int, server_pid, 0,
          "the server process (required: its RSS and CPU are measured)");
ABSL_FLAG(int, conns, 10000, "connections to open");
ABSL_FLAG(double, hold, 30, "seconds to hold them idle while measuring CPU");
ABSL_FLAG(int, heartbeat_ms, 10000, "client heartbeat interval (timeout = 3x)");
ABSL_FLAG(int, loops, 2, "client loop threads the channels share");
ABSL_FLAG(bool, json, false, "print one JSON object");

namespace mrpc {
namespace {

int Run() {
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const int conns = absl::GetFlag(FLAGS_conns);
  if (pid <= 0) {
    fprintf(stderr, "--server_pid is required\n");
    return 2;
  }
  // One fd per connection, plus some.
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  std::vector<std::unique_ptr<EventLoopThread>> threads;
  std::vector<EventLoop*> loops;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_loops)); ++i) {
    threads.push_back(
        std::make_unique<EventLoopThread>(absl::StrCat("idle", i)));
    absl::StatusOr<EventLoop*> loop = threads.back()->Start();
    if (!loop.ok()) {
      fprintf(stderr, "cannot start client loop %d: %s\n", i,
              loop.status().ToString().c_str());
      return 1;
    }
    loops.push_back(*loop);
  }
  const long long rss_before = ProcessRssBytes(pid);
  std::vector<std::unique_ptr<Channel>> channels;
  channels.reserve(conns);
  CountDownLatch connected(conns);
  std::atomic<int> failed{0};
  echo::EchoRequest request;
  request.set_payload("hello");
  std::vector<echo::EchoResponse> responses(conns);
  for (int i = 0; i < conns; ++i) {
    ChannelOptions options;
    options.loop = loops[i % loops.size()];
    options.heartbeat_interval =
        absl::Milliseconds(absl::GetFlag(FLAGS_heartbeat_ms));
    options.heartbeat_timeout = 3 * options.heartbeat_interval;
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::GetFlag(FLAGS_target), options);
    if (!channel.ok()) {
      fprintf(stderr, "channel %d: %s\n", i,
              channel.status().ToString().c_str());
      return 1;
    }
    (*channel)->CallMethod(echo::EchoService::kServiceName, "Echo", request,
                           &responses[i], nullptr, [&](absl::Status status) {
                             if (!status.ok()) ++failed;
                             connected.CountDown();
                           });
    channels.push_back(std::move(*channel));
  }
  if (!connected.WaitWithTimeout(absl::Seconds(120)) || failed > 0) {
    fprintf(stderr, "only %d of %d connections made a call (%d failed)\n",
            conns - connected.count(), conns, failed.load());
    return 1;
  }
  // Let the server settle (queued work, freed buffers) before reading RSS.
  absl::SleepFor(absl::Seconds(1));
  const long long rss_after = ProcessRssBytes(pid);

  const double hold = absl::GetFlag(FLAGS_hold);
  const double cpu_start = ProcessCpuSeconds(pid);
  const absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(hold));  // The measurement window itself.
  const double cpu = ProcessCpuSeconds(pid) - cpu_start;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  uint64_t pings = 0, losses = 0;
  for (const auto& channel : channels) {
    const ChannelStats stats = channel->stats();
    pings += stats.pings;
    losses += stats.connection_losses;
  }
  const double per_conn = static_cast<double>(rss_after - rss_before) / conns;
  const double idle_cpu_percent = 100.0 * cpu / seconds;
  if (absl::GetFlag(FLAGS_json)) {
    printf(
        "{\"conns\": %d, \"rss_before_kib\": %lld, \"rss_after_kib\": %lld, "
        "\"rss_per_conn_bytes\": %.0f, \"idle_seconds\": %.1f, "
        "\"idle_cpu_percent\": %.3f, "
        "\"heartbeat_ms\": %d, \"pings\": %llu, \"connection_losses\": %llu}\n",
        conns, rss_before / 1024, rss_after / 1024, per_conn, seconds,
        idle_cpu_percent, absl::GetFlag(FLAGS_heartbeat_ms),
        static_cast<unsigned long long>(pings),
        static_cast<unsigned long long>(losses));
  } else {
    printf("%d idle connections (heartbeat every %d ms):\n", conns,
           absl::GetFlag(FLAGS_heartbeat_ms));
    printf("  server RSS: %lld KiB -> %lld KiB, %.0f bytes per connection\n",
           rss_before / 1024, rss_after / 1024, per_conn);
    printf(
        "  server CPU while idle: %.3f%% of one core over %.1f s (%llu pings "
        "sent)\n",
        idle_cpu_percent, seconds, static_cast<unsigned long long>(pings));
    printf("  connections lost: %llu\n",
           static_cast<unsigned long long>(losses));
  }
  channels.clear();
  return losses == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mrpc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return mrpc::Run();
}
