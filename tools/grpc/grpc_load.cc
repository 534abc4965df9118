// grpc_load: the shared load driver (//tools/load) over gRPC channels, to
// drive any server of proto/echo.proto's EchoService (Echo, and SlowEcho for
// the slow mix). Same flags and same report as mrpc_load, by construction.
//
//   bazel-bin/tools/grpc/grpc_load --target=127.0.0.1:9100 --conns=8
//       --depth=8 --payload=16 --duration=5 --warmup=1 [--qps=N]
//       [--slow_fraction=0.01 --slow_ms=5] [--json]      (one command line)
//
// Tool-only. Each connection is its own grpc::Channel on its own TCP
// connection. Calls use gRPC's async unary API; their completions arrive on
// --threads CompletionQueue threads owned by the transport (connection i on
// queue i % threads), which run the driver's callback and, in the closed
// loop, start the next call from there. Call() may run on any thread.
//
// TLS (the flags of mrpc_load): --tls turns it on; the server is verified
// against --tls_ca (default: the system's roots) and the name
// --tls_server_name (default: the target's host), which is also the SNI;
// --tls_cert and --tls_key give a client certificate.
#include <glog/logging.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/grpc/echo.grpc.pb.h"
#include "tools/grpc/tls_credentials.h"
#include "tools/load/load_driver.h"
#include "tools/load/prepared_requests.h"

ABSL_FLAG(bool, tls, false, "connect with TLS");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates to verify the server with (default: the "
          "system's roots); needs --tls");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate chain (with --tls_key); needs --tls");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "name the server's certificate must hold, also sent as SNI "
          "(default: the target's host); needs --tls");

namespace mrpc::load {
namespace {

// As on the server: no message-size limit below what a test would send.
constexpr int kMaxMessageBytes = 64 << 20;

// One call in flight: everything gRPC writes into until the completion, and
// the driver's callback. Its address is the call's completion-queue tag.
struct GrpcCall {
  grpc::ClientContext context;
  const echo::EchoRequest* request;  // A prepared one, or own_request.
  echo::EchoRequest own_request;     // A slow call's.
  echo::EchoResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<echo::EchoResponse>> reader;
  EchoDone done;
};

class GrpcConnection : public EchoConnection {
 public:
  // `cq` and `prepared` (the echo request of each payload variant, as in
  // mrpc_load) are not owned; they must outlive every call made here.
  GrpcConnection(std::shared_ptr<grpc::Channel> channel,
                 grpc::CompletionQueue* cq,
                 const PreparedRequests<echo::EchoRequest>* prepared)
      : channel_(std::move(channel)),
        stub_(echo::EchoService::NewStub(channel_)),
        cq_(cq),
        prepared_(prepared) {}

  // Thread-safe (gRPC stubs are).
  void Call(const EchoCall& call, EchoDone done) override {
    auto* c = new GrpcCall;
    if (call.deadline != absl::InfiniteDuration()) {
      c->context.set_deadline(std::chrono::system_clock::now() +
                              absl::ToChronoNanoseconds(call.deadline));
    }
    // As mrpc_load sends (gRPC serializes it in PrepareAsync*).
    c->request = &prepared_->For(call, &c->own_request);
    c->done = std::move(done);
    c->reader = call.work_us > 0
                    ? stub_->PrepareAsyncSlowEcho(&c->context, *c->request, cq_)
                    : stub_->PrepareAsyncEcho(&c->context, *c->request, cq_);
    c->reader->StartCall();
    c->reader->Finish(&c->response, &c->status, c);
  }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<echo::EchoService::Stub> stub_;
  grpc::CompletionQueue* const cq_;
  const PreparedRequests<echo::EchoRequest>* const prepared_;
};

// Connections and the completion-queue threads their calls complete on.
// Connect() is for the driver's thread; the destructor runs after the driver
// has destroyed every connection and its calls have completed.
class GrpcTransport : public EchoTransport {
 public:
  // `server_name`: if not empty, overrides the target's host as the name the
  // server's certificate is checked against (and the SNI).
  GrpcTransport(int threads,
                std::shared_ptr<grpc::ChannelCredentials> credentials,
                std::string server_name)
      : credentials_(std::move(credentials)),
        server_name_(std::move(server_name)) {
    for (int i = 0; i < threads; ++i) {
      cqs_.push_back(std::make_unique<grpc::CompletionQueue>());
    }
    for (auto& cq : cqs_) threads_.emplace_back([cq = cq.get()] { Poll(cq); });
  }

