#include "rpc/frame_meta.h"

#include <cstddef>
#include <string>

#include "absl/base/optimization.h"

namespace mrpc {
namespace {

// Protobuf's wire format (protobuf.dev/programming-guides/encoding): a tag
// is (field number << 3) | wire type; RpcMeta's fields 1-7 all fit a
// one-byte tag.
constexpr uint8_t kVarint = 0, kLengthDelimited = 2;
constexpr uint8_t Tag(int field, uint8_t wire_type) {
  return static_cast<uint8_t>((field << 3) | wire_type);
}

// A varint of at most `max_bytes` bytes, as protobuf reads it: the low 64
// bits of the value (a 10th byte's bits past the 64th are dropped). Null if
// it does not end within `max_bytes` or before `end`. Protobuf reads a
// number in up to 10 bytes, a length in up to 5.
constexpr int kMaxNumberBytes = 10, kMaxLengthBytes = 5;
const char* ReadVarintSlow(const char* p, const char* end, int max_bytes,
                           uint64_t* out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 7 * max_bytes && p < end; shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(*p++);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *out = value;
      return p;
    }
  }
  return nullptr;
}

// Most are one byte (types, lengths of names); ids and timeouts in
// microseconds mostly take two to four (up to 2^28 - 1 us: 268 s). Those
// are read unrolled (any limit is 5 bytes or more); longer ones, or any
// near the end of the meta, in the loop.
inline const char* ReadVarint(const char* p, const char* end, int max_bytes,
                              uint64_t* out) {
  const ptrdiff_t left = end - p;
  if (ABSL_PREDICT_FALSE(left <= 0)) return nullptr;
  const uint64_t b0 = static_cast<uint8_t>(p[0]);
  if (b0 < 0x80) {
    *out = b0;
    return p + 1;
  }
  if (left >= 2) {
    const uint64_t b1 = static_cast<uint8_t>(p[1]);
    if (b1 < 0x80) {
      *out = (b0 & 0x7f) | b1 << 7;
      return p + 2;
    }
    if (left >= 3) {
      const uint64_t b2 = static_cast<uint8_t>(p[2]);
      if (b2 < 0x80) {
        *out = (b0 & 0x7f) | (b1 & 0x7f) << 7 | b2 << 14;
        return p + 3;
      }
      if (left >= 4) {
        const uint64_t b3 = static_cast<uint8_t>(p[3]);
        if (b3 < 0x80) {
          *out = (b0 & 0x7f) | (b1 & 0x7f) << 7 | (b2 & 0x7f) << 14 | b3 << 21;
          return p + 4;
        }
      }
    }
  }
  return ReadVarintSlow(p, end, max_bytes, out);
}

// The field `tag` if it is the next one: its value in *out and the position
// after it. `p` itself if another field (or none) is next; null if the
// field is malformed.
template <typename T>
inline const char* NextVarintField(const char* p, const char* end, uint8_t tag,
                                   T* out) {
  if (p == end || static_cast<uint8_t>(*p) != tag) return p;
  uint64_t value;
  p = ReadVarint(p + 1, end, kMaxNumberBytes, &value);
  if (ABSL_PREDICT_TRUE(p != nullptr)) {
    *out = static_cast<T>(value);  // int32 fields truncated, as protobuf.
  }
  return p;
}

inline const char* NextBytesField(const char* p, const char* end, uint8_t tag,
                                  absl::string_view* out) {
  if (p == end || static_cast<uint8_t>(*p) != tag) return p;
  uint64_t size;
  p = ReadVarint(p + 1, end, kMaxLengthBytes, &size);
  if (p == nullptr || size > static_cast<uint64_t>(end - p)) return nullptr;
  *out = absl::string_view(p, static_cast<size_t>(size));
  return p + size;
}

}  // namespace

