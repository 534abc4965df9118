#include "tests/server_process.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

extern char** environ;

namespace mrpc::testing {

ServerProcess::ServerProcess(int port, const std::vector<std::string>& flags) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const std::string binary =
      absl::StrCat(srcdir ? srcdir : ".", "/mrpc/tests/test_server");
  int out[2];
  CHECK_EQ(::pipe2(out, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  std::vector<std::string> args = {binary, absl::StrCat("--port=", port)};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Under TSan a process sleeps 1 s at exit (atexit_sleep_ms) to catch late
  // races: tests time the server's exit, not the sanitizer's.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "TSAN_OPTIONS=")) env_strings.push_back(*e);
  }
  const char* tsan = std::getenv("TSAN_OPTIONS");
  env_strings.push_back(absl::StrCat("TSAN_OPTIONS=", tsan ? tsan : "",
                                     tsan ? ":" : "", "atexit_sleep_ms=0"));
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  CHECK_EQ(posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(),
                       env.data()),
           0)
      << binary;
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  FILE* child_out = ::fdopen(out[0], "r");
  char line[128] = "";
  CHECK(std::fgets(line, sizeof line, child_out) != nullptr)
      << "server died at start";
  ::fclose(child_out);
  // "test_server listening on <port>"
  const absl::string_view text(line);
  const size_t at = text.find("listening on ");
  CHECK(at != absl::string_view::npos &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(
                             text.substr(at + std::strlen("listening on "))),
                         &port_))
      << line;
}

ServerProcess::~ServerProcess() {
  if (pid_ <= 0) return;
  Signal(SIGTERM);
  if (WaitForExit(absl::Seconds(10)) == -1) Kill(SIGKILL);
}

int ServerProcess::Kill(int signal) {
  if (pid_ <= 0) return 0;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0) ::kill(pid_, signal);
}

int ServerProcess::WaitForExit(absl::Duration limit) {
  if (pid_ <= 0) return -1;
  const absl::Time deadline = absl::Now() + limit;
  do {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    absl::SleepFor(absl::Milliseconds(5));  // Polling a child: no fd to wait on.
  } while (absl::Now() < deadline);
  return -1;
}

long long ProcStatusBytes(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  const std::string prefix = field + ":";
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, prefix)) continue;
    absl::string_view rest =
        absl::StripAsciiWhitespace(absl::string_view(line).substr(prefix.size()));
    long long kb = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &kb)) return kb * 1024;
  }
  return -1;
}

}  // namespace mrpc::testing
