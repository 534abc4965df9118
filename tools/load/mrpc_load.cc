// mrpc's load tester: drives any server of proto/echo.proto's EchoService
// (Echo, and SlowEcho for the slow mix) over mrpc channels, with the shared
// load driver's flags and report.
//
//   bazel run --config=opt //tools/load:mrpc_load -- --target=127.0.0.1:9000 \
//       --conns=8 --depth=8 --payload=16 --duration=5 --warmup=1 [--qps=N]
//       [--slow_fraction=0.01 --slow_ms=5] [--json]
//
// Any channel target works ("list://a:1,b:2", "dns:///host:9000",
// "etcd://127.0.0.1:2379/services/echo"), with --lb=round_robin|p2c|
// consistent_hash and --backup_ms; the report then says how many requests
// went to each server. Echo and SlowEcho have no side effects, so a cluster
// channel retries them and may send backup requests.
//
// Over TLS with the examples' client flags: --tls, --tls_ca=ca.pem,
// --tls_cert=client.pem --tls_key=client.key, --tls_server_name=NAME
// (examples/common/tls_client_flags.h). Handshakes happen at connect, before
// the measurement.
//
// Connections are spread over --threads client loops; completions run on
// those loops and, in the closed loop, send the next call from there.
#include <glog/logging.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "examples/common/tls_client_flags.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "proto/echo.mrpc.h"
#include "rpc/channel.h"
#include "tools/load/load_driver.h"

ABSL_FLAG(std::string, lb, "round_robin",
          "load balancing over a target's servers: round_robin, p2c or "
          "consistent_hash (calls here carry no key, so it goes round robin)");
ABSL_FLAG(double, backup_ms, 0,
          "if > 0: send a backup request to a second server after this long");
ABSL_FLAG(int, noop_interceptors, 0,
          "client interceptors that do nothing, per channel (to measure "
          "what the interceptor chain costs)");

namespace mrpc::load {
namespace {

class MrpcConnection : public EchoConnection {
 public:
  explicit MrpcConnection(std::unique_ptr<Channel> channel)
      : channel_(std::move(channel)) {}
  Channel* channel() const { return channel_.get(); }

  void Call(const EchoCall& call, EchoDone done) override {
    // The request is encoded before CallMethod returns (straight into the
    // socket buffer on the channel's loop), so one per thread, reused,
    // serves every call without allocating.
    thread_local echo::EchoRequest request;
    request.set_payload(call.payload.data(), call.payload.size());
    request.set_work_us(call.work_us);
    Op* op = TakeOp();
    op->done = std::move(done);
    op->sent = call.payload;
    static const MethodName kEcho = {echo::EchoService::kServiceName, "Echo",
                                     /*idempotent=*/true};
    static const MethodName kSlowEcho = {echo::EchoService::kServiceName,
                                         "SlowEcho", /*idempotent=*/true};
    channel_->CallMethod(
        call.work_us > 0 ? kSlowEcho : kEcho, request, &op->response,
        /*context=*/nullptr, [op](absl::Status status) {
          EchoDone done = std::move(op->done);
          const bool checked = op->response.payload() == op->sent;
          // Back first: the next call, sent from `done`, takes it again.
          ReturnOp(op);
          done(status.code(), checked);
        });
  }

 private:
  // A call's response and callback; pooled per thread so the response's
  // payload buffer is reused call after call.
  struct Op {
    echo::EchoResponse response;
    absl::string_view sent;  // The driver keeps it until `done` has run.
    EchoDone done;
  };
  static std::vector<std::unique_ptr<Op>>& SpareOps() {
    thread_local std::vector<std::unique_ptr<Op>> spare;
    return spare;
  }
  static Op* TakeOp() {
    std::vector<std::unique_ptr<Op>>& spare = SpareOps();
    if (spare.empty()) return new Op;
    Op* op = spare.back().release();
    spare.pop_back();
    return op;
  }
  static void ReturnOp(Op* op) { SpareOps().emplace_back(op); }

  const std::unique_ptr<Channel> channel_;
};

class MrpcTransport : public EchoTransport {
 public:
  explicit MrpcTransport(absl::Duration deadline) : deadline_(deadline) {}

  // Starts the client loops. Call once, before Connect().
  absl::Status Start(int threads) {
    for (int i = 0; i < threads; ++i) {
      threads_.push_back(
          std::make_unique<EventLoopThread>(absl::StrCat("load", i)));
      absl::StatusOr<EventLoop*> loop = threads_.back()->Start();
      if (!loop.ok()) return loop.status();
      loops_.push_back(*loop);
    }
    return absl::OkStatus();
  }

  std::string name() const override { return "mrpc"; }

  absl::StatusOr<std::unique_ptr<EchoConnection>> Connect(
      const std::string& target, int index) override {
    ChannelOptions options;
    options.loop = loops_[index % loops_.size()];
    options.default_timeout = deadline_;  // Every call's deadline.
    options.cluster.lb_policy = absl::GetFlag(FLAGS_lb);
    options.cluster.retry.backup_request_delay =
        absl::Milliseconds(absl::GetFlag(FLAGS_backup_ms));
    for (int i = 0; i < absl::GetFlag(FLAGS_noop_interceptors); ++i) {
      options.interceptors.push_back(std::make_shared<ClientInterceptor>());
    }
    examples::ApplyClientTlsFlags(&options);
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(target, options);
    if (!channel.ok()) return channel.status();
    // Usable means a call went through.
    echo::EchoRequest request;
    echo::EchoResponse response;
    ClientContext context;
    context.set_timeout(absl::Seconds(10));
    absl::Status status = (*channel)->CallMethodBlocking(
        echo::EchoService::kServiceName, "Echo", request, &response, &context);
    if (!status.ok()) return status;
    auto connection = std::make_unique<MrpcConnection>(std::move(*channel));
    MutexLock lock(&mu_);
    channels_.push_back(connection->channel());
    return std::unique_ptr<EchoConnection>(std::move(connection));
  }

  std::vector<std::pair<std::string, uint64_t>> CallsByServer() override {
    std::map<std::string, uint64_t> calls;
    MutexLock lock(&mu_);
    for (Channel* channel : channels_) {
      for (const BackendStats& backend : channel->backends()) {
        calls[backend.address] += backend.calls;
      }
    }
    return {calls.begin(), calls.end()};
  }

 private:
  const absl::Duration deadline_;
  Mutex mu_;
  // The connections' channels (they outlive CallsByServer's calls).
  std::vector<Channel*> channels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<EventLoopThread>> threads_;
  std::vector<EventLoop*> loops_;
};

}  // namespace
}  // namespace mrpc::load

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  const mrpc::load::LoadSpec spec = mrpc::load::SpecFromFlags();
  mrpc::load::MrpcTransport transport(spec.deadline);
  if (absl::Status status = transport.Start(spec.threads); !status.ok()) {
    LOG(ERROR) << "cannot start the client loops: " << status;
    return 1;
  }
  return mrpc::load::RunFromFlags(&transport);
}
