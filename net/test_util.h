// Test helpers: a blocking loopback client that talks raw bytes, so tests can
// play any peer (slow, silent, half-closing, resetting) against the net and
// rpc layers; plus process-level probes (open fds, CPU time) and a bounded
// poll for state that has no event to wait on.
//
// Test-only. Thread-compatible: one RawClient per thread.
#ifndef MRPC_NET_TEST_UTIL_H_
#define MRPC_NET_TEST_UTIL_H_

#include <glog/logging.h>
#include <sys/resource.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/inet_address.h"
#include "net/socket.h"
#include "net/sync.h"

namespace mrpc::testing {

class RawClient {
 public:
  // Connects (blocking, with a timeout) to `server`. A `receive_buffer` > 0
  // fixes SO_RCVBUF before connecting (a slow reader that fills up soon; set
  // after the handshake it would shrink an advertised window, which stalls).
  static absl::StatusOr<RawClient> Connect(
      const InetAddress& server, absl::Duration timeout = absl::Seconds(10),
      int receive_buffer = 0);
  RawClient(RawClient&&) = default;
  RawClient& operator=(RawClient&&) = default;

  // Writes all of `data` (blocking).
  absl::Status Write(absl::string_view data);
  // Reads exactly `n` bytes, or fails at EOF, error or timeout.
  absl::StatusOr<std::string> ReadExactly(
      size_t n, absl::Duration timeout = absl::Seconds(10));
  // Waits for the peer to close: OK at EOF (or reset), an error if bytes
  // arrive instead or nothing happens within `timeout`. Bytes read before
  // the close are appended to *drained if given.
  absl::Status WaitForClose(absl::Duration timeout = absl::Seconds(10),
                            std::string* drained = nullptr);
  // shutdown(SHUT_WR): the server reads end-of-stream.
  absl::Status ShutdownWrite() { return socket_.ShutdownWrite(); }
  // Makes the next close send RST instead of FIN.
  absl::Status SetLingerZero() { return socket_.SetLingerZero(); }
  void Close() { socket_ = Socket(); }
  int fd() const { return socket_.fd(); }
  const InetAddress& local_address() const { return local_; }

 private:
  RawClient(Socket socket, InetAddress local)
      : socket_(std::move(socket)), local_(local) {}
  // Waits until the fd is readable/writable; false on timeout.
  bool Poll(short events, absl::Duration timeout);

  Socket socket_;
  InetAddress local_;
};

// A frame of the test echo protocol: 4-byte big-endian length + payload.
std::string LengthPrefixed(absl::string_view payload);

// Open file descriptors of this process (entries in /proc/self/fd).
int CountOpenFds();

// Starts `thread` and returns its loop; a failure is fatal (for tests whose
// subject is not loop creation).
EventLoop* StartOrDie(EventLoopThread* thread);

// While it lives, this process can open only `spare` more fds (none by
// default): the limit is lowered to just above the highest open fd and every
// free slot below it is filled, then `spare` fillers are closed again.
// Undone by the destructor. RLIMIT_NOFILE is process-wide: use it in a test
// binary of its own.
class FdExhaustion {
 public:
  explicit FdExhaustion(int spare = 0);
  ~FdExhaustion();
  FdExhaustion(const FdExhaustion&) = delete;
  FdExhaustion& operator=(const FdExhaustion&) = delete;

 private:
  struct rlimit saved_;
  std::vector<int> fillers_;
};
// CPU time (user + system) this process has used.
absl::Duration ProcessCpuTime();

// A loopback TCP port nobody listens on now (bound, then released).
int PickUnusedPort();

// Checks `done` every 2 ms until it holds or `limit` passes; returns whether
// it holds. Only for state seen through counters or /proc, which signal
// nothing; where a callback can say "done", wait on a Notification instead.
template <typename Predicate>
bool Eventually(Predicate done, absl::Duration limit = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

// Collects the lines glog emits while it lives (those `keep` accepts, if
// given). Thread-safe: loops log from their own threads.
class LogCapture : public google::LogSink {
 public:
  struct Line {
    google::LogSeverity severity;
    std::string text;
  };
  using Filter =
      std::function<bool(google::LogSeverity severity, absl::string_view text)>;

  explicit LogCapture(Filter keep = nullptr);
  ~LogCapture() override;
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  void send(google::LogSeverity severity, const char* full_filename,
            const char* base_filename, int line,
            const google::LogMessageTime& time, const char* message,
            size_t message_len) override;
  std::vector<Line> Lines();
  // The lines' texts.
  std::vector<std::string> Texts();

 private:
  const Filter keep_;
  Mutex mutex_;
  std::vector<Line> lines_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace mrpc::testing

#endif  // MRPC_NET_TEST_UTIL_H_
