// Writes throwaway TLS files for benchmarks and manual runs: a fresh CA
// (ca.pem), a server certificate and key (server.pem, server.key) and a client
// certificate and key (client.pem, client.key), keys unencrypted, mode 0600.
// Never use them outside a test: the CA key is thrown away, but nothing else
// protects them.
//
//   bazel run //net:make_test_certs -- --dir=/tmp/certs
//       [--server_names=localhost,127.0.0.1] [--client_name=client-a]
//       [--valid_for=24h]
//
// Prints the paths it wrote, one a line.
#include <errno.h>
#include <glog/logging.h>
#include <sys/stat.h>

#include <cstring>
#include <iostream>
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
                 " [--valid_for=DURATION]\n";
    return 2;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    std::cerr << "cannot make " << dir << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  const mrpc::TestCertFiles files =
      mrpc::WriteTestCerts(dir, server_names, client_name, valid_for);
  std::cout << files.ca_cert << "\n"
            << files.server_cert << "\n"
            << files.server_key << "\n"
            << files.client_cert << "\n"
            << files.client_key << "\n";
  return 0;
}
