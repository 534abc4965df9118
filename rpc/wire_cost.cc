#include "rpc/wire_cost.h"

#include <google/protobuf/descriptor.h>

#include <cstdint>

namespace mrpc {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// protobuf's own default nesting limit: deeper input fails to parse.
constexpr int kMaxDepth = 100;

class Estimator {
 public:
  explicit Estimator(size_t limit) : limit_(limit) {}

  // Adds the cost of the message in [p, end); false once over the limit
  // (or on malformed bytes: the parser has the last word on those).
  bool Message(const Descriptor* type, const char* p, const char* end,
               int depth) {
    while (p < end) {
      uint64_t tag;
      if (!Varint(&p, end, &tag)) return false;
      cost_ += kParsedBytesPerField;
      if (cost_ > limit_) return false;
      switch (tag & 7) {
        case 0: {  // Varint.
          uint64_t ignored;
          if (!Varint(&p, end, &ignored)) return false;
          break;
        }
        case 1:  // Fixed64.
          if (end - p < 8) return false;
          p += 8;
          break;
        case 5:  // Fixed32.
          if (end - p < 4) return false;
          p += 4;
          break;
        case 2: {  // Length-delimited: bytes, string, packed, or a message.
          uint64_t length;
          if (!Varint(&p, end, &length) ||
              length > static_cast<uint64_t>(end - p)) {
            return false;
          }
          const Descriptor* sub = SubmessageType(type, tag >> 3);
          if (sub != nullptr) {
            cost_ += kParsedBytesPerMessage;
            if (cost_ > limit_) return false;
            if (depth < kMaxDepth && !Message(sub, p, p + length, depth + 1))
              return false;
          }
          p += length;
          break;
        }
        case 3:  // Start group (deprecated): its fields follow, counted
        case 4:  // flat; the end-group tag is one more field.
          break;
        default:
          return false;
      }
    }
    return true;
  }

  size_t cost() const { return cost_; }

 private:
  static const Descriptor* SubmessageType(const Descriptor* type,
                                          uint64_t number) {
    if (type == nullptr || number > INT32_MAX) return nullptr;
    const FieldDescriptor* field =
        type->FindFieldByNumber(static_cast<int>(number));
    if (field == nullptr || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)
      return nullptr;
    return field->message_type();
  }

  static bool Varint(const char** p, const char* end, uint64_t* value) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
      const uint8_t byte = static_cast<uint8_t>(*(*p)++);
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) {
        *value = v;
        return true;
      }
    }
    return false;
  }

  const size_t limit_;
  size_t cost_ = 0;
};

}  // namespace

size_t EstimateParsedBytes(const Descriptor* type, absl::string_view wire,
                           size_t limit) {
  if (wire.size() > limit) return wire.size();
  Estimator estimator(limit - wire.size());
  estimator.Message(type, wire.data(), wire.data() + wire.size(), 0);
  return wire.size() + estimator.cost();
}

}  // namespace mrpc
