// tcp_echo load client: drives a length-prefixed echo server (tcp_echo's or
// tools/baseline's) from the net layer, closed loop: each connection keeps
// --depth frames outstanding and sends a new one per echo. Every echoed
// byte is checked. Reports QPS and latency percentiles over the measured
// window (after --warmup), and, given --server_pid, the server's CPU time
// per request over exactly that window.
//
// --protocol=mrpc drives examples/echo's RPC server the same way, in the
// RPC protocol's bytes (docs/protocol.md) with no channel: each frame is a
// REQUEST for mrpc.echo.EchoService.Echo (no deadline, no metadata), and
// each RESPONSE must be OK, answer the next id, and carry exactly the
// echoed EchoResponse. The client's work per call is then the same against
// either server, so a comparison of the two measures the servers alone
// (tools/bench_rpc.py's "mrpc, raw client").
//
//   echo_client --target=127.0.0.1:9000 --conns=8 --depth=8 --payload=16
//       --seconds=5 --warmup=1 [--server_pid=N] [--json] [--protocol=mrpc]
#include <glog/logging.h>
#include <unistd.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/length_codec.h"
#include "net/tcp_client.h"
#include "proto/echo.mrpc.h"
#include "rpc/codec.h"
#include "rpc/frame_meta.h"
#include "tools/histogram.h"
#include "tools/proc_stat.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9000", "server host:port");
ABSL_FLAG(int, conns, 8, "connections");
ABSL_FLAG(int, depth, 8, "frames outstanding per connection");
ABSL_FLAG(int, payload, 16, "payload bytes per frame");
ABSL_FLAG(double, seconds, 5, "measured duration");
ABSL_FLAG(double, warmup, 1, "seconds before measuring");
ABSL_FLAG(int, threads, 1, "client event loops");
ABSL_FLAG(int, server_pid, 0, "server process to charge CPU time to (0: none)");
ABSL_FLAG(bool, json, false, "print one JSON object instead of a table");
ABSL_FLAG(std::string, protocol, "length",
          "length (4-byte length-prefixed frames) or mrpc (EchoService.Echo "
          "calls in the RPC protocol's frames)");

namespace mrpc {
namespace {

// Payload bytes for frame `seq`: a rolling pattern, offset by the sequence
// number, so a frame echoed out of order or corrupted fails the check.
class Pattern {
 public:
  explicit Pattern(size_t payload) : payload_(payload), bytes_(payload + 256) {
    for (size_t i = 0; i < bytes_.size(); ++i)
      bytes_[i] = static_cast<char>(i * 7);
  }
  absl::string_view For(uint64_t seq) const {
    return absl::string_view(bytes_.data() + seq % 256, payload_);
  }

 private:
  const size_t payload_;
  std::vector<char> bytes_;
};

// --protocol=mrpc: the serialized EchoRequest and EchoResponse for each
// of the pattern's 256 payloads, made once, so a call costs the client no
// protobuf work (the check compares the response body byte for byte).
class EchoMessages {
 public:
  explicit EchoMessages(const Pattern& pattern) {
    for (uint64_t i = 0; i < 256; ++i) {
      echo::EchoRequest request;
      request.set_payload(std::string(pattern.For(i)));
      requests_.push_back(request.SerializeAsString());
      echo::EchoResponse response;
      response.set_payload(std::string(pattern.For(i)));
      responses_.push_back(response.SerializeAsString());
    }
  }
  absl::string_view Request(uint64_t seq) const { return requests_[seq % 256]; }
  absl::string_view Response(uint64_t seq) const {
    return responses_[seq % 256];
  }

 private:
  std::vector<std::string> requests_;
  std::vector<std::string> responses_;
};

// Per-connection state, in the connection's context slot (loop only).
struct Stream {
  uint64_t next_seq = 0;
  uint64_t next_expected = 0;
  std::deque<int64_t> sent_ns;
};

// One client loop and its connections; stats are loop-owned.
class Worker {
 public:
  // `messages`: null for length-prefixed frames, else the RPC protocol.
  Worker(int index, const InetAddress& target, const Pattern* pattern,
         const EchoMessages* messages, int depth, std::atomic<int>* connected)
      : thread_(absl::StrFormat("client%d", index)),
        target_(target),
        pattern_(pattern),
        messages_(messages),
        depth_(depth),
        connected_(connected) {}

  absl::Status Start(int conns) {
    absl::StatusOr<EventLoop*> loop = thread_.Start();
    if (!loop.ok()) return loop.status();
    loop_ = *loop;
    for (int i = 0; i < conns; ++i) {
      TcpClient::Options options;
      options.name = "echo-client";
      auto client = std::make_unique<TcpClient>(loop_, target_, options);
      client->SetConnectionCallback([this](const TcpConnectionPtr& conn) {
        if (conn->connected()) {
          conn->context() = Stream();
          connected_->fetch_add(1);
        } else if (!stopping_) {
          ++errors_;
          LOG(ERROR) << "connection " << conn->name() << " lost: "
                     << TcpConnection::CloseReasonName(conn->close_reason());
        }
      });
      client->SetMessageCallback([this](const TcpConnectionPtr& conn,
                                        Buffer* in) { OnMessage(conn, in); });
      client->Connect();
      clients_.push_back(std::move(client));
    }
    return absl::OkStatus();
  }

