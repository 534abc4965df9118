#include "rpc/http/json_codec.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace mrpc {

absl::Status ParseJsonRequest(absl::string_view json,
                              google::protobuf::Message* message) {
  message->Clear();
  if (json.find_first_not_of(" \t\r\n") == absl::string_view::npos) {
    return absl::OkStatus();
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message,
      options);
  if (!status.ok()) {
    // The parser's first line says what is wrong; it may add a caret line.
    std::string reason(status.message());
    reason = reason.substr(0, reason.find('\n'));
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot parse the JSON body as ", message->GetTypeName(), ": ", reason));
  }
  return absl::OkStatus();
}

absl::Status MessageToJson(const google::protobuf::Message& message,
                           std::string* json) {
  json->clear();
  google::protobuf::util::JsonPrintOptions options;
  const auto status =
      google::protobuf::util::MessageToJsonString(message, json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot write the response as JSON: ",
                                            std::string(status.message())));
  }
  json->push_back('\n');
  return absl::OkStatus();
}

}  // namespace mrpc
