#include "tools/load/method_requests.h"

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mrpc::load {

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ParseJsonMessage(
    const google::protobuf::Message& prototype, absl::string_view json,
    absl::string_view what) {
  std::unique_ptr<google::protobuf::Message> message(prototype.New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // A misspelt field is an error.
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message.get(),
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not JSON of ", prototype.GetTypeName(), ": ",
                     std::string(status.message())));
  }
  return message;
}

absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
ParseRequestLines(const google::protobuf::Message& prototype,
                  absl::string_view text, absl::string_view file_name) {
  std::vector<std::unique_ptr<google::protobuf::Message>> requests;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> request =
        ParseJsonMessage(prototype, line,
                         absl::StrCat(file_name, ":", line_number));
    if (!request.ok()) return request.status();
    requests.push_back(*std::move(request));
  }
  if (requests.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ": no request in it (one JSON ",
                     prototype.GetTypeName(), " per line)"));
  }
  return requests;
}

}  // namespace mrpc::load
