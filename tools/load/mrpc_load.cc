// mrpc's load tester. By default it drives any server of proto/echo.proto's
// EchoService (Echo, and SlowEcho for the slow mix), checking every echo;
// with --method it drives any unary method of any mrpc server, its types
// taken from the server's reflection service. Either way over mrpc
// channels, with the shared load driver's flags and report.
//
//   bazel run --config=opt //tools/load:mrpc_load -- --target=127.0.0.1:9000
//       --conns=8 --depth=8 --payload=16 --duration=5 --warmup=1 [--qps=N]
//       [--slow_fraction=0.01 --slow_ms=5] [--json]      (one command line)
//
// Any method (one command line):
//   mrpc_load --target=127.0.0.1:9001
//       --method=mrpc.examples.kv.KvService/Put
//       --request_json='{"key":"k1","value":"v1"}'   (or --request_file=F)
//       [--expect_json='{"created":false}'] --conns=8 --depth=8 --duration=5
// The method and its types are resolved once, by reflection over a setup
// channel (same target and TLS flags; --deadline_ms bounds each of its
// calls), and every request is parsed once, before any load: an unknown
// method, a server without reflection or JSON that does not parse (unknown
// fields included) ends the run with exit code 2 and says which. A
// --request_file holds one JSON request per line (blank lines and '#'
// comments skipped); calls cycle through them in order. Every call must be
// OK; with --expect_json every response must also equal that message
// (protobuf equality), else it counts as MISMATCH. --slow_fraction is
// refused with --method, and so is a --payload other than its default.
//
// Any channel target works ("list://a:1,b:2", "dns:///host:9000",
// "etcd://127.0.0.1:2379/services/echo"), with --lb=round_robin|p2c|
// consistent_hash and --backup_ms; the report then says how many requests
// went to each server. Echo and SlowEcho have no side effects, so a cluster
// channel retries them and may send backup requests; a --method is retried
// only if its .proto says it is idempotent.
//
// Over TLS with the examples' client flags: --tls, --tls_ca=ca.pem,
// --tls_cert=client.pem --tls_key=client.key, --tls_server_name=NAME
// (examples/common/tls_client_flags.h). Handshakes happen at connect, before
// the measurement.
//
// Connections are spread over --threads client loops; completions run on
// those loops and, in the closed loop, send the next call from there.
#include <glog/logging.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/common/tls_client_flags.h"
#include "net/event_loop_thread.h"
#include "net/sync.h"
#include "proto/echo.mrpc.h"
#include "proto/reflection.pb.h"
#include "rpc/channel.h"
#include "rpc/reflection/reflection_client.h"
#include "tools/load/load_driver.h"
#include "tools/load/method_requests.h"
#include "tools/load/prepared_requests.h"

ABSL_FLAG(std::string, lb, "round_robin",
          "load balancing over a target's servers: round_robin, p2c or "
          "consistent_hash (calls here carry no key, so it goes round robin)");
ABSL_FLAG(double, backup_ms, 0,
          "if > 0: send a backup request to a second server after this long");
ABSL_FLAG(int, noop_interceptors, 0,
          "client interceptors that do nothing, per channel (to measure "
          "what the interceptor chain costs)");
ABSL_FLAG(std::string, method, "",
          "call this method (\"pkg.Service/Method\", resolved by the server's "
          "reflection) instead of the echo; needs --request_json or "
          "--request_file");
ABSL_FLAG(std::string, request_json, "",
          "with --method: the request, in protobuf's JSON mapping");
ABSL_FLAG(std::string, request_file, "",
          "with --method: a file of requests, one JSON object per line (blank "
          "lines and lines starting with '#' skipped), sent in turn");
ABSL_FLAG(std::string, expect_json, "",
          "with --method: every response must equal this message (JSON); "
          "one that does not counts as MISMATCH");

