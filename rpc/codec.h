// The mrpc frame codec: encodes frames straight into a connection's output
// buffer and decodes complete frames from its input buffer.
//
// Internal. Stateless functions; buffers belong to one loop.
//
// Frame layout (all integers big-endian; docs/protocol.md has the details
// and a worked hex dump):
//
//   0        4           8           12            12+meta_size
//   +--------+-----------+-----------+-------------+----------------------+
//   | "MRPC" | body_size | meta_size | RpcMeta     | payload              |
//   | magic  | uint32    | uint32    | (protobuf)  | (request / response) |
//   +--------+-----------+-----------+-------------+----------------------+
//            |<-- body_size = meta_size + payload size ------------------->|
//
// Split and coalesced packets: DecodeFrames consumes only complete frames
// and leaves a partial one buffered, however the bytes arrive.
#ifndef MRPC_RPC_CODEC_H_
#define MRPC_RPC_CODEC_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "net/buffer.h"
#include "proto/rpc_meta.pb.h"

namespace google::protobuf {
class MessageLite;
}  // namespace google::protobuf

namespace mrpc {

inline constexpr char kFrameMagic[4] = {'M', 'R', 'P', 'C'};
inline constexpr size_t kFrameHeaderSize = 12;
// Default limit on body_size (meta + payload).
inline constexpr size_t kDefaultMaxFrameBody = size_t{64} << 20;

// Decodes every complete frame at the front of `input`, calling
// `on_frame(meta, payload)` for each and consuming it; `payload` points into
// `input` and is valid during the call only. `on_frame` returns false to
// stop (e.g. it closed the connection). `scratch` is parsed into for each
// frame and handed to `on_frame` as `meta` (one per connection, reused,
// keeps its strings' memory). Returns OK (a partial frame may
// remain buffered), or the protocol error: bad magic, body_size over
// `max_body`, meta_size over body_size, an unparsable RpcMeta, or an
// invalid frame type. After an error the connection must be closed.
absl::Status DecodeFrames(
    Buffer* input, size_t max_body, RpcMeta* scratch,
    absl::FunctionRef<bool(const RpcMeta& meta, absl::string_view payload)>
        on_frame);

// Appends one frame to `output`, serializing `meta` and `payload` (may be
// null: no payload) straight into the buffer.
void EncodeFrame(const RpcMeta& meta,
                 const google::protobuf::MessageLite* payload, Buffer* output);
// As above, with the payload already serialized.
void EncodeFrame(const RpcMeta& meta, absl::string_view payload,
                 Buffer* output);

}  // namespace mrpc

#endif  // MRPC_RPC_CODEC_H_
