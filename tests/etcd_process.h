// EtcdProcess: a real etcd (Debian's /usr/bin/etcd) as a child process, for
// the tests of mrpc's etcd client, resolver and registration: free loopback
// ports (client and peer), a fresh --data-dir, and Stop()/Restart() on the
// same ports and data, so a test can take etcd away and bring it back.
//
// Test-only. Not thread-safe (one test thread drives it). The child is
// stopped by its own PID: SIGTERM, then SIGKILL after 5 s; the destructor
// stops it and removes the data directory.
//
// Example:
//   EtcdProcess etcd;                        // started, answering
//   EtcdClient client(loop, {etcd.address()});
//   auto out = etcd.Etcdctl({"get", "--prefix", "/services/"});
#ifndef MRPC_TESTS_ETCD_PROCESS_H_
#define MRPC_TESTS_ETCD_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/inet_address.h"

namespace mrpc::testing {

class EtcdProcess {
 public:
  // TLS on the client port (https): etcd's certificate and key, and, if
  // set, the CA whose client certificates it requires (--client-cert-auth);
  // client_cert/client_key are what Etcdctl() and the health check present.
  struct Tls {
    std::string cert_file;
    std::string key_file;
    std::string ca_file;
    std::string client_cert;
    std::string client_key;
  };

  // Starts etcd and waits (up to 20 s) until it answers /health; failures
  // are fatal. With `tls.cert_file` set it serves https.
  explicit EtcdProcess(Tls tls = {});
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  // SIGTERM and wait (SIGKILL after 5 s). Idempotent.
  void Stop();
  // SIGKILL and wait: etcd vanishes without a goodbye.
  void Kill();
  // Starts it again on the same ports and data directory and waits until
  // it answers. Fatal on failure.
  void Restart();
  bool running() const { return pid_ > 0; }

  // The client endpoint, "127.0.0.1:NNNN", and as an address.
  const std::string& client_address() const { return client_address_; }
  InetAddress address() const;
  pid_t pid() const { return pid_; }

  // Runs `etcdctl --endpoints=<this> <args>` and returns its stdout, or an
  // error with its exit status and stderr.
  absl::StatusOr<std::string> Etcdctl(
      const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(10));

 private:
  void Start();
  bool Healthy();

  const Tls tls_;
  std::string dir_;  // Temporary; holds data/ and etcd.log.
  int client_port_ = 0;
  int peer_port_ = 0;
  std::string client_address_;
  pid_t pid_ = -1;
};

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_ETCD_PROCESS_H_
