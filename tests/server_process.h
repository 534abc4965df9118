// ServerProcess: tests/test_server running as a child process, for tests
// that kill a server, signal it, or measure its memory apart from the
// test's own.
//
// Test-only. Not thread-safe; the child is stopped by its own PID.
#ifndef MRPC_TESTS_SERVER_PROCESS_H_
#define MRPC_TESTS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mrpc::testing {

class ServerProcess {
 public:
  // Starts test_server on `port` (0: any) with `flags` ("--name=value")
  // and waits until it listens. Failures are fatal. Under TSan the child
  // runs with atexit_sleep_ms=0, so its exit is timed, not the sanitizer's
  // 1 s wait at exit.
  explicit ServerProcess(int port, const std::vector<std::string>& flags = {});
  // SIGTERM; a child not gone within 10 s gets SIGKILL (a server that
  // failed its test must not hang the next).
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Sends `signal` and waits for the child to exit; returns its wait status.
  int Kill(int signal);
  // Sends `signal` without waiting.
  void Signal(int signal);
  // Waits up to `limit` for the child to exit; its wait status, or -1.
  int WaitForExit(absl::Duration limit);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

// A field of /proc/<pid>/status in bytes ("VmRSS", "VmHWM"), or -1.
long long ProcStatusBytes(pid_t pid, const std::string& field);

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_SERVER_PROCESS_H_
