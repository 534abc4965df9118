// Writes throwaway TLS files for benchmarks, tests and manual runs: a fresh CA
// (ca.pem, and its key ca.key), a server certificate and key (server.pem,
// server.key) and a client certificate and key (client.pem, client.key), keys
// unencrypted, mode 0600. Never use them outside a test: nothing protects
// them.
//
//   bazel run //net:make_test_certs -- --dir=/tmp/certs
//       [--server_names=localhost,127.0.0.1] [--client_name=client-a]
//       [--valid_for=24h]
//
// With --ca_dir=DIR the leaves are issued by DIR's CA (DIR/ca.pem and
// DIR/ca.key, as an earlier run wrote them) instead of a fresh one: a new
// server certificate that clients trusting DIR/ca.pem accept, for rotation
// tests.
//
//   make_test_certs --dir=/tmp/certs2 --ca_dir=/tmp/certs
//       --server_names=renamed.test,127.0.0.1
//
// Prints the paths it wrote, one a line: ca.pem, server.pem, server.key,
// client.pem, client.key, ca.key.
#include <errno.h>
#include <glog/logging.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "net/tls_test_certs.h"

ABSL_FLAG(std::string, dir, "",
          "directory to write into (made, mode 0700, if missing)");
ABSL_FLAG(std::string, server_names, "localhost,127.0.0.1,::1",
          "comma-separated subjectAltNames of the server certificate: IPv4 "
          "or IPv6 addresses become IP: entries, the rest DNS: entries; the "
          "first is also the CN");
ABSL_FLAG(std::string, client_name, "client", "CN of the client certificate");
ABSL_FLAG(absl::Duration, valid_for, absl::Hours(24),
          "validity of every certificate, from an hour ago");
ABSL_FLAG(std::string, ca_dir, "",
          "issue from the CA in this directory (its ca.pem and ca.key, "
          "from an earlier run) instead of a fresh one; empty: a fresh CA");

namespace {

// The whole of `path`, or nullopt (with the reason on stderr).
std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  if (in) content << in.rdbuf();
  if (!in) {
    std::cerr << "cannot read " << path << ": " << std::strerror(errno) << "\n";
    return std::nullopt;
  }
  return content.str();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const std::vector<std::string> server_names = absl::StrSplit(
      absl::GetFlag(FLAGS_server_names), ',', absl::SkipWhitespace());
  const std::string client_name = absl::GetFlag(FLAGS_client_name);
  const absl::Duration valid_for = absl::GetFlag(FLAGS_valid_for);
  if (dir.empty() || server_names.empty() || client_name.empty() ||
      valid_for <= absl::ZeroDuration()) {
    std::cerr << "usage: " << argv[0]
              << " --dir=DIR [--server_names=a,b] [--client_name=NAME]"
                 " [--valid_for=DURATION] [--ca_dir=DIR]\n";
    return 2;
  }
  const std::string ca_dir = absl::GetFlag(FLAGS_ca_dir);
  std::optional<mrpc::TestCa> ca;
  if (!ca_dir.empty()) {
    std::optional<std::string> cert = ReadFile(ca_dir + "/ca.pem");
    std::optional<std::string> key = ReadFile(ca_dir + "/ca.key");
    if (!cert || !key) return 1;
    ca = mrpc::TestCa::FromPem(*std::move(cert), *std::move(key));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::cerr << "cannot make " << dir << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const mrpc::TestCertFiles files =
      ca ? mrpc::WriteTestCerts(dir, *ca, server_names, client_name, valid_for)
         : mrpc::WriteTestCerts(dir, server_names, client_name, valid_for);
  // ca.key last: scripts written before it existed read the first five.
  std::cout << files.ca_cert << "\n"
            << files.server_cert << "\n"
            << files.server_key << "\n"
            << files.client_cert << "\n"
            << files.client_key << "\n"
            << files.ca_key << "\n";
  return 0;
}