bool FrameMeta::Parse(const char* data, size_t size) {
  type_ = 0;
  correlation_id_ = 0;
  service_ = absl::string_view();
  method_ = absl::string_view();
  timeout_us_ = 0;
  status_code_ = 0;
  status_message_ = absl::string_view();
  if (ABSL_PREDICT_TRUE(ParseInPlace(data, data + size))) {
    if (ABSL_PREDICT_FALSE(parsed_by_protobuf_)) {
      full_.Clear();  // Not kept past its frame, like the views.
      parsed_by_protobuf_ = false;
    }
    return true;
  }
  return ParseWithProtobuf(data, size);
}

bool FrameMeta::ParseInPlace(const char* p, const char* end) {
  // mrpc's encoders write the fields in number order, each at most once (a
  // request 1 2 3 4 5, a response 1 2 6 7, absent ones left out): they are
  // read straight through, a compare and a value each. Whatever is left,
  // out of that order, goes to the loop, where a repeated field's last
  // value wins, as in protobuf.
  if ((p = NextVarintField(p, end, Tag(1, kVarint), &type_)) == nullptr ||
      (p = NextVarintField(p, end, Tag(2, kVarint), &correlation_id_)) ==
          nullptr ||
      (p = NextBytesField(p, end, Tag(3, kLengthDelimited), &service_)) ==
          nullptr ||
      (p = NextBytesField(p, end, Tag(4, kLengthDelimited), &method_)) ==
          nullptr ||
      (p = NextVarintField(p, end, Tag(5, kVarint), &timeout_us_)) == nullptr ||
      (p = NextVarintField(p, end, Tag(6, kVarint), &status_code_)) ==
          nullptr ||
      (p = NextBytesField(p, end, Tag(7, kLengthDelimited),
                          &status_message_)) == nullptr) {
    return false;
  }
  return ABSL_PREDICT_TRUE(p == end) || ParseAnyOrder(p, end);
}

bool FrameMeta::ParseAnyOrder(const char* p, const char* end) {
  while (p < end) {
    // The tag is known, so each reader takes its field (or fails).
    switch (static_cast<uint8_t>(*p)) {
      case Tag(1, kVarint):
        p = NextVarintField(p, end, Tag(1, kVarint), &type_);
        break;
      case Tag(2, kVarint):
        p = NextVarintField(p, end, Tag(2, kVarint), &correlation_id_);
        break;
      case Tag(3, kLengthDelimited):
        p = NextBytesField(p, end, Tag(3, kLengthDelimited), &service_);
        break;
      case Tag(4, kLengthDelimited):
        p = NextBytesField(p, end, Tag(4, kLengthDelimited), &method_);
        break;
      case Tag(5, kVarint):
        p = NextVarintField(p, end, Tag(5, kVarint), &timeout_us_);
        break;
      case Tag(6, kVarint):
        p = NextVarintField(p, end, Tag(6, kVarint), &status_code_);
        break;
      case Tag(7, kLengthDelimited):
        p = NextBytesField(p, end, Tag(7, kLengthDelimited), &status_message_);
        break;
      default:  // Metadata, an unknown field, a long tag: protobuf's.
        return false;
    }
    if (p == nullptr) return false;
  }
  return true;
}

bool FrameMeta::ParseWithProtobuf(const char* data, size_t size) {
  parsed_by_protobuf_ = true;
  if (size > static_cast<size_t>(INT32_MAX) ||
      !full_.ParseFromArray(data, static_cast<int>(size))) {
    full_.Clear();
    return false;
  }
  type_ = full_.type();
  correlation_id_ = full_.correlation_id();
  service_ = full_.service();
  method_ = full_.method();
  timeout_us_ = full_.timeout_us();
  status_code_ = full_.status_code();
  status_message_ = full_.status_message();
  return true;
}

RpcMeta FrameMeta::ToRpcMeta() const {
  RpcMeta meta;
  meta.set_type(type());
  meta.set_correlation_id(correlation_id_);
  meta.set_service(std::string(service_));
  meta.set_method(std::string(method_));
  meta.set_timeout_us(timeout_us_);
  meta.set_status_code(status_code_);
  meta.set_status_message(std::string(status_message_));
  if (metadata_size() > 0) *meta.mutable_metadata() = full_.metadata();
  return meta;
}

}  // namespace mrpc
