#include "examples/common/channel_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, lb, "round_robin",
          "load balancing over the target's servers: round_robin, p2c or "
          "consistent_hash");

namespace mrpc::examples {

ChannelOptions ChannelOptionsFromFlags() {
  ChannelOptions options;
  options.cluster.lb_policy = absl::GetFlag(FLAGS_lb);
  return options;
}

}  // namespace mrpc::examples
