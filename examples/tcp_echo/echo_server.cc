// tcp_echo server: echoes length-prefixed frames (4-byte big-endian length,
// then the payload) on the net layer alone. The net layer's benchmark
// subject, next to tools/baseline.
//
//   bazel run //examples/tcp_echo:echo_server -- --port=9000 --threads=1
#include <glog/logging.h>
#include <signal.h>

#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "net/event_loop.h"
#include "net/length_codec.h"
#include "net/tcp_server.h"

ABSL_FLAG(int, port, 9000, "TCP port to listen on (0: any free port)");
ABSL_FLAG(int, threads, -1, "I/O loops (-1: one per hardware thread)");
ABSL_FLAG(bool, edge_triggered, false, "register sockets edge-triggered");
ABSL_FLAG(int, max_frame, 64 << 20, "largest payload accepted, in bytes");

namespace {

mrpc::EventLoop* g_loop = nullptr;

void HandleSignal(int) { g_loop->Quit(); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;

  absl::StatusOr<std::unique_ptr<mrpc::EventLoop>> loop =
      mrpc::EventLoop::Create();
  if (!loop.ok()) {
    LOG(ERROR) << "cannot start: " << loop.status();
    return 1;
  }
  g_loop = loop->get();
  mrpc::TcpServerOptions options;
  options.name = "tcp-echo";
  options.num_threads = absl::GetFlag(FLAGS_threads);
  options.connection.edge_triggered = absl::GetFlag(FLAGS_edge_triggered);
  mrpc::TcpServer server(
      loop->get(), mrpc::InetAddress::Any(absl::GetFlag(FLAGS_port)), options);
  const size_t max_frame = absl::GetFlag(FLAGS_max_frame);
  server.SetMessageCallback(
      [max_frame](const mrpc::TcpConnectionPtr& conn, mrpc::Buffer* in) {
        const int frames =
            mrpc::ForEachFrame(in, max_frame, [&](absl::string_view payload) {
              conn->SendInPlace(
                  [&](mrpc::Buffer* out) { mrpc::AppendFrame(payload, out); });
            });
        if (frames < 0) {
          LOG(WARNING) << "connection " << conn->name() << ": frame over "
                       << max_frame << " bytes; closing";
          conn->ForceClose();
        }
      });
  absl::Status status = server.Start();
  if (!status.ok()) {
    LOG(ERROR) << "cannot start: " << status;
    return 1;
  }
  // Print the port for scripts that asked for any free one.
  printf("listening on %s\n", server.listen_address().ToString().c_str());
  fflush(stdout);
  signal(SIGINT, HandleSignal);
  signal(SIGTERM, HandleSignal);
  (*loop)->Loop();
  server.Stop();
  return 0;
}
