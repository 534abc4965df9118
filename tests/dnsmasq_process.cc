#include "tests/dnsmasq_process.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/inet_address.h"
#include "rpc/cluster/dns_message.h"

extern char** environ;

namespace mrpc::testing {
namespace {

std::string TmpDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

int FreeUdpPort() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const InetAddress any = InetAddress::Loopback(0);
  CHECK_EQ(::bind(fd, any.sockaddr(), any.sockaddr_length()), 0);
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port =
      InetAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&addr), len)
          ->port();
  ::close(fd);
  return port;
}

}  // namespace

DnsmasqProcess::DnsmasqProcess(const std::string& hosts) {
  static std::atomic<int> serial{0};
  dir_ = absl::StrCat(TmpDir(), "/dnsmasq", ::getpid(), "_", serial++);
  hosts_path_ = dir_ + ".hosts";
  log_path_ = dir_ + ".log";
  SetHostsFile(hosts);
  for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) TryStart();
  CHECK(pid_ > 0) << "dnsmasq did not start; its log:\n" << Log();
}

DnsmasqProcess::~DnsmasqProcess() { Stop(); }

void DnsmasqProcess::SetHosts(const std::string& hosts) {
  SetHostsFile(hosts);
  if (pid_ > 0) ::kill(pid_, SIGHUP);
}

void DnsmasqProcess::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string DnsmasqProcess::Target(const std::string& host_port) const {
  return absl::StrCat("dns://127.0.0.1:", port_, "/", host_port);
}

std::string DnsmasqProcess::Log() const {
  std::ifstream in(log_path_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void DnsmasqProcess::SetHostsFile(const std::string& hosts) {
  const std::string tmp = hosts_path_ + ".tmp";
  std::ofstream(tmp) << hosts;
  ::chmod(tmp.c_str(), 0644);
  CHECK_EQ(::rename(tmp.c_str(), hosts_path_.c_str()), 0);
}

void DnsmasqProcess::TryStart() {
  port_ = FreeUdpPort();
  std::vector<std::string> args = {"/usr/sbin/dnsmasq",
                                   "--keep-in-foreground",
                                   absl::StrCat("--port=", port_),
                                   "--listen-address=127.0.0.1",
                                   "--bind-interfaces",
                                   "--no-resolv",
                                   "--no-hosts",
                                   absl::StrCat("--addn-hosts=", hosts_path_),
                                   "--conf-file=/dev/null",
                                   "--pid-file=",
                                   "--log-facility=-",
                                   "--local=/internal/",
                                   "--local-ttl=1"};
  // As root dnsmasq would switch to 'nobody', who may not read TEST_TMPDIR.
  if (::geteuid() == 0) args.push_back("--user=root");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  pid_t pid = -1;
  const int rc =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CHECK_EQ(rc, 0) << "cannot spawn /usr/sbin/dnsmasq";
  pid_ = pid;
  if (!WaitUntilServing()) Stop();  // Port taken meanwhile: try another.
}

// Asks for localhost.internal until an answer comes (or dnsmasq exits).
bool DnsmasqProcess::WaitUntilServing() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const InetAddress server = InetAddress::Loopback(port_);
  const std::string query =
      *dns::BuildQuery(1, "probe.internal", dns::RecordType::kA);
  bool serving = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!serving && absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
    ::sendto(fd, query.data(), query.size(), 0, server.sockaddr(),
             server.sockaddr_length());
    struct pollfd p = {fd, POLLIN, 0};
    char buf[512];
    serving = ::poll(&p, 1, 50) == 1 && ::recv(fd, buf, sizeof buf, 0) > 0;
  }
  ::close(fd);
  return serving;
}

}  // namespace mrpc::testing