  ~GrpcTransport() override {
    // A call still in flight here would hit its deadline and complete, so
    // the drain below ends; Next() returns false once the queue is empty.
    for (auto& cq : cqs_) cq->Shutdown();
    for (std::thread& t : threads_) t.join();
  }

  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  std::string name() const override { return "grpc"; }

  void Prepare(const std::vector<absl::string_view>& payloads) override {
    prepared_.Prepare(payloads);
  }

  absl::StatusOr<std::unique_ptr<EchoConnection>> Connect(
      const std::string& target, int index) override {
    grpc::ChannelArguments args;
    // gRPC shares one TCP connection between channels with equal arguments
    // (the global subchannel pool); a local pool plus an argument unique to
    // this connection gives each channel its own, as mrpc's channels have.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("mrpc.connection_index", index);
    // mrpc does not retry calls; neither should the side it is compared to
    // (retries add a per-call layer to gRPC's client).
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    args.SetMaxReceiveMessageSize(kMaxMessageBytes);
    args.SetMaxSendMessageSize(kMaxMessageBytes);
    if (!server_name_.empty()) args.SetSslTargetNameOverride(server_name_);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(target, credentials_, args);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::seconds(10))) {
      return absl::UnavailableError(absl::StrCat(
          "gRPC channel to ", target, " did not connect within 10 s"));
    }
    return std::unique_ptr<EchoConnection>(new GrpcConnection(
        std::move(channel), cqs_[index % cqs_.size()].get(), &prepared_));
  }

 private:
  static void Poll(grpc::CompletionQueue* cq) {
    void* tag;
    bool ok;
    while (cq->Next(&tag, &ok)) {
      // A client Finish always completes with ok; the outcome is in status.
      auto* c = static_cast<GrpcCall*>(tag);
      // grpc::StatusCode and absl::StatusCode share their numbers.
      const auto code = static_cast<absl::StatusCode>(c->status.error_code());
      c->done(code,
              c->status.ok() && c->response.payload() == c->request->payload());
      delete c;
    }
  }

  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const std::string server_name_;
  // The echo requests of the run's payloads (Prepare), read by every
  // connection's Call on any thread; written only between runs.
  PreparedRequests<echo::EchoRequest> prepared_;
  std::vector<std::unique_ptr<grpc::CompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
};

}  // namespace
}  // namespace mrpc::load

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  const bool tls = absl::GetFlag(FLAGS_tls);
  mrpc::grpc_tools::TlsFiles tls_files;
  tls_files.ca = absl::GetFlag(FLAGS_tls_ca);
  tls_files.cert = absl::GetFlag(FLAGS_tls_cert);
  tls_files.key = absl::GetFlag(FLAGS_tls_key);
  const std::string server_name = absl::GetFlag(FLAGS_tls_server_name);
  if (!tls && !server_name.empty()) {
    LOG(ERROR) << "grpc_load: --tls_server_name needs --tls";
    return 1;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      mrpc::grpc_tools::MakeChannelCredentials(tls, tls_files);
  if (!credentials.ok()) {
    LOG(ERROR) << "grpc_load: " << credentials.status();
    return 1;
  }
  mrpc::load::GrpcTransport transport(mrpc::load::SpecFromFlags().threads,
                                      *std::move(credentials), server_name);
  return mrpc::load::RunFromFlags(&transport);
}
