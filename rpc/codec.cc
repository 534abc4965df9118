#include "rpc/codec.h"

#include <endian.h>
#include <google/protobuf/message_lite.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

// REQUEST, RESPONSE and control metas are written straight from their
// fields in protobuf's wire format, in field-number order with proto3's rule of
// omitting empty fields, so the bytes are exactly what RpcMeta's serializer
// would produce (codec_test and protocol_doc_test check that) without
// building, sizing and destroying a message per frame.
// Seven bits a byte, from the highest set bit (protobuf's formula, no loop):
// 1 for 0 to 7 bits, 2 for 8 to 14, ... 10 for 64.
size_t VarintSize(uint64_t v) {
  const size_t bits = 64 - static_cast<size_t>(__builtin_clzll(v | 1));
  return (bits * 9 + 64) / 64;
}

char* PutVarint(uint64_t v, char* p) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// A length-delimited field (bytes), omitted when empty.
size_t BytesFieldSize(absl::string_view bytes) {
  return bytes.empty() ? 0 : 1 + VarintSize(bytes.size()) + bytes.size();
}

char* PutBytesField(uint8_t tag, absl::string_view bytes, char* p) {
  if (bytes.empty()) return p;
  *p++ = static_cast<char>(tag);
  p = PutVarint(bytes.size(), p);
  std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

size_t EntrySize(const std::pair<std::string, std::string>& entry) {
  return BytesFieldSize(entry.first) + BytesFieldSize(entry.second);
}

// A varint field, omitted when zero (proto3).
size_t VarintFieldSize(uint64_t v) { return v == 0 ? 0 : 1 + VarintSize(v); }

char* PutVarintField(uint8_t tag, uint64_t v, char* p) {
  if (v == 0) return p;
  *p++ = static_cast<char>(tag);
  return PutVarint(v, p);
}

// Field tags: (number << 3) | wire type (0 varint, 2 length-delimited).
constexpr uint8_t kTypeTag = 1 << 3;
constexpr uint8_t kIdTag = 2 << 3;
constexpr uint8_t kServiceTag = 3 << 3 | 2;
constexpr uint8_t kMethodTag = 4 << 3 | 2;
constexpr uint8_t kTimeoutTag = 5 << 3;
constexpr uint8_t kStatusCodeTag = 6 << 3;
constexpr uint8_t kStatusMessageTag = 7 << 3 | 2;
constexpr uint8_t kMetadataTag = 8 << 3 | 2;
constexpr uint8_t kKeyTag = 1 << 3 | 2;
constexpr uint8_t kValueTag = 2 << 3 | 2;

// Writes the 12-byte header; returns where the meta goes.
char* PutHeader(size_t meta_size, size_t payload_size, char* p) {
  std::memcpy(p, kFrameMagic, sizeof kFrameMagic);
  const uint32_t body_be =
      htobe32(static_cast<uint32_t>(meta_size + payload_size));
  const uint32_t meta_be = htobe32(static_cast<uint32_t>(meta_size));
  std::memcpy(p + 4, &body_be, 4);
  std::memcpy(p + 8, &meta_be, 4);
  return p + kFrameHeaderSize;
}

size_t MetadataFieldSize(const Metadata* metadata) {
  size_t size = 0;
  if (metadata != nullptr) {
    for (const auto& entry : *metadata) {
      const size_t entry_size = EntrySize(entry);
      size += 1 + VarintSize(entry_size) + entry_size;
    }
  }
  return size;
}

char* PutMetadataField(const Metadata* metadata, char* p) {
  if (metadata == nullptr) return p;
  for (const auto& entry : *metadata) {
    *p++ = static_cast<char>(kMetadataTag);
    p = PutVarint(EntrySize(entry), p);
    p = PutBytesField(kKeyTag, entry.first, p);
    p = PutBytesField(kValueTag, entry.second, p);
  }
  return p;
}

size_t RequestMetaSize(const RequestFields& f) {
  return 2 + VarintFieldSize(f.id) + BytesFieldSize(f.service) +
         BytesFieldSize(f.method) + VarintFieldSize(f.timeout_us) +
         MetadataFieldSize(f.metadata);
}

// Writes header and meta; returns where the payload goes.
char* PutRequest(const RequestFields& f, size_t meta_size, size_t payload_size,
                 Buffer* output) {
  output->EnsureWritable(kFrameHeaderSize + meta_size + payload_size);
  char* p = PutHeader(meta_size, payload_size, output->BeginWrite());
  *p++ = static_cast<char>(kTypeTag);
  *p++ = static_cast<char>(REQUEST);
  p = PutVarintField(kIdTag, f.id, p);
  p = PutBytesField(kServiceTag, f.service, p);
  p = PutBytesField(kMethodTag, f.method, p);
  p = PutVarintField(kTimeoutTag, f.timeout_us, p);
  return PutMetadataField(f.metadata, p);
}

// Writes the 12-byte header and the meta at the end of `output`, leaving room
// for `payload_size` more bytes; returns where the payload goes.
char* BeginFrame(const RpcMeta& meta, size_t payload_size, Buffer* output) {
  const size_t meta_size = meta.ByteSizeLong();
  const size_t body_size = meta_size + payload_size;
  output->EnsureWritable(kFrameHeaderSize + body_size);
  char* p = PutHeader(meta_size, payload_size, output->BeginWrite());
  meta.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p));
  return p + meta_size;
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
  const size_t meta_size = 2 + VarintFieldSize(id);
  output->EnsureWritable(kFrameHeaderSize + meta_size);
  char* p = PutHeader(meta_size, 0, output->BeginWrite());
  *p++ = static_cast<char>(kTypeTag);
  *p++ = static_cast<char>(type);
  PutVarintField(kIdTag, id, p);
  output->HasWritten(kFrameHeaderSize + meta_size);
}

