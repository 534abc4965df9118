// Length-prefixed frames (a 4-byte big-endian length, then that many bytes):
// the framing of the net-level echo example, its load client, tools/baseline
// and the net tests. (The RPC protocol has its own header; see rpc/codec.h.)
//
// Internal. Stateless functions; a Buffer belongs to one loop.
//
// Split and coalesced packets: ForEachFrame consumes only complete frames and
// leaves a partial one in the buffer for the next read, however the bytes
// were cut by the network.
#ifndef MRPC_NET_LENGTH_CODEC_H_
#define MRPC_NET_LENGTH_CODEC_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"
#include "net/buffer.h"

namespace mrpc {

inline constexpr size_t kLengthHeaderSize = 4;

// Calls `on_frame` with the payload of each complete frame at the front of
// `input` and consumes it. Returns the number of frames, or -1 if a header
// announces more than `max_payload` bytes (a protocol error: close the
// connection; the buffer is left as it was).
int ForEachFrame(Buffer* input, size_t max_payload,
                 absl::FunctionRef<void(absl::string_view payload)> on_frame);

// Appends one frame carrying `payload` to `output`.
void AppendFrame(absl::string_view payload, Buffer* output);

}  // namespace mrpc

#endif  // MRPC_NET_LENGTH_CODEC_H_
