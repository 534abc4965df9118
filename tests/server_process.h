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

namespace mrpc::testing {

class ServerProcess {
 public:
  // Starts test_server on `port` (0: any) with `flags` ("--name=value")
  // and waits until it listens. Failures are fatal.
  explicit ServerProcess(int port, const std::vector<std::string>& flags = {});
  // SIGTERM, then waits for the child.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Sends `signal` and waits for the child to exit; returns its wait status.
  int Kill(int signal);
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