void EncodeRequestFrame(const RequestFields& fields,
                        const google::protobuf::MessageLite* payload,
                        Buffer* output) {
  const size_t meta_size = RequestMetaSize(fields);
  const size_t payload_size = payload != nullptr ? payload->ByteSizeLong() : 0;
  char* p = PutRequest(fields, meta_size, payload_size, output);
  if (payload != nullptr) {
    payload->SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p));
  }
  output->HasWritten(kFrameHeaderSize + meta_size + payload_size);
}

void EncodeRequestFrame(const RequestFields& fields, absl::string_view payload,
                        Buffer* output) {
  const size_t meta_size = RequestMetaSize(fields);
  char* p = PutRequest(fields, meta_size, payload.size(), output);
  if (!payload.empty()) std::memcpy(p, payload.data(), payload.size());
  output->HasWritten(kFrameHeaderSize + meta_size + payload.size());
}

size_t EncodeResponseFrame(uint64_t id, const absl::Status& status,
                           const Metadata* metadata,
                           const google::protobuf::MessageLite* payload,
                           Buffer* output, size_t max_body) {
  // int32 codes go on the wire sign-extended to 64 bits, as protobuf does.
  uint64_t code = 0;
  absl::string_view message;
  if (!status.ok()) {
    code = static_cast<uint64_t>(static_cast<int64_t>(status.raw_code()));
    message = status.message();
    payload = nullptr;
  }
  const size_t meta_size = 2 + VarintFieldSize(id) + VarintFieldSize(code) +
                           BytesFieldSize(message) +
                           MetadataFieldSize(metadata);
  const size_t payload_size = payload != nullptr ? payload->ByteSizeLong() : 0;
  if (meta_size + payload_size > max_body) return meta_size + payload_size;
  output->EnsureWritable(kFrameHeaderSize + meta_size + payload_size);
  char* p = PutHeader(meta_size, payload_size, output->BeginWrite());
  *p++ = static_cast<char>(kTypeTag);
  *p++ = static_cast<char>(RESPONSE);
  p = PutVarintField(kIdTag, id, p);
  p = PutVarintField(kStatusCodeTag, code, p);
  p = PutBytesField(kStatusMessageTag, message, p);
  p = PutMetadataField(metadata, p);
  if (payload != nullptr) {
    payload->SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p));
  }
  output->HasWritten(kFrameHeaderSize + meta_size + payload_size);
  return meta_size + payload_size;
}

