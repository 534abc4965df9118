// Proves the proto chain end to end: Debian's protoc generated these classes,
// and they serialize and parse with the system libprotobuf.
#include <gtest/gtest.h>

#include <string>

#include "proto/echo.pb.h"

namespace mrpc::echo {
namespace {

TEST(EchoProtoTest, RoundTripsBinaryPayload) {
  EchoRequest request;
  std::string payload("\0\x01\xff binary", 10);
  request.set_payload(payload);

  std::string wire;
  ASSERT_TRUE(request.SerializeToString(&wire));
  // Field 1, wire type 2 (length-delimited): tag byte 0x0a, then the length.
  ASSERT_EQ(wire.size(), 2 + payload.size());
  EXPECT_EQ(wire[0], '\x0a');
  EXPECT_EQ(wire[1], static_cast<char>(payload.size()));

  // The response has the same shape, so the request's bytes parse as one.
  EchoResponse response;
  ASSERT_TRUE(response.ParseFromString(wire));
  EXPECT_EQ(response.payload(), payload);
}

TEST(EchoProtoTest, RejectsTruncatedInput) {
  EchoRequest request;
  request.set_payload(std::string(300, 'p'));
  std::string wire = request.SerializeAsString();
  wire.resize(wire.size() - 1);
  EchoResponse response;
  EXPECT_FALSE(response.ParseFromString(wire));
}

TEST(EchoProtoTest, DescriptorNamesTheService) {
  const auto* service =
      EchoRequest::descriptor()->file()->FindServiceByName("EchoService");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->full_name(), "mrpc.echo.EchoService");
  ASSERT_EQ(service->method_count(), 2);
  EXPECT_EQ(service->method(0)->name(), "Echo");
  EXPECT_EQ(service->method(1)->name(), "SlowEcho");
  EXPECT_EQ(service->method(1)->input_type(), EchoRequest::descriptor());
}

}  // namespace
}  // namespace mrpc::echo
