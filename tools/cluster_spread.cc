// How a cluster channel spreads calls over its servers, per load balancing
// policy and per fleet condition: all servers equal, one server 5 ms
// slower, one server failing every call. Three servers in this process on
// loopback, a list:// channel, closed-loop load; prints a Markdown table
// (docs/benchmarks.md) of each server's share of the calls that succeeded,
// the failures seen by callers, and the attempts per call.
//
//   bazel run --config=opt //tools:cluster_spread -- --calls=20000 --depth=16
#include <glog/logging.h>

#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "net/event_loop.h"
#include "net/sync.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"

ABSL_FLAG(int, calls, 20000, "calls per cell");
ABSL_FLAG(int, depth, 16, "calls in flight");

namespace mrpc {
namespace {

constexpr char kService[] = "mrpc.tools.Spread";

// A server whose one method answers its port, after `delay_ms` or failing
// with UNAVAILABLE when told to.
class Backend {
 public:
  Backend() {
    absl::Status status = server_.RegisterMethod<echo::EchoRequest,
                                                 echo::EchoResponse>(
        kService, "Who",
        [this](ServerContext* ctx, const echo::EchoRequest&,
               echo::EchoResponse* resp, RpcDone done) {
          if (failing.load()) {
            done(absl::UnavailableError("failing"));
            return;
          }
          resp->set_payload(absl::StrCat(server_.port()));
          const int delay = delay_ms.load();
          if (delay == 0) {
            done(absl::OkStatus());
            return;
          }
          ctx->loop()->RunAfter(absl::Milliseconds(delay),
                                [done = std::move(done)]() mutable {
                                  done(absl::OkStatus());
                                });
        });
    CHECK(status.ok()) << status;
    CHECK(server_.Start("127.0.0.1:0").ok());
  }
  ~Backend() {
    server_.Shutdown();
    server_.Wait();
  }
  std::string address() const {
    return absl::StrCat("127.0.0.1:", server_.port());
  }
  std::string port() const { return absl::StrCat(server_.port()); }

  std::atomic<int> delay_ms{0};
  std::atomic<bool> failing{false};

 private:
  Server server_;
};

struct Cell {
  std::map<std::string, int> ok_by_port;
  int failed = 0;
  uint64_t attempts = 0;
};

Cell Drive(const std::string& target, const std::string& policy, int calls,
           int depth, bool keyed) {
  ChannelOptions options;
  options.cluster.lb_policy = policy;
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(target, options);
  CHECK(channel.ok()) << channel.status();
  // Warm-up: every connection up, latency estimates primed.
  for (int i = 0; i < 300; ++i) {
    echo::EchoRequest request;
    echo::EchoResponse response;
    ClientContext context;
    context.set_timeout(absl::Seconds(5));
    (*channel)
        ->CallMethodBlocking(MethodName{kService, "Who", true}, request,
                             &response, &context)
        .IgnoreError();
  }
  const uint64_t attempts_before = (*channel)->stats().attempts;
  Cell cell;
  Mutex mu;
  std::atomic<int> next{0};
  CountDownLatch finished(calls);
  struct Call {
    echo::EchoRequest request;
    echo::EchoResponse response;
    ClientContext context;
  };
  std::function<void()> start = [&] {
    const int i = next.fetch_add(1);
    if (i >= calls) return;
    auto call = std::make_shared<Call>();
    call->context.set_timeout(absl::Seconds(5));
    if (keyed) call->context.set_hash_key(absl::StrCat("key-", i % 1000));
    (*channel)->CallMethod(
        MethodName{kService, "Who", /*idempotent=*/true}, call->request,
        &call->response, &call->context, [&, call](absl::Status status) {
          {
            MutexLock lock(&mu);
            if (status.ok()) {
              ++cell.ok_by_port[call->response.payload()];
            } else {
              ++cell.failed;
            }
          }
          start();
          finished.CountDown();
        });
  };
  for (int d = 0; d < depth; ++d) start();
  finished.Wait();
  cell.attempts = (*channel)->stats().attempts - attempts_before;
  return cell;
}

int Main() {
  const int calls = absl::GetFlag(FLAGS_calls);
  const int depth = absl::GetFlag(FLAGS_depth);
  Backend a, b, c;
  const std::string target =
      absl::StrCat("list://", a.address(), ",", b.address(), ",", c.address());
  std::printf(
      "%d calls per cell, %d in flight, 3 servers (A, B, C) in one process "
      "on loopback; shares are of the calls that succeeded.\n\n",
      calls, depth);
  std::printf(
      "| fleet | policy | A | B | C | callers' failures | attempts per call "
      "|\n|---|---|---|---|---|---|---|\n");
  struct Condition {
    const char* name;
    std::function<void()> apply;
  };
  const std::vector<Condition> conditions = {
      {"all equal", [&] {}},
      {"C 5 ms slower", [&] { c.delay_ms = 5; }},
      {"C fails every call", [&] {
         c.delay_ms = 0;
         c.failing = true;
       }}};
  for (const Condition& condition : conditions) {
    condition.apply();
    for (const char* policy : {"round_robin", "p2c", "consistent_hash"}) {
      const bool keyed = std::string(policy) == "consistent_hash";
      Cell cell = Drive(target, policy, calls, depth, keyed);
      int ok = 0;
      for (const auto& [port, n] : cell.ok_by_port) ok += n;
      auto share = [&](const Backend& backend) {
        return absl::StrFormat("%.1f%%",
                               ok > 0 ? 100.0 * cell.ok_by_port[backend.port()] / ok
                                      : 0.0);
      };
      std::printf("| %s | %s%s | %s | %s | %s | %d | %.3f |\n", condition.name,
                  policy, keyed ? " (1000 keys)" : "", share(a).c_str(),
                  share(b).c_str(), share(c).c_str(), cell.failed,
                  static_cast<double>(cell.attempts) / calls);
    }
  }
  return 0;
}

}  // namespace
}  // namespace mrpc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  return mrpc::Main();
}
