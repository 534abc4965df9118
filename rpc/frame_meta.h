// FrameMeta: one received frame's RpcMeta, decoded for the reader without
// protobuf's general parser where it can be.
//
// Internal. One per connection, reused frame after frame, on that
// connection's loop.
//
// Every frame carries an RpcMeta, and almost every one is a handful of
// numbers plus (for a REQUEST) two short names. Parsing those with
// protobuf copies the names into the scratch message's strings and walks
// the generic parse loop: about 700 of the server's 4,000 instructions per
// call. Parse() reads such a meta in place instead, leaving the names as
// views into the frame. A meta it does not read itself (one with metadata,
// an unknown field, an unusual encoding of a known one, or anything
// malformed) goes to protobuf, into a scratch RpcMeta, so every meta
// decodes exactly as protobuf decodes it; `rpc_meta_fuzzer` checks the two
// agree on arbitrary bytes.
#ifndef MRPC_RPC_FRAME_META_H_
#define MRPC_RPC_FRAME_META_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "proto/rpc_meta.pb.h"

namespace mrpc {

class FrameMeta {
 public:
  // Decodes the `size` bytes at `data` as an RpcMeta. False if protobuf
  // would not parse them. The views below point into `data` (or into the
  // scratch RpcMeta): valid until the next Parse() and while `data` is.
  bool Parse(const char* data, size_t size);

  FrameType type() const { return static_cast<FrameType>(type_); }
  uint64_t correlation_id() const { return correlation_id_; }
  absl::string_view service() const { return service_; }
  absl::string_view method() const { return method_; }
  uint64_t timeout_us() const { return timeout_us_; }
  int32_t status_code() const { return status_code_; }
  absl::string_view status_message() const { return status_message_; }
  int metadata_size() const {
    return parsed_by_protobuf_ ? full_.metadata_size() : 0;
  }
  // The metadata entries (empty unless metadata_size() > 0); movable out.
  const google::protobuf::RepeatedPtrField<MetadataEntry>& metadata() const {
    return full_.metadata();
  }
  google::protobuf::RepeatedPtrField<MetadataEntry>* mutable_metadata() {
    return full_.mutable_metadata();
  }
  // The decoded meta as an RpcMeta that owns its bytes (tests, logs).
  RpcMeta ToRpcMeta() const;
  // Whether the last Parse() fell back to protobuf (for tests).
  bool parsed_by_protobuf() const { return parsed_by_protobuf_; }

 private:
  // Views into the frame; false if protobuf must parse it (metadata, an
  // unknown field) or it is malformed. ParseAnyOrder takes what follows
  // the fields found in number order.
  bool ParseInPlace(const char* p, const char* end);
  bool ParseAnyOrder(const char* p, const char* end);
  bool ParseWithProtobuf(const char* data, size_t size);

  int32_t type_ = 0;
  uint64_t correlation_id_ = 0;
  absl::string_view service_;
  absl::string_view method_;
  uint64_t timeout_us_ = 0;
  int32_t status_code_ = 0;
  absl::string_view status_message_;
  bool parsed_by_protobuf_ = false;
  RpcMeta full_;  // Protobuf's scratch, for the metas read the slow way.
};

}  // namespace mrpc

#endif  // MRPC_RPC_FRAME_META_H_
