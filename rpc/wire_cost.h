// EstimateParsedBytes: what a protobuf message will take in memory once
// parsed, read off its wire bytes without parsing them, so the server can
// refuse a request before it costs more than its share of the memory
// budget. A message made of millions of 2-byte fields (unknown ones above
// all: each becomes an UnknownField) takes 10 to 20 times its wire size
// parsed; a message made of a few large strings takes about its wire size.
//
// Internal to the server. Stateless; thread-safe.
#ifndef MRPC_RPC_WIRE_COST_H_
#define MRPC_RPC_WIRE_COST_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace google::protobuf {
class Descriptor;
}  // namespace google::protobuf

namespace mrpc {

// Bytes charged per field occurrence (a repeated element, an unknown
// field, a submessage) on top of the wire bytes: an UnknownField, a
// std::string or a small message with its allocation overhead.
inline constexpr size_t kParsedBytesPerField = 32;
// And per submessage, for the message object itself.
inline constexpr size_t kParsedBytesPerMessage = 96;

// The estimate is at most this many times the wire size: the costliest
// input is empty submessages, two bytes each (a tag and a zero length)
// charged a field and a message.
inline constexpr size_t kMaxParsedBytesPerWireByte =
    1 + (kParsedBytesPerField + kParsedBytesPerMessage) / 2;

// An estimate of the memory `wire` (a serialized `type`) takes parsed: its
// wire bytes plus kParsedBytesPerField per field occurrence, counting into
// submessages, and kParsedBytesPerMessage per submessage. Stops early and returns a value over `limit` as soon as the
// estimate passes it. Malformed bytes are estimated as far as they go (the
// parser will refuse them anyway).
size_t EstimateParsedBytes(const google::protobuf::Descriptor* type,
                           absl::string_view wire, size_t limit);

}  // namespace mrpc

#endif  // MRPC_RPC_WIRE_COST_H_
