// DnsmasqProcess: a real DNS server (Debian's dnsmasq) as a child process,
// for the tests of dns: targets. It serves the names of a hosts file on
// 127.0.0.1 at a free UDP port, answers NXDOMAIN for other names under
// .internal, reads nothing under /etc, and is stopped by its own PID.
//
// Test-only. Not thread-safe (one test thread drives it).
#ifndef MRPC_TESTS_DNSMASQ_PROCESS_H_
#define MRPC_TESTS_DNSMASQ_PROCESS_H_

#include <sys/types.h>

#include <string>

namespace mrpc::testing {

class DnsmasqProcess {
 public:
  // Starts dnsmasq serving `hosts` ("10.0.0.1 kv.internal\n...") and waits
  // until it answers; fatal if it cannot.
  explicit DnsmasqProcess(const std::string& hosts);
  // SIGKILL and wait.
  ~DnsmasqProcess();
  DnsmasqProcess(const DnsmasqProcess&) = delete;
  DnsmasqProcess& operator=(const DnsmasqProcess&) = delete;

  // Rewrites the hosts file and makes dnsmasq re-read it (SIGHUP).
  void SetHosts(const std::string& hosts);
  // SIGKILL and wait. Idempotent.
  void Stop();
  int port() const { return port_; }
  // "dns://127.0.0.1:<port>/<host_port>": a target that asks this server.
  std::string Target(const std::string& host_port) const;
  // What dnsmasq logged.
  std::string Log() const;

 private:
  void SetHostsFile(const std::string& hosts);
  void TryStart();
  bool WaitUntilServing();

  std::string dir_, hosts_path_, log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_DNSMASQ_PROCESS_H_