namespace mrpc::load {
namespace {

// Exit code for a command line that cannot run: bad flags, an unknown
// method, requests that do not parse. No load has been sent.
constexpr int kUsageError = 2;

class MrpcConnection : public EchoConnection {
 public:
  // `prepared` (the transport's) is not owned; it must outlive the
  // connection.
  MrpcConnection(std::unique_ptr<Channel> channel,
                 const PreparedRequests<echo::EchoRequest>* prepared)
      : prepared_(prepared), channel_(std::move(channel)) {}
  Channel* channel() const { return channel_.get(); }

  void Call(const EchoCall& call, EchoDone done) override {
    // A slow call's request is encoded before CallMethod returns (straight
    // into the socket buffer on the channel's loop), so one per thread,
    // reused, serves every such call.
    thread_local echo::EchoRequest scratch;
    const echo::EchoRequest& request = prepared_->For(call, &scratch);
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

  const PreparedRequests<echo::EchoRequest>* const prepared_;
  const std::unique_ptr<Channel> channel_;
};

// What --method calls, resolved and parsed once before the load. The
// messages are dynamic ones of `reflection`'s pool, so it outlives them.
struct MethodPlan {
  std::unique_ptr<Channel> channel;  // The setup channel `reflection` uses.
  std::unique_ptr<ReflectionClient> reflection;
  std::string full_name;  // "pkg.Service/Method", for the report.
  MethodName name;        // Views into the method's descriptor.
  std::unique_ptr<google::protobuf::Message> response_prototype;
  // Sent in turn: call number n sends requests[n % size]. Shared read-only
  // by every thread (serializing a message does not change it).
  std::vector<std::unique_ptr<google::protobuf::Message>> requests;
  std::unique_ptr<google::protobuf::Message> expect;  // Null: no check.
};

// A connection that calls the plan's method. Its responses (dynamic
// messages) are pooled per connection rather than per thread, so none
// outlives the plan's descriptors; in the open loop, calls are issued from
// pacer threads and complete on the loop, hence the (uncontended) lock.
class MethodConnection : public EchoConnection {
 public:
  // `plan` is not owned and must outlive the connection.
  MethodConnection(std::unique_ptr<Channel> channel, const MethodPlan* plan)
      : plan_(plan), channel_(std::move(channel)) {}
  Channel* channel() const { return channel_.get(); }

  void Call(const EchoCall& call, EchoDone done) override {
    const google::protobuf::Message& request =
        *plan_->requests[call.seq % plan_->requests.size()];
    Op* op = TakeOp();
    op->done = std::move(done);
    // `this` outlives the call: ~Channel (channel_ is the last member, so
    // the first destroyed) completes every pending call before returning.
    channel_->CallMethod(
        plan_->name, request, op->response.get(), /*context=*/nullptr,
        [this, op](absl::Status status) {
          const bool checked =
              plan_->expect == nullptr ||
              (status.ok() &&
               google::protobuf::util::MessageDifferencer::Equals(
                   *plan_->expect, *op->response));
          EchoDone done = std::move(op->done);
          ReturnOp(op);
          done(status.code(), checked);
        });
  }

 private:
  struct Op {
    std::unique_ptr<google::protobuf::Message> response;
    EchoDone done;
  };

  Op* TakeOp() {
    MutexLock lock(&mu_);
    if (!spare_.empty()) {
      Op* op = spare_.back();
      spare_.pop_back();
      return op;
    }
    ops_.push_back(std::make_unique<Op>());
    ops_.back()->response.reset(plan_->response_prototype->New());
    return ops_.back().get();
  }
  void ReturnOp(Op* op) {
    MutexLock lock(&mu_);
    spare_.push_back(op);
  }

  const MethodPlan* const plan_;
  Mutex mu_;
  std::vector<std::unique_ptr<Op>> ops_ ABSL_GUARDED_BY(mu_);  // All made.
  std::vector<Op*> spare_ ABSL_GUARDED_BY(mu_);
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

  // A channel to `target` as the connections have, on client loop `index`
  // (mod --threads).
  absl::StatusOr<std::unique_ptr<Channel>> NewChannel(const std::string& target,
                                                      int index) const {
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
    return Channel::Create(target, options);
  }

