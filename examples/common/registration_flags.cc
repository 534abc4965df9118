#include "examples/common/registration_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"

ABSL_FLAG(std::string, register, "",
          "register this server in etcd: etcd://host:port[,host:port]/"
          "services/<name> (empty: don't)");
ABSL_FLAG(std::string, advertise, "",
          "host:port to register (empty: the bound address; 0.0.0.0 becomes "
          "127.0.0.1)");
ABSL_FLAG(absl::Duration, register_ttl, absl::Seconds(10),
          "TTL of the etcd lease behind the registration");

namespace mrpc::examples {

void ApplyRegistrationFlags(ServerOptions* options) {
  options->registration.target = absl::GetFlag(FLAGS_register);
  options->registration.advertise = absl::GetFlag(FLAGS_advertise);
  options->registration.ttl = absl::GetFlag(FLAGS_register_ttl);
}

}  // namespace mrpc::examples
