// Requests for mrpc_load --method: protobuf's JSON mapping parsed into
// messages of the method's request type (or the expected response), from a
// flag or from a file of one request per line. Every error names what was
// being parsed (the flag, or the file and line), so the tool can say it and
// stop before sending any load.
//
// Tool-only. Plain functions; the messages are new ones of `prototype`'s
// type (prototype.New()), so a dynamic message's factory and descriptor pool
// must outlive them.
//
// Example:
//   absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
//       requests = ParseRequestLines(*prototype, text, "puts.jsonl");
#ifndef MRPC_TOOLS_LOAD_METHOD_REQUESTS_H_
#define MRPC_TOOLS_LOAD_METHOD_REQUESTS_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mrpc::load {

// A new message of `prototype`'s type from `json`. Unknown fields are an
// error. INVALID_ARGUMENT with `what` ("--request_json") and the type's name.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ParseJsonMessage(
    const google::protobuf::Message& prototype, absl::string_view json,
    absl::string_view what);

// The requests in `text`, a file's contents: one JSON message per line, in
// order; blank lines and lines whose first non-blank character is '#' are
// skipped. INVALID_ARGUMENT naming "`file_name`:LINE" for a line that does
// not parse, or the file when it holds no request.
absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
ParseRequestLines(const google::protobuf::Message& prototype,
                  absl::string_view text, absl::string_view file_name);

}  // namespace mrpc::load

#endif  // MRPC_TOOLS_LOAD_METHOD_REQUESTS_H_
