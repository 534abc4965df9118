// Frame size defaults shared by the server, the channel and the codec.
//
// Public (ServerOptions and ChannelOptions name them).
#ifndef MRPC_RPC_LIMITS_H_
#define MRPC_RPC_LIMITS_H_

#include <cstddef>

namespace mrpc {

// Default limit on a frame's body_size (meta + payload).
inline constexpr size_t kDefaultMaxFrameBody = size_t{64} << 20;

}  // namespace mrpc

#endif  // MRPC_RPC_LIMITS_H_
