// grpc_echo_server: proto/echo.proto's EchoService served by gRPC, the
// other side of mrpc's side-by-side benchmark (tools/load, tools/grpc).
//
//   bazel-bin/tools/grpc/grpc_echo_server --port=9100 --threads=1 --workers=4
//
// Tool-only. It uses gRPC's fastest standard C++ style: the async API with
// one ServerCompletionQueue per thread, each thread running the classic
// CallData state machine (CREATE -> PROCESS -> FINISH) for its queue. Echo
// answers on its completion-queue thread. SlowEcho's blocking work goes to a
// small worker pool, which calls Finish itself (gRPC allows that from any
// thread), so a slow call never stalls the calls sharing its queue; this is
// what mrpc's echo server does with its worker pool.
//
// Threads: main (setup, then sigwait for SIGINT/SIGTERM, then shutdown),
// --threads completion-queue threads, --workers SlowEcho workers, and
// gRPC's own internal threads. After start it prints exactly one line,
// "grpc_echo_server listening on <port>", which scripts parse.
//
// TLS (the flags of examples/echo:echo_server): --tls_cert and --tls_key
// serve TLS instead of plaintext; --tls_ca also requires a client
// certificate signed by that CA. A gRPC port is either TLS or plaintext, so
// there is no --tls_required: with a certificate the port is TLS only.
#include <glog/logging.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "examples/common/stop_signals.h"
#include "net/sync.h"
#include "tools/grpc/echo.grpc.pb.h"
#include "tools/grpc/tls_credentials.h"

ABSL_FLAG(int, port, 0,
          "port to listen on (all interfaces); 0 picks a free port");
ABSL_FLAG(int, threads, 1,
          "completion-queue threads (one ServerCompletionQueue each)");
ABSL_FLAG(int, workers, 4, "worker threads for SlowEcho's blocking work");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: serve TLS (with --tls_key), not plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates: require a client certificate signed by one");

