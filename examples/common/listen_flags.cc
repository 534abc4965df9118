#include "examples/common/listen_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

ABSL_FLAG(std::string, host, "127.0.0.1",
          "address to listen on: 127.0.0.1 serves this machine only; "
          "0.0.0.0 (or ::) serves other machines too");

namespace mrpc::examples {

std::string ListenAddress(int port) {
  const std::string host = absl::GetFlag(FLAGS_host);
  // An IPv6 literal needs brackets before the port; a bracketed one has
  // them already.
  if (absl::StrContains(host, ':') && !absl::StartsWith(host, "[")) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace mrpc::examples
