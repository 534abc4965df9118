#include "rpc/http/http_status.h"

#include <gtest/gtest.h>

#include "proto/echo.pb.h"
#include "rpc/http/json_codec.h"

namespace mrpc {
namespace {

TEST(HttpStatusTest, EveryCodeMapsLikeGoogleRpcCode) {
  const std::pair<absl::StatusCode, int> table[] = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401},
  };
  for (const auto& [code, http] : table) {
    EXPECT_EQ(HttpStatusFromCode(code), http) << CodeName(code);
  }
  EXPECT_EQ(HttpStatusFromCode(static_cast<absl::StatusCode>(99)), 500);
}

TEST(HttpStatusTest, ErrorBodyHasCodeNameAndEscapedMessage) {
  EXPECT_EQ(JsonErrorBody(absl::NotFoundError("no key \"a\"\n")),
            "{\"code\":5,\"status\":\"NOT_FOUND\","
            "\"message\":\"no key \\\"a\\\"\\n\"}\n");
  // Control bytes are escaped; invalid UTF-8 is replaced, valid kept.
  EXPECT_EQ(JsonQuote(std::string("a\x01\xff\xc3\xa9", 5)),
            "\"a\\u0001\\ufffd\xc3\xa9\"");
}

TEST(JsonCodecTest, RoundTripsAndRejectsUnknownFields) {
  echo::EchoRequest request;
  ASSERT_TRUE(ParseJsonRequest(R"({"payload":"aGk=","workUs":7})", &request)
                  .ok());
  EXPECT_EQ(request.payload(), "hi");
  EXPECT_EQ(request.work_us(), 7u);
  // proto field names are accepted too; an empty body is the empty message.
  ASSERT_TRUE(ParseJsonRequest(R"({"work_us":3})", &request).ok());
  EXPECT_EQ(request.work_us(), 3u);
  EXPECT_EQ(request.payload(), "");
  ASSERT_TRUE(ParseJsonRequest("  ", &request).ok());
  EXPECT_EQ(request.work_us(), 0u);

  absl::Status bad = ParseJsonRequest(R"({"nope":1})", &request);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("mrpc.echo.EchoRequest"), std::string::npos);
  EXPECT_EQ(ParseJsonRequest("{", &request).code(),
            absl::StatusCode::kInvalidArgument);

  echo::EchoResponse response;
  response.set_payload("hi");
  std::string json;
  ASSERT_TRUE(MessageToJson(response, &json).ok());
  EXPECT_EQ(json, "{\"payload\":\"aGk=\"}\n");
}

}  // namespace
}  // namespace mrpc