namespace mrpc::echo {
namespace {

// Far above any payload the load tests send, so gRPC's 4 MiB default
// receive limit never turns a large-payload run into errors.
constexpr int kMaxMessageBytes = 64 << 20;

// Calls of each method that each queue has asked gRPC for in advance; a call
// arriving when none is outstanding waits inside gRPC until one is. Well
// above the calls in flight of the load tests (conns x depth).
constexpr int kRequestedCallsPerMethod = 256;

// Runs SlowEcho's blocking work off the completion-queue threads.
// Submit() is thread-safe; Stop() is for the main thread.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { WorkerMain(); });
  }
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` for a worker. After Stop() (or with no workers) the task
  // runs on the caller's thread, so a call is never dropped during shutdown.
  void Submit(absl::AnyInvocable<void()> task) {
    {
      MutexLock lock(&mu_);
      if (!stopping_ && !threads_.empty()) {
        tasks_.push_back(std::move(task));
        cv_.Signal();
        return;
      }
    }
    task();
  }

  // Runs what is queued, then joins the workers. Idempotent.
  void Stop() {
    {
      MutexLock lock(&mu_);
      stopping_ = true;
      cv_.SignalAll();
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void WorkerMain() {
    for (;;) {
      absl::AnyInvocable<void()> task;
      {
        MutexLock lock(&mu_);
        while (tasks_.empty() && !stopping_) cv_.Wait(&mu_);
        if (tasks_.empty()) return;  // Stopping, and nothing left to run.
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  Mutex mu_;
  CondVar cv_;
  std::deque<absl::AnyInvocable<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // Main thread only.
};

// One server call, from asking gRPC for the next call of its method to the
// end of its reply; it is the tag of its own operations and deletes itself.
// Runs on its queue's thread, except SlowEcho's Finish, which a worker
// starts (the queue thread sees its completion).
class CallData {
 public:
  // Asks for the next call of Echo (SlowEcho if `slow`) on `cq`.
  static void Spawn(EchoService::AsyncService* service,
                    grpc::ServerCompletionQueue* cq, WorkerPool* workers,
                    bool slow) {
    (new CallData(service, cq, workers, slow))->Proceed(/*ok=*/true);
  }

  CallData(const CallData&) = delete;
  CallData& operator=(const CallData&) = delete;

  // The queue returned this call's tag, with Next()'s `ok`.
  void Proceed(bool ok) {
    switch (state_) {
      case State::kCreate:
        state_ = State::kProcess;
        if (slow_) {
          service_->RequestSlowEcho(&context_, &request_, &responder_, cq_, cq_,
                                    this);
        } else {
          service_->RequestEcho(&context_, &request_, &responder_, cq_, cq_,
                                this);
        }
        break;
      case State::kProcess:
        // !ok: the server is shutting down and this request was never matched.
        if (!ok) {
          delete this;
          return;
        }
        Spawn(service_, cq_, workers_,
              slow_);             // Keep the method's requests topped up.
        state_ = State::kFinish;  // Before Finish: a worker may start it.
        if (!slow_) {
          Reply();
        } else {
          workers_->Submit([this] {
            absl::SleepFor(absl::Microseconds(request_.work_us()));
            Reply();
          });
        }
        break;
      case State::kFinish:
        // Sent, or failed (client gone, server shut down): either way done.
        delete this;
        break;
    }
  }

 private:
  enum class State { kCreate, kProcess, kFinish };

  CallData(EchoService::AsyncService* service, grpc::ServerCompletionQueue* cq,
           WorkerPool* workers, bool slow)
      : service_(service),
        cq_(cq),
        workers_(workers),
        slow_(slow),
        responder_(&context_) {}

  void Reply() {
    // A copy, as mrpc's echo handler makes.
    response_.set_payload(request_.payload());
    responder_.Finish(response_, grpc::Status::OK, this);
  }

  EchoService::AsyncService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  WorkerPool* const workers_;
  const bool slow_;
  State state_ = State::kCreate;
  grpc::ServerContext context_;
  EchoRequest request_;
  EchoResponse response_;
  grpc::ServerAsyncResponseWriter<EchoResponse> responder_;
};

// One completion queue and the thread that polls it.
//
// Shutdown: once `shutdown` is set no new operation may start on the queue
// (gRPC aborts when one starts after cq->Shutdown() with nothing pending),
// so the poller then only deletes what comes back. The flag is checked under
// a lock held across Proceed(), which is uncontended until shutdown.
struct QueueThread {
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  Mutex mu;
  bool shutdown ABSL_GUARDED_BY(mu) = false;
  std::thread thread;

  void Poll() {
    void* tag;
    bool ok;
    while (cq->Next(&tag, &ok)) {
      auto* call = static_cast<CallData*>(tag);
      MutexLock lock(&mu);
      if (shutdown) {
        delete call;  // Its operation is over; nothing may start now.
      } else {
        call->Proceed(ok);
      }
    }
  }
};

int Serve() {
  const int port = absl::GetFlag(FLAGS_port);
  const int num_threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const int num_workers = std::max(0, absl::GetFlag(FLAGS_workers));

  // Before any thread exists (gRPC's included), so every thread inherits
  // the mask and only the sigwait below receives the signals.
  mrpc::examples::BlockStopSignals();

  grpc_tools::TlsFiles tls_files;
  tls_files.cert = absl::GetFlag(FLAGS_tls_cert);
  tls_files.key = absl::GetFlag(FLAGS_tls_key);
  tls_files.ca = absl::GetFlag(FLAGS_tls_ca);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      grpc_tools::MakeServerCredentials(tls_files);
  if (!credentials.ok()) {
    LOG(ERROR) << "grpc_echo_server: " << credentials.status();
    return 1;
  }

  EchoService::AsyncService service;
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort("0.0.0.0:" + std::to_string(port), *credentials,
                           &selected_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  std::vector<std::unique_ptr<QueueThread>> queues;
  for (int i = 0; i < num_threads; ++i) {
    queues.push_back(std::make_unique<QueueThread>());
    queues.back()->cq = builder.AddCompletionQueue();
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    // gRPC logs the reason (e.g. the port is taken) itself.
    LOG(ERROR) << "grpc_echo_server: cannot listen on 0.0.0.0:" << port;
    return 1;
  }

  WorkerPool workers(num_workers);
  for (auto& q : queues) {
    for (int i = 0; i < kRequestedCallsPerMethod; ++i) {
      CallData::Spawn(&service, q->cq.get(), &workers, /*slow=*/false);
      CallData::Spawn(&service, q->cq.get(), &workers, /*slow=*/true);
    }
    q->thread = std::thread([q = q.get()] { q->Poll(); });
  }
  std::printf("grpc_echo_server listening on %d\n", selected_port);
  std::fflush(stdout);

  const int signal_number = mrpc::examples::WaitForStopSignal();
  LOG(INFO) << "grpc_echo_server: signal " << signal_number
            << ", shutting down";

  // 1. Stop accepting; calls in flight get a second to finish (the queue
  //    threads keep serving them), then gRPC cancels the rest.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  // 2. The workers finish their queued SlowEcho calls (each starts a Finish).
  workers.Stop();
  // 3. No operation starts from here on; then the queues drain and end.
  for (auto& q : queues) {
    {
      MutexLock lock(&q->mu);
      q->shutdown = true;
    }
    q->cq->Shutdown();
  }
  for (auto& q : queues) q->thread.join();
  return 0;
}

}  // namespace
}  // namespace mrpc::echo

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return mrpc::echo::Serve();
}