  // Connections call `plan`'s method instead of the echo. Not owned; it
  // must outlive the connections. Call before Connect().
  void set_method(const MethodPlan* plan) { plan_ = plan; }

  std::string name() const override { return "mrpc"; }

  void Prepare(const std::vector<absl::string_view>& payloads) override {
    // Connections of an earlier run (which read the old requests) are gone:
    // the driver destroys them before Run() returns.
    prepared_.Prepare(payloads);
  }

  absl::StatusOr<std::unique_ptr<EchoConnection>> Connect(
      const std::string& target, int index) override {
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        NewChannel(target, index);
    if (!channel.ok()) return channel.status();
    // Usable means a call went through: the echo, or for another method
    // (which may have side effects) a reflection call, which its server
    // answered already.
    ClientContext context;
    context.set_timeout(absl::Seconds(10));
    absl::Status status;
    if (plan_ == nullptr) {
      echo::EchoRequest request;
      echo::EchoResponse response;
      status =
          (*channel)->CallMethodBlocking(echo::EchoService::kServiceName,
                                         "Echo", request, &response, &context);
    } else {
      reflection::v1::ListServicesRequest request;
      reflection::v1::ListServicesResponse response;
      status = (*channel)->CallMethodBlocking("mrpc.reflection.v1.Reflection",
                                              "ListServices", request,
                                              &response, &context);
    }
    if (!status.ok()) return status;
    MutexLock lock(&mu_);
    if (plan_ == nullptr) {
      auto connection =
          std::make_unique<MrpcConnection>(std::move(*channel), &prepared_);
      channels_.push_back(connection->channel());
      return std::unique_ptr<EchoConnection>(std::move(connection));
    }
    auto connection =
        std::make_unique<MethodConnection>(std::move(*channel), plan_);
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
  const MethodPlan* plan_ = nullptr;
  // The echo requests of the run's payloads (Prepare), read by every
  // connection's Call on any thread; written only between runs.
  PreparedRequests<echo::EchoRequest> prepared_;
  Mutex mu_;
  // The connections' channels (they outlive CallsByServer's calls).
  std::vector<Channel*> channels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<EventLoopThread>> threads_;
  std::vector<EventLoop*> loops_;
};

// The flags --method needs and refuses, checked before anything connects.
absl::Status CheckMethodFlags(const LoadSpec& spec) {
  const bool method = !absl::GetFlag(FLAGS_method).empty();
  const bool json = !absl::GetFlag(FLAGS_request_json).empty();
  const bool file = !absl::GetFlag(FLAGS_request_file).empty();
  const bool expect = !absl::GetFlag(FLAGS_expect_json).empty();
  if (!method) {
    if (json || file || expect) {
      return absl::InvalidArgumentError(
          "--request_json, --request_file and --expect_json need --method");
    }
    return absl::OkStatus();
  }
  if (json == file) {
    return absl::InvalidArgumentError(
        "--method needs one of --request_json and --request_file");
  }
  if (spec.slow_fraction > 0) {
    return absl::InvalidArgumentError(
        "--slow_fraction sends SlowEcho; it cannot be used with --method");
  }
  // A flag left at its default cannot be told from one given as such.
  if (spec.payload != LoadSpec().payload) {
    return absl::InvalidArgumentError(
        "--payload sizes the echo; with --method the requests are the "
        "payload");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return text.str();
}

// Resolves --method by reflection over a setup channel on client loop 0 and
// parses its requests (and --expect_json) into `plan`.
absl::Status PrepareMethod(const LoadSpec& spec, const MrpcTransport& transport,
                           MethodPlan* plan) {
  const std::string name = absl::GetFlag(FLAGS_method);
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      transport.NewChannel(spec.targets[0], 0);
  if (!channel.ok()) return channel.status();
  plan->channel = *std::move(channel);
  plan->reflection =
      std::make_unique<ReflectionClient>(plan->channel.get(), spec.deadline);
  absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
      plan->reflection->FindMethod(name);
  if (!method.ok()) {
    const absl::Status& status = method.status();
    std::string why;
    switch (status.code()) {
      case absl::StatusCode::kNotFound:
        why = "the server has no such method";
        break;
      case absl::StatusCode::kUnimplemented:
        why =
            "the server does not serve reflection "
            "(mrpc.reflection.v1.Reflection)";
        break;
      default:
        why = "cannot ask the server's reflection service";
    }
    return absl::Status(status.code(),
                        absl::StrCat("--method=", name, ": ", why, " (",
                                     status.ToString(), ")"));
  }
  const google::protobuf::MethodDescriptor* m = *method;
  if (m->client_streaming() || m->server_streaming()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--method=", name, ": a streaming method"));
  }
  plan->full_name = absl::StrCat(m->service()->full_name(), "/", m->name());
  const auto level = m->options().idempotency_level();
  plan->name = {m->service()->full_name(), m->name(),
                level == google::protobuf::MethodOptions::IDEMPOTENT ||
                    level == google::protobuf::MethodOptions::NO_SIDE_EFFECTS};
  std::unique_ptr<google::protobuf::Message> request_prototype =
      plan->reflection->NewMessage(m->input_type());
  plan->response_prototype = plan->reflection->NewMessage(m->output_type());

  const std::string file = absl::GetFlag(FLAGS_request_file);
  if (file.empty()) {
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
        ParseJsonMessage(*request_prototype, absl::GetFlag(FLAGS_request_json),
                         "--request_json");
    if (!request.ok()) return request.status();
    plan->requests.push_back(*std::move(request));
  } else {
    absl::StatusOr<std::string> text = ReadFile(file);
    if (!text.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--request_file: ", text.status().message()));
    }
    absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
        requests = ParseRequestLines(*request_prototype, *text, file);
    if (!requests.ok()) return requests.status();
    plan->requests = *std::move(requests);
  }
  const std::string expect = absl::GetFlag(FLAGS_expect_json);
  if (!expect.empty()) {
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
        ParseJsonMessage(*plan->response_prototype, expect, "--expect_json");
    if (!message.ok()) return message.status();
    plan->expect = *std::move(message);
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace mrpc::load

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  mrpc::load::LoadSpec spec = mrpc::load::SpecFromFlags();
  if (absl::Status status = mrpc::load::CheckMethodFlags(spec); !status.ok()) {
    std::fprintf(stderr, "mrpc_load: %s\n",
                 std::string(status.message()).c_str());
    return mrpc::load::kUsageError;
  }
  mrpc::load::MrpcTransport transport(spec.deadline);
  if (absl::Status status = transport.Start(spec.threads); !status.ok()) {
    LOG(ERROR) << "cannot start the client loops: " << status;
    return 1;
  }
  // Destroyed before the transport's loops, after the connections (which
  // the driver closes before it returns).
  mrpc::load::MethodPlan plan;
  if (!absl::GetFlag(FLAGS_method).empty()) {
    if (spec.targets.empty()) {
      std::fprintf(stderr, "mrpc_load: no --target\n");
      return mrpc::load::kUsageError;
    }
    absl::Status status = mrpc::load::PrepareMethod(spec, transport, &plan);
    if (!status.ok()) {
      std::fprintf(stderr, "mrpc_load: %s\n",
                   std::string(status.message()).c_str());
      // The server could not be asked: a failure, like a connection that
      // cannot be made; anything else is the command line's.
      const bool unreachable =
          status.code() == absl::StatusCode::kUnavailable ||
          status.code() == absl::StatusCode::kDeadlineExceeded;
      return unreachable ? 1 : mrpc::load::kUsageError;
    }
    spec.method = plan.full_name;
    spec.payload = 0;
    transport.set_method(&plan);
  }
  return mrpc::load::RunFromFlags(spec, &transport);
}
