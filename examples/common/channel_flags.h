// The channel flags every example client shares: --lb picks the load
// balancing policy when the target names several servers (list://,
// dns:///, etcd://; docs/guide.md section 11).
//
// For main() of the examples. Thread-safe after flags are parsed.
#ifndef MRPC_EXAMPLES_COMMON_CHANNEL_FLAGS_H_
#define MRPC_EXAMPLES_COMMON_CHANNEL_FLAGS_H_

#include "rpc/channel.h"

namespace mrpc::examples {

// ChannelOptions from the flags (--lb).
ChannelOptions ChannelOptionsFromFlags();

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_CHANNEL_FLAGS_H_
