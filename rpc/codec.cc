#include "rpc/codec.h"

#include <endian.h>
#include <google/protobuf/message_lite.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

// Writes the 12-byte header and the meta at the end of `output`, leaving room
// for `payload_size` more bytes; returns where the payload goes.
char* BeginFrame(const RpcMeta& meta, size_t payload_size, Buffer* output) {
  const size_t meta_size = meta.ByteSizeLong();
  const size_t body_size = meta_size + payload_size;
  output->EnsureWritable(kFrameHeaderSize + body_size);
  char* p = output->BeginWrite();
  std::memcpy(p, kFrameMagic, sizeof kFrameMagic);
  const uint32_t body_be = htobe32(static_cast<uint32_t>(body_size));
  const uint32_t meta_be = htobe32(static_cast<uint32_t>(meta_size));
  std::memcpy(p + 4, &body_be, 4);
  std::memcpy(p + 8, &meta_be, 4);
  meta.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(p + kFrameHeaderSize));
  return p + kFrameHeaderSize + meta_size;
}

}  // namespace

void EncodeFrame(const RpcMeta& meta,
                 const google::protobuf::MessageLite* payload, Buffer* output) {
  const size_t payload_size = payload ? payload->ByteSizeLong() : 0;
  char* p = BeginFrame(meta, payload_size, output);
  if (payload != nullptr) {
    payload->SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p));
  }
  output->HasWritten(kFrameHeaderSize + meta.GetCachedSize() + payload_size);
}

void EncodeFrame(const RpcMeta& meta, absl::string_view payload,
                 Buffer* output) {
  char* p = BeginFrame(meta, payload.size(), output);
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  output->HasWritten(kFrameHeaderSize + meta.GetCachedSize() + payload.size());
}

absl::Status DecodeFrames(
    Buffer* input, size_t max_body, RpcMeta* scratch,
    absl::FunctionRef<bool(const RpcMeta& meta, absl::string_view payload)>
        on_frame) {
  RpcMeta& meta = *scratch;
  while (input->ReadableBytes() >= kFrameHeaderSize) {
    const char* p = input->Peek();
    if (std::memcmp(p, kFrameMagic, sizeof kFrameMagic) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad magic \"", absl::CHexEscape(absl::string_view(p, 4)),
          "\" (want \"MRPC\")"));
    }
    uint32_t body_be, meta_be;
    std::memcpy(&body_be, p + 4, 4);
    std::memcpy(&meta_be, p + 8, 4);
    const uint32_t body_size = be32toh(body_be);
    const uint32_t meta_size = be32toh(meta_be);
    if (body_size > max_body) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "frame body of ", body_size, " bytes over the limit of ", max_body));
    }
    if (meta_size > body_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "meta size ", meta_size, " larger than body size ", body_size));
    }
    if (input->ReadableBytes() < kFrameHeaderSize + body_size)
      break;  // Partial.
    if (!meta.ParseFromArray(p + kFrameHeaderSize,
                             static_cast<int>(meta_size))) {
      return absl::InvalidArgumentError(
          absl::StrCat("unparsable RpcMeta (", meta_size, " bytes)"));
    }
    if (meta.type() == FRAME_TYPE_UNSPECIFIED ||
        !FrameType_IsValid(meta.type())) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid frame type ", static_cast<int>(meta.type())));
    }
    const absl::string_view payload(p + kFrameHeaderSize + meta_size,
                                    body_size - meta_size);
    const bool go_on = on_frame(meta, payload);
    input->Retrieve(kFrameHeaderSize + body_size);
    if (!go_on) break;
  }
  return absl::OkStatus();
}

}  // namespace mrpc