  // Starts the closed loop: `depth` frames on every connection.
  void Go(int64_t measure_from_ns, int64_t measure_until_ns) {
    RunInLoopAndWait(loop_, [=] {
      measure_from_ns_ = measure_from_ns;
      measure_until_ns_ = measure_until_ns;
      for (auto& client : clients_) {
        TcpConnectionPtr conn = client->connection();
        if (!conn) continue;
        for (int i = 0; i < depth_; ++i) SendOne(conn);
      }
    });
  }

  void Stop() {
    RunInLoopAndWait(loop_, [this] { stopping_ = true; });
    clients_.clear();
    thread_.Stop();
  }

  // Loop-owned results, read after Stop().
  const Histogram& latency() const { return latency_; }
  uint64_t completed() const { return completed_; }
  uint64_t errors() const { return errors_; }

 private:
  void SendOne(const TcpConnectionPtr& conn) {
    Stream& s = std::any_cast<Stream&>(conn->context());
    const uint64_t seq = s.next_seq++;
    s.sent_ns.push_back(MonotonicNanos());
    if (messages_ == nullptr) {
      const absl::string_view payload = pattern_->For(seq);
      conn->SendInPlace([&](Buffer* out) { AppendFrame(payload, out); });
      return;
    }
    RequestFields fields;
    fields.id = seq + 1;  // Call ids start at 1, one sequence per connection.
    fields.service = echo::EchoService::kServiceName;
    fields.method = "Echo";
    conn->SendInPlace([&](Buffer* out) {
      EncodeRequestFrame(fields, messages_->Request(seq), out);
    });
  }

  // A reply arrived; `echoed` if it checked out. Counts it (an error if
  // not, or if nothing was outstanding) with its latency.
  void OnReply(const TcpConnectionPtr& conn, Stream& s, int64_t now,
               bool echoed) {
    if (s.sent_ns.empty()) {
      ++errors_;
      LOG_EVERY_N(ERROR, 100) << "a reply to nothing on " << conn->name();
      return;
    }
    if (!echoed) {
      ++errors_;
      LOG_EVERY_N(ERROR, 100) << "echo mismatch on " << conn->name();
    }
    ++s.next_expected;
    const int64_t sent = s.sent_ns.front();
    s.sent_ns.pop_front();
    if (now >= measure_from_ns_ && now < measure_until_ns_) {
      latency_.Record(now - sent);
      ++completed_;
    }
  }

  void OnMessage(const TcpConnectionPtr& conn, Buffer* in) {
    Stream& s = std::any_cast<Stream&>(conn->context());
    const int64_t now = MonotonicNanos();
    int replies = 0;
    bool failed = false;
    if (messages_ == nullptr) {
      failed =
          ForEachFrame(in, 1 << 30, [&](absl::string_view payload) {
            OnReply(conn, s, now, payload == pattern_->For(s.next_expected));
            ++replies;
          }) < 0;
    } else {
      const absl::Status status = DecodeFrames(
          in, 1 << 30, &meta_,
          [&](const FrameMeta& meta, absl::string_view body) {
            // In order: the server runs Echo inline, answering each
            // connection's calls as they came.
            OnReply(conn, s, now,
                    meta.type() == RESPONSE && meta.status_code() == 0 &&
                        meta.correlation_id() == s.next_expected + 1 &&
                        body == messages_->Response(s.next_expected));
            ++replies;
            return true;
          });
      if (!status.ok()) {
        LOG(ERROR) << "bad frame from " << conn->name() << ": " << status;
        failed = true;
      }
    }
    if (failed) {
      ++errors_;
      conn->ForceClose();
      return;
    }
    if (stopping_ || now >= measure_until_ns_) return;
    for (int i = 0; i < replies; ++i) SendOne(conn);
  }

