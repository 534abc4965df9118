// Frame size defaults shared by the server, the channel and the codec.
//
// Public (ServerOptions and ChannelOptions name them).
#ifndef MRPC_RPC_LIMITS_H_
#define MRPC_RPC_LIMITS_H_

#include <cstddef>

namespace mrpc {

// Default limit on a frame's body_size (meta + payload), both ways: 16 MiB.
// gRPC's default is 4 MiB per message; 16 MiB leaves room for bulk values
// while keeping what one call can make a server hold a small part of its
// memory budget (docs/reliability.md). Larger data should be chunked.
inline constexpr size_t kDefaultMaxFrameBody = size_t{16} << 20;

// Messages up to this size are always let through the memory budget (a
// status or a small response costs less than refusing it).
inline constexpr size_t kBudgetExemptBytes = 64 * 1024;

}  // namespace mrpc

#endif  // MRPC_RPC_LIMITS_H_
