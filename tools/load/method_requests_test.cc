// Parsing mrpc_load's --request_json, --request_file and --expect_json:
// what is kept, what is skipped, and errors that name the line.
#include "tools/load/method_requests.h"

#include <gtest/gtest.h>

#include "proto/echo.pb.h"

namespace mrpc::load {
namespace {

const echo::EchoRequest& Prototype() {
  return echo::EchoRequest::default_instance();
}

TEST(MethodRequestsTest, ParsesOneMessage) {
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
      ParseJsonMessage(Prototype(), R"({"payload": "aGVsbG8=", "workUs": 7})",
                       "--request_json");
  ASSERT_TRUE(message.ok()) << message.status();
  const auto& request = static_cast<const echo::EchoRequest&>(**message);
  EXPECT_EQ(request.payload(), "hello");
  EXPECT_EQ(request.work_us(), 7u);
}

TEST(MethodRequestsTest, UnknownFieldsAndBadJsonAreErrorsNamingTheSource) {
  for (const char* json : {R"({"paylod": "aGVsbG8="})", R"({"payload": )",
                           R"({"work_us": "many"})"}) {
    absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
        ParseJsonMessage(Prototype(), json, "--request_json");
    ASSERT_FALSE(message.ok()) << json;
    EXPECT_EQ(message.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(message.status().message().find(
                  "--request_json: not JSON of mrpc.echo.EchoRequest"),
              std::string::npos)
        << message.status();
  }
}

TEST(MethodRequestsTest, LinesInOrderSkippingBlanksAndComments) {
  absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
      requests = ParseRequestLines(Prototype(),
                                   "# three requests\n"
                                   "{\"workUs\": 1}\n"
                                   "\n"
                                   "   \t\n"
                                   "  # indented comment\n"
                                   "{\"workUs\": 2}\r\n"
                                   "  {\"work_us\": 3}  \n",
                                   "requests.jsonl");
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(static_cast<const echo::EchoRequest&>(*(*requests)[i]).work_us(),
              i + 1);
  }
}

TEST(MethodRequestsTest, ABadLineIsNamedByNumber) {
  absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
      requests = ParseRequestLines(Prototype(),
                                   "{\"workUs\": 1}\n"
                                   "# comment\n"
                                   "{\"workUs\": 2, \"colour\": 1}\n",
                                   "requests.jsonl");
  ASSERT_FALSE(requests.ok());
  EXPECT_EQ(requests.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(requests.status().message().find("requests.jsonl:3: "),
            std::string::npos)
      << requests.status();
}

TEST(MethodRequestsTest, AFileWithNoRequestIsAnError) {
  absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
      requests = ParseRequestLines(Prototype(), "# nothing\n\n", "empty.jsonl");
  ASSERT_FALSE(requests.ok());
  EXPECT_NE(requests.status().message().find("empty.jsonl: no request"),
            std::string::npos)
      << requests.status();
}

}  // namespace
}  // namespace mrpc::load
