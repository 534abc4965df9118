#include "rpc/codec.h"

#include <endian.h>
#include <google/protobuf/message_lite.h>

#include <cstring>
#include <utility>

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

void EncodeControlFrame(FrameType type, uint64_t id, Buffer* output) {
  RpcMeta meta;
  meta.set_type(type);
  meta.set_correlation_id(id);
  EncodeFrame(meta, nullptr, output);
}

void EncodeResponseFrame(uint64_t id, const absl::Status& status,
                         const Metadata* metadata,
                         const google::protobuf::MessageLite* payload,
                         Buffer* output) {
  RpcMeta meta;
  meta.set_type(RESPONSE);
  meta.set_correlation_id(id);
  if (!status.ok()) {
    meta.set_status_code(static_cast<int>(status.code()));
    meta.set_status_message(status.message().data(), status.message().size());
    payload = nullptr;
  }
  if (metadata != nullptr) AppendMetadata(*metadata, &meta);
  EncodeFrame(meta, payload, output);
}

absl::Status StatusFromMeta(const RpcMeta& meta) {
  const int code = meta.status_code();
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > 16) {
    return absl::UnknownError(
        absl::StrCat("status code ", code, ": ", meta.status_message()));
  }
  return absl::Status(static_cast<absl::StatusCode>(code),
                      meta.status_message());
}

void AppendMetadata(const Metadata& metadata, RpcMeta* meta) {
  for (const auto& [key, value] : metadata) {
    MetadataEntry* entry = meta->add_metadata();
    entry->set_key(key);
    entry->set_value(value);
  }
}

Metadata TakeMetadata(RpcMeta* meta) {
  Metadata metadata;
  metadata.reserve(meta->metadata_size());
  for (MetadataEntry& entry : *meta->mutable_metadata()) {
    metadata.emplace_back(std::move(*entry.mutable_key()),
                          std::move(*entry.mutable_value()));
  }
  meta->clear_metadata();
  return metadata;
}

namespace {

template <typename Entries, typename KeyOf, typename ValueOf>
absl::Status CheckEntries(const Entries& entries, size_t max_bytes,
                          size_t max_entries, KeyOf key_of, ValueOf value_of) {
  if (static_cast<size_t>(entries.size()) > max_entries) {
    return absl::ResourceExhaustedError(
        absl::StrCat(entries.size(), " metadata entries over the limit of ",
                     max_entries));
  }
  size_t bytes = 0;
  for (const auto& entry : entries) {
    bytes += key_of(entry).size() + value_of(entry).size();
    absl::Status status = ValidateMetadataKey(key_of(entry));
    if (!status.ok()) return status;
  }
  if (bytes > max_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "metadata of ", bytes, " bytes over the limit of ", max_bytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckMetadata(const RpcMeta& meta, size_t max_bytes,
                           size_t max_entries) {
  return CheckEntries(
      meta.metadata(), max_bytes, max_entries,
      [](const MetadataEntry& e) -> const std::string& { return e.key(); },
      [](const MetadataEntry& e) -> const std::string& { return e.value(); });
}

absl::Status CheckMetadata(const Metadata& metadata, size_t max_bytes,
                           size_t max_entries) {
  using Entry = std::pair<std::string, std::string>;
  return CheckEntries(
      metadata, max_bytes, max_entries,
      [](const Entry& e) -> const std::string& { return e.first; },
      [](const Entry& e) -> const std::string& { return e.second; });
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
