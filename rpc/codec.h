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
#include "rpc/frame_meta.h"
#include "rpc/limits.h"
#include "rpc/metadata.h"

namespace google::protobuf {
class MessageLite;
}  // namespace google::protobuf

namespace mrpc {

inline constexpr char kFrameMagic[4] = {'M', 'R', 'P', 'C'};
inline constexpr size_t kFrameHeaderSize = 12;

// Decodes every complete frame at the front of `input`, calling
// `on_frame(meta, payload)` for each and consuming it; `payload` (and the
// views in `meta`) point into `input` and are valid during the call only.
// `on_frame` returns false to stop (e.g. it closed the connection).
// `scratch` is parsed into for each frame and handed to `on_frame` as
// `meta` (one per connection, reused). Returns OK (a partial frame may
// remain buffered), or the protocol error: bad magic, body_size over
// `max_body`, meta_size over body_size, an unparsable RpcMeta, or an
// invalid frame type. After an error the connection must be closed.
absl::Status DecodeFrames(
    Buffer* input, size_t max_body, FrameMeta* scratch,
    absl::FunctionRef<bool(const FrameMeta& meta, absl::string_view payload)>
        on_frame);

// Frames too large to take are skipped, not buffered, when their meta is
// small enough to read first (at most kMaxSkippableMeta bytes): the
// receiver answers or fails that one call and keeps the connection.
inline constexpr size_t kMaxSkippableMeta = 64 * 1024;

// What DecodeFrames carries from one read to the next while skipping.
struct FrameSkip {
  uint64_t remaining = 0;  // Body bytes of a refused frame still to discard.
};

// As above, except that a frame is refused, not a protocol error, when its
// body is over `max_body`, or when it is still incomplete and the memory it
// still needs (beyond `input`'s free space) is over `room` (a memory
// budget's free bytes; SIZE_MAX: no budget): once its meta has arrived (if
// meta_size <= kMaxSkippableMeta), `on_refused(meta, body_size)` is called and
// the rest of its body is discarded as it arrives, across calls, through
// `skip`. A refused frame whose meta is larger is still a protocol error.
// `on_refused` returns false to stop, like `on_frame`. A partial frame over
// kBudgetExemptBytes that is taken gets its whole size reserved in `input` at
// once (exactly, not geometrically), so what it will hold is counted from its
// header on.
absl::Status DecodeFrames(
    Buffer* input, size_t max_body, size_t room, FrameMeta* scratch,
    FrameSkip* skip,
    absl::FunctionRef<bool(const FrameMeta& meta, absl::string_view payload)>
        on_frame,
    absl::FunctionRef<bool(const FrameMeta& meta, uint32_t body_size)>
        on_refused);

// Appends one frame to `output`, serializing `meta` and `payload` (may be
// null: no payload) straight into the buffer.
void EncodeFrame(const RpcMeta& meta,
                 const google::protobuf::MessageLite* payload, Buffer* output);
// As above, with the payload already serialized.
void EncodeFrame(const RpcMeta& meta, absl::string_view payload,
                 Buffer* output);

// A REQUEST's meta fields (timeout_us 0: no deadline; metadata may be null).
struct RequestFields {
  uint64_t id = 0;
  absl::string_view service;
  absl::string_view method;
  uint64_t timeout_us = 0;
  const Metadata* metadata = nullptr;
};
// Appends a REQUEST frame; the payload is a message (may be null: empty) or
// bytes already serialized.
void EncodeRequestFrame(const RequestFields& fields,
                        const google::protobuf::MessageLite* payload,
                        Buffer* output);
void EncodeRequestFrame(const RequestFields& fields, absl::string_view payload,
                        Buffer* output);

// Appends a PING, PONG or CANCEL frame for `id`.
void EncodeControlFrame(FrameType type, uint64_t id, Buffer* output);

// Appends call `id`'s RESPONSE: `status` (the payload only if OK; may be
// null), with `metadata` (may be null or empty). Returns the frame's body
// size; if that is over `max_body`, nothing is written (the caller answers
// with an error instead).
size_t EncodeResponseFrame(uint64_t id, const absl::Status& status,
                           const Metadata* metadata,
                           const google::protobuf::MessageLite* payload,
                           Buffer* output, size_t max_body = SIZE_MAX);

// A RESPONSE's status, as absl::Status (codes outside 1..16 become UNKNOWN,
// keeping the number in the message).
absl::Status StatusFromMeta(int32_t code, absl::string_view message);
inline absl::Status StatusFromMeta(const RpcMeta& meta) {
  return StatusFromMeta(meta.status_code(), meta.status_message());
}
inline absl::Status StatusFromMeta(const FrameMeta& meta) {
  return StatusFromMeta(meta.status_code(), meta.status_message());
}

// Copies `metadata` into `meta` (after what it has).
void AppendMetadata(const Metadata& metadata, RpcMeta* meta);
// The entries of `meta`, moved out of it.
Metadata TakeMetadata(
    google::protobuf::RepeatedPtrField<MetadataEntry>* entries);
inline Metadata TakeMetadata(RpcMeta* meta) {
  return TakeMetadata(meta->mutable_metadata());
}
inline Metadata TakeMetadata(FrameMeta* meta) {
  return TakeMetadata(meta->mutable_metadata());
}
// OK if `meta`'s entries are well-formed and within the limits;
// RESOURCE_EXHAUSTED past a limit, INVALID_ARGUMENT for a bad key.
absl::Status CheckMetadata(
    const google::protobuf::RepeatedPtrField<MetadataEntry>& entries,
    size_t max_bytes, size_t max_entries);
inline absl::Status CheckMetadata(const RpcMeta& meta, size_t max_bytes,
                                  size_t max_entries) {
  return CheckMetadata(meta.metadata(), max_bytes, max_entries);
}
inline absl::Status CheckMetadata(const FrameMeta& meta, size_t max_bytes,
                                  size_t max_entries) {
  return CheckMetadata(meta.metadata(), max_bytes, max_entries);
}
// As above for a Metadata.
absl::Status CheckMetadata(const Metadata& metadata, size_t max_bytes,
                           size_t max_entries);

// The largest timeout_us that is a deadline; larger values (UINT64_MAX, the
// usual "none") mean no deadline, like 0.
inline constexpr uint64_t kMaxTimeoutUs = uint64_t{INT64_MAX};

}  // namespace mrpc

#endif  // MRPC_RPC_CODEC_H_