absl::Status StatusFromMeta(int32_t code, absl::string_view message) {
  if (code == 0) return absl::OkStatus();
  if (code < 0 || code > 16) {
    return absl::UnknownError(
        absl::StrCat("status code ", code, ": ", message));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

void AppendMetadata(const Metadata& metadata, RpcMeta* meta) {
  for (const auto& [key, value] : metadata) {
    MetadataEntry* entry = meta->add_metadata();
    entry->set_key(key);
    entry->set_value(value);
  }
}

Metadata TakeMetadata(
    google::protobuf::RepeatedPtrField<MetadataEntry>* entries) {
  Metadata metadata;
  metadata.reserve(entries->size());
  for (MetadataEntry& entry : *entries) {
    metadata.emplace_back(std::move(*entry.mutable_key()),
                          std::move(*entry.mutable_value()));
  }
  entries->Clear();
  return metadata;
}

namespace {

template <typename Entries, typename KeyOf, typename ValueOf>
absl::Status CheckEntries(const Entries& entries, size_t max_bytes,
                          size_t max_entries, KeyOf key_of, ValueOf value_of) {
  if (static_cast<size_t>(entries.size()) > max_entries) {
    return absl::ResourceExhaustedError(absl::StrCat(
        entries.size(), " metadata entries over the limit of ", max_entries));
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

absl::Status CheckMetadata(
    const google::protobuf::RepeatedPtrField<MetadataEntry>& entries,
    size_t max_bytes, size_t max_entries) {
  return CheckEntries(
      entries, max_bytes, max_entries,
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

namespace {

// The frame header at `p`: checks the magic and sizes. (Inlined: both
// decoders call them once per frame.)
ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status ParseHeader(
    const char* p, uint32_t* body_size, uint32_t* meta_size) {
  if (std::memcmp(p, kFrameMagic, sizeof kFrameMagic) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad magic \"", absl::CHexEscape(absl::string_view(p, 4)),
                     "\" (want \"MRPC\")"));
  }
  uint32_t body_be, meta_be;
  std::memcpy(&body_be, p + 4, 4);
  std::memcpy(&meta_be, p + 8, 4);
  *body_size = be32toh(body_be);
  *meta_size = be32toh(meta_be);
  if (*meta_size > *body_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "meta size ", *meta_size, " larger than body size ", *body_size));
  }
  return absl::OkStatus();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline absl::Status ParseMeta(const char* p,
                                                           uint32_t meta_size,
                                                           FrameMeta* meta) {
  if (!meta->Parse(p, meta_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unparsable RpcMeta (", meta_size, " bytes)"));
  }
  if (meta->type() == FRAME_TYPE_UNSPECIFIED ||
      !FrameType_IsValid(meta->type())) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid frame type ", static_cast<int>(meta->type())));
  }
  return absl::OkStatus();
}

absl::Status TooLarge(uint32_t body_size, size_t max_body) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "frame body of ", body_size, " bytes over the limit of ", max_body));
}

}  // namespace

absl::Status DecodeFrames(
    Buffer* input, size_t max_body, FrameMeta* scratch,
    absl::FunctionRef<bool(const FrameMeta& meta, absl::string_view payload)>
        on_frame) {
  FrameMeta& meta = *scratch;
  while (input->ReadableBytes() >= kFrameHeaderSize) {
    const char* p = input->Peek();
    uint32_t body_size = 0, meta_size = 0;  // Set when the header parses.
    absl::Status status = ParseHeader(p, &body_size, &meta_size);
    if (!status.ok()) return status;
    if (body_size > max_body) return TooLarge(body_size, max_body);
    if (input->ReadableBytes() < kFrameHeaderSize + body_size)
      break;  // Partial.
    status = ParseMeta(p + kFrameHeaderSize, meta_size, &meta);
    if (!status.ok()) return status;
    const absl::string_view payload(p + kFrameHeaderSize + meta_size,
                                    body_size - meta_size);
    const bool go_on = on_frame(meta, payload);
    input->Retrieve(kFrameHeaderSize + body_size);
    if (!go_on) break;
  }
  return absl::OkStatus();
}

absl::Status DecodeFrames(
    Buffer* input, size_t max_body, size_t room, FrameMeta* scratch,
    FrameSkip* skip,
    absl::FunctionRef<bool(const FrameMeta& meta, absl::string_view payload)>
        on_frame,
    absl::FunctionRef<bool(const FrameMeta& meta, uint32_t body_size)>
        on_refused) {
  FrameMeta& meta = *scratch;
  for (;;) {
    if (skip->remaining > 0) {  // Discard what arrived of a refused frame.
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(skip->remaining, input->ReadableBytes()));
      input->Retrieve(n);
      skip->remaining -= n;
      if (skip->remaining > 0) return absl::OkStatus();
    }
    const size_t have = input->ReadableBytes();
    if (have < kFrameHeaderSize) return absl::OkStatus();
    const char* p = input->Peek();
    uint32_t body_size = 0, meta_size = 0;  // Set when the header parses.
    absl::Status status = ParseHeader(p, &body_size, &meta_size);
    if (!status.ok()) return status;
    const size_t frame_size = kFrameHeaderSize + size_t{body_size};
    // Memory the frame still needs beyond what `input` already has free
    // (a frame taken earlier has its room reserved already).
    const size_t need = have < frame_size ? frame_size - have : 0;
    const size_t writable = input->WritableBytes();
    const bool refuse =
        body_size > max_body || (need > writable && need - writable > room);
    if (!refuse) {
      if (have < frame_size) {  // Partial. A large frame gets its room now,
        // exactly: the memory budget then counts it whole from the start.
        if (frame_size > kBudgetExemptBytes) {
          input->EnsureWritableExact(frame_size - have);
        }
        return absl::OkStatus();
      }
      status = ParseMeta(p + kFrameHeaderSize, meta_size, &meta);
      if (!status.ok()) return status;
      const absl::string_view payload(p + kFrameHeaderSize + meta_size,
                                      body_size - meta_size);
      const bool go_on = on_frame(meta, payload);
      input->Retrieve(frame_size);
      if (!go_on) return absl::OkStatus();
      continue;
    }
    if (meta_size > kMaxSkippableMeta) {
      return body_size > max_body
                 ? TooLarge(body_size, max_body)
                 : absl::ResourceExhaustedError(absl::StrCat(
                       "a frame of ", body_size,
                       " bytes does not fit the memory budget and its meta (",
                       meta_size, " bytes) is too large to skip it"));
    }
    if (have < kFrameHeaderSize + meta_size) return absl::OkStatus();
    status = ParseMeta(p + kFrameHeaderSize, meta_size, &meta);
    if (!status.ok()) return status;
    const bool go_on = on_refused(meta, body_size);
    input->Retrieve(kFrameHeaderSize + meta_size);
    skip->remaining = body_size - meta_size;
    if (!go_on) return absl::OkStatus();
  }
}

}  // namespace mrpc
