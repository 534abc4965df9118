#include "tests/etcd_process.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/test_util.h"

extern char** environ;

namespace mrpc::testing {
namespace {

// Waits for `pid` up to `limit`; its wait status, or -1 if still running.
int WaitPid(pid_t pid, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  do {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(
        absl::Milliseconds(5));  // Polling a child: no fd to wait on.
  } while (absl::Now() < deadline);
  return -1;
}

}  // namespace

EtcdProcess::EtcdProcess(Tls tls) : tls_(std::move(tls)) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(tmp ? tmp : "/tmp", "/etcd.XXXXXX");
  CHECK(::mkdtemp(pattern.data()) != nullptr) << pattern;
  dir_ = pattern;
  client_port_ = PickUnusedPort();
  do {
    peer_port_ = PickUnusedPort();
  } while (peer_port_ == client_port_);
  client_address_ = absl::StrCat("127.0.0.1:", client_port_);
  Start();
}

EtcdProcess::~EtcdProcess() {
  Stop();
  const std::string command = absl::StrCat("rm -rf '", dir_, "'");
  if (std::system(command.c_str()) != 0)
    LOG(WARNING) << "cannot remove " << dir_;
}

InetAddress EtcdProcess::address() const {
  return InetAddress::Loopback(static_cast<uint16_t>(client_port_));
}

void EtcdProcess::Start() {
  CHECK(pid_ <= 0) << "etcd already running";
  const std::string client_url = absl::StrCat(
      tls_.cert_file.empty() ? "http://" : "https://", client_address_);
  const std::string peer_url = absl::StrCat("http://127.0.0.1:", peer_port_);
  std::vector<std::string> args = {
      "/usr/bin/etcd",
      "--name=test",
      absl::StrCat("--data-dir=", dir_, "/data"),
      absl::StrCat("--listen-client-urls=", client_url),
      absl::StrCat("--advertise-client-urls=", client_url),
      absl::StrCat("--listen-peer-urls=", peer_url),
      absl::StrCat("--initial-advertise-peer-urls=", peer_url),
      absl::StrCat("--initial-cluster=test=", peer_url),
      // A one-member cluster: short raft timers make it leader sooner.
      "--heartbeat-interval=20",
      "--election-timeout=200",
      "--snapshot-count=10000",
      "--logger=zap",
      "--log-level=warn",
  };
  if (!tls_.cert_file.empty()) {
    args.push_back(absl::StrCat("--cert-file=", tls_.cert_file));
    args.push_back(absl::StrCat("--key-file=", tls_.key_file));
    if (!tls_.ca_file.empty()) {
      args.push_back(absl::StrCat("--trusted-ca-file=", tls_.ca_file));
      args.push_back("--client-cert-auth");
    }
  }
  const std::string log = absl::StrCat(dir_, "/etcd.log");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  CHECK_EQ(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ),
           0);
  posix_spawn_file_actions_destroy(&actions);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!Healthy()) {
    int status = 0;
    CHECK(::waitpid(pid_, &status, WNOHANG) != pid_)
        << "etcd exited at start; see " << log;
    CHECK(absl::Now() < deadline)
        << "etcd not healthy within 20 s; see " << log;
    absl::SleepFor(absl::Milliseconds(20));  // Nothing to wait on: poll.
  }
}

bool EtcdProcess::Healthy() {
  if (!tls_.cert_file.empty()) {  // etcdctl speaks TLS for us.
    return Etcdctl({"get", "/health-probe"}, absl::Seconds(3)).ok();
  }
  absl::StatusOr<RawClient> client =
      RawClient::Connect(address(), absl::Milliseconds(500));
  if (!client.ok()) return false;
  if (!client
           ->Write("GET /health HTTP/1.1\r\nHost: etcd\r\n"
                   "Connection: close\r\n\r\n")
           .ok()) {
    return false;
  }
  std::string answer;
  client->WaitForClose(absl::Seconds(2), &answer).IgnoreError();
  return absl::StrContains(answer, "\"health\":\"true\"");
}

void EtcdProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (WaitPid(pid_, absl::Seconds(5)) == -1) {
    ::kill(pid_, SIGKILL);
    WaitPid(pid_, absl::Seconds(10));
  }
  pid_ = -1;
}

void EtcdProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  WaitPid(pid_, absl::Seconds(10));
  pid_ = -1;
}

void EtcdProcess::Restart() {
  Stop();
  Start();
}

absl::StatusOr<std::string> EtcdProcess::Etcdctl(
    const std::vector<std::string>& args, absl::Duration timeout) {
  std::vector<std::string> all = {"/usr/bin/etcdctl",
                                  absl::StrCat("--endpoints=", client_address_),
                                  "--dial-timeout=2s", "--command-timeout=5s"};
  if (!tls_.cert_file.empty()) {
    if (!tls_.ca_file.empty()) all.push_back("--cacert=" + tls_.ca_file);
    if (!tls_.client_cert.empty()) {
      all.push_back("--cert=" + tls_.client_cert);
      all.push_back("--key=" + tls_.client_key);
    }
  }
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = {"ETCDCTL_API=3"};
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "ETCDCTL_")) env_strings.push_back(*e);
  }
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  int out[2];
  int err[2];
  CHECK_EQ(::pipe2(out, O_CLOEXEC), 0);
  CHECK_EQ(::pipe2(err, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
  pid_t pid = -1;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (spawned != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return absl::InternalError(
        absl::StrCat("cannot run etcdctl: ", std::strerror(spawned)));
  }
  // Read both pipes until they close (or the timeout), then reap.
  std::string stdout_text;
  std::string stderr_text;
  const absl::Time deadline = absl::Now() + timeout;
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  while (open_fds > 0 && absl::Now() < deadline) {
    const int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    if (::poll(fds, 2, ms) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? stdout_text : stderr_text).append(buf, n);
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  int status = WaitPid(pid, deadline - absl::Now() + absl::Milliseconds(100));
  if (status == -1) {
    ::kill(pid, SIGKILL);
    WaitPid(pid, absl::Seconds(5));
    return absl::DeadlineExceededError("etcdctl timed out");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnknownError(
        absl::StrCat("etcdctl failed (status ", status, "): ", stderr_text));
  }
  return stdout_text;
}

}  // namespace mrpc::testing