  EventLoopThread thread_;
  EventLoop* loop_ = nullptr;
  const InetAddress target_;
  const Pattern* const pattern_;
  const EchoMessages* const messages_;
  FrameMeta meta_;  // DecodeFrames' scratch (--protocol=mrpc).
  const int depth_;
  std::atomic<int>* const connected_;
  std::vector<std::unique_ptr<TcpClient>> clients_;
  int64_t measure_from_ns_ = INT64_MAX;
  int64_t measure_until_ns_ = INT64_MAX;
  bool stopping_ = false;
  Histogram latency_;
  uint64_t completed_ = 0;
  uint64_t errors_ = 0;
};

void SleepUntilNanos(int64_t when_ns) {
  const int64_t left = when_ns - MonotonicNanos();
  if (left > 0) absl::SleepFor(absl::Nanoseconds(left));
}

int Run() {
  absl::StatusOr<InetAddress> target =
      InetAddress::Resolve(absl::GetFlag(FLAGS_target));
  if (!target.ok()) {
    fprintf(stderr, "bad --target: %s\n", target.status().ToString().c_str());
    return 2;
  }
  const int conns = absl::GetFlag(FLAGS_conns);
  const int threads = std::max(1, absl::GetFlag(FLAGS_threads));
  const Pattern pattern(absl::GetFlag(FLAGS_payload));
  const std::string protocol = absl::GetFlag(FLAGS_protocol);
  if (protocol != "length" && protocol != "mrpc") {
    fprintf(stderr, "bad --protocol: %s (length or mrpc)\n", protocol.c_str());
    return 2;
  }
  std::unique_ptr<EchoMessages> messages;
  if (protocol == "mrpc") messages = std::make_unique<EchoMessages>(pattern);
  std::atomic<int> connected{0};
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) {
    workers.push_back(
        std::make_unique<Worker>(t, *target, &pattern, messages.get(),
                                 absl::GetFlag(FLAGS_depth), &connected));
    absl::Status status =
        workers.back()->Start(conns / threads + (t < conns % threads ? 1 : 0));
    if (!status.ok()) {
      fprintf(stderr, "cannot start client loop %d: %s\n", t,
              status.ToString().c_str());
      workers.pop_back();  // Never started: nothing to stop.
      for (auto& w : workers) w->Stop();
      return 1;
    }
  }
  const absl::Time connect_deadline = absl::Now() + absl::Seconds(10);
  while (connected.load() < conns) {
    if (absl::Now() > connect_deadline) {
      fprintf(stderr, "only %d of %d connections came up\n", connected.load(),
              conns);
      for (auto& w : workers) w->Stop();
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }

  const int64_t start = MonotonicNanos();
  const int64_t measure_from =
      start + static_cast<int64_t>(absl::GetFlag(FLAGS_warmup) * 1e9);
  const int64_t measure_until =
      measure_from + static_cast<int64_t>(absl::GetFlag(FLAGS_seconds) * 1e9);
  for (auto& w : workers) w->Go(measure_from, measure_until);

  const int server_pid = absl::GetFlag(FLAGS_server_pid);
  SleepUntilNanos(measure_from);
  const double server_cpu_start =
      server_pid ? ProcessCpuSeconds(server_pid) : 0;
  const double client_cpu_start = ProcessCpuSeconds(getpid());
  SleepUntilNanos(measure_until);
  const double server_cpu =
      server_pid ? ProcessCpuSeconds(server_pid) - server_cpu_start : 0;
  const double client_cpu = ProcessCpuSeconds(getpid()) - client_cpu_start;
  const double window = (measure_until - measure_from) / 1e9;

  Histogram latency;
  uint64_t completed = 0;
  uint64_t errors = 0;
  for (auto& w : workers) {
    w->Stop();
    latency.Merge(w->latency());
    completed += w->completed();
    errors += w->errors();
  }
  const double qps = completed / window;
  const double us = 1e-3;
  const double server_us_per_req = completed ? server_cpu * 1e6 / completed : 0;
  const double client_us_per_req = completed ? client_cpu * 1e6 / completed : 0;
  if (absl::GetFlag(FLAGS_json)) {
    printf(
        "{\"conns\": %d, \"depth\": %d, \"payload\": %d, \"seconds\": %.3f, "
        "\"requests\": %" PRIu64 ", \"errors\": %" PRIu64
        ", \"qps\": %.1f, "
        "\"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, "
        "\"p999_us\": %.2f, \"max_us\": %.2f, \"server_cpu_us_per_req\": %.3f, "
        "\"client_cpu_us_per_req\": %.3f}\n",
        conns, absl::GetFlag(FLAGS_depth), absl::GetFlag(FLAGS_payload), window,
        completed, errors, qps, latency.Percentile(50) * us,
        latency.Percentile(90) * us, latency.Percentile(99) * us,
        latency.Percentile(99.9) * us, latency.max() * us, server_us_per_req,
        client_us_per_req);
  } else {
    printf("%-10s %-8s %-8s %-10s %-10s %-10s %-10s %-10s %-8s\n", "conns x d",
           "payload", "qps", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us",
           "errors");
    printf(
        "%-10s %-8d %-8.0f %-10.1f %-10.1f %-10.1f %-10.1f %-10.1f %-8" PRIu64
        "\n",
        absl::StrFormat("%dx%d", conns, absl::GetFlag(FLAGS_depth)).c_str(),
        absl::GetFlag(FLAGS_payload), qps, latency.Percentile(50) * us,
        latency.Percentile(90) * us, latency.Percentile(99) * us,
        latency.Percentile(99.9) * us, latency.max() * us, errors);
    if (server_pid) printf("server CPU: %.3f us/request\n", server_us_per_req);
    printf("client CPU: %.3f us/request\n", client_us_per_req);
  }
  return errors == 0 && completed > 0 ? 0 : 1;
}

}  // namespace
}  // namespace mrpc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return mrpc::Run();
}
