// Protobuf messages as JSON, by protobuf's canonical JSON mapping (field
// names in lowerCamelCase out; either form accepted in; int64 as strings;
// enums by name), for calls made over HTTP.
//
// Internal. Plain functions, any thread.
#ifndef MRPC_RPC_HTTP_JSON_CODEC_H_
#define MRPC_RPC_HTTP_JSON_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mrpc {

// Parses `json` into `message` (cleared first). An empty body is the empty
// message. Unknown fields and malformed JSON are INVALID_ARGUMENT, with
// the parser's reason.
absl::Status ParseJsonRequest(absl::string_view json,
                              google::protobuf::Message* message);

// `message` as JSON (fields at their default value left out, as the
// mapping says), with a trailing newline.
absl::Status MessageToJson(const google::protobuf::Message& message,
                           std::string* json);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_JSON_CODEC_H_
