#include "rpc/frame_meta.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/string_view.h"
#include "net/buffer.h"
#include "rpc/codec.h"

namespace mrpc {
namespace {

// The oracle: FrameMeta must accept what protobuf accepts and read every
// field as protobuf reads it. Returns which way it read the bytes.
bool ExpectSameAsProtobuf(const std::string& bytes) {
  RpcMeta want;
  const bool parsed =
      want.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  FrameMeta meta;
  EXPECT_EQ(meta.Parse(bytes.data(), bytes.size()), parsed);
  if (!parsed) return meta.parsed_by_protobuf();
  EXPECT_EQ(meta.type(), want.type());
  EXPECT_EQ(meta.correlation_id(), want.correlation_id());
  EXPECT_EQ(meta.service(), want.service());
  EXPECT_EQ(meta.method(), want.method());
  EXPECT_EQ(meta.timeout_us(), want.timeout_us());
  EXPECT_EQ(meta.status_code(), want.status_code());
  EXPECT_EQ(meta.status_message(), want.status_message());
  EXPECT_EQ(meta.metadata_size(), want.metadata_size());
  want.DiscardUnknownFields();  // Not part of the meta anyone reads.
  EXPECT_EQ(meta.ToRpcMeta().SerializeAsString(), want.SerializeAsString());
  return meta.parsed_by_protobuf();
}

// The meta of a frame EncodeRequestFrame writes.
std::string RequestMetaBytes(const RequestFields& fields) {
  Buffer frame;
  EncodeRequestFrame(fields, absl::string_view("payload"), &frame);
  const std::string wire = frame.RetrieveAllAsString();
  const size_t meta_size = static_cast<uint8_t>(wire[11]);
  return wire.substr(kFrameHeaderSize, meta_size);
}

TEST(FrameMetaTest, ReadsTheRequestsWeSendInPlace) {
  RequestFields fields;
  fields.id = 300;
  fields.service = "mrpc.echo.EchoService";
  fields.method = "Echo";
  fields.timeout_us = 1'000'000;
  const std::string bytes = RequestMetaBytes(fields);
  EXPECT_FALSE(ExpectSameAsProtobuf(bytes));
  FrameMeta meta;
  ASSERT_TRUE(meta.Parse(bytes.data(), bytes.size()));
  EXPECT_EQ(meta.type(), REQUEST);
  EXPECT_EQ(meta.correlation_id(), 300u);
  EXPECT_EQ(meta.service(), "mrpc.echo.EchoService");
  EXPECT_EQ(meta.method(), "Echo");
  EXPECT_EQ(meta.timeout_us(), 1'000'000u);
  // The names are views into the frame, not copies.
  EXPECT_GE(meta.service().data(), bytes.data());
  EXPECT_LT(meta.service().data(), bytes.data() + bytes.size());
}

TEST(FrameMetaTest, ReadsResponsesAndControlFramesInPlace) {
  Buffer frame;
  EncodeResponseFrame(9, absl::NotFoundError("no such key"), nullptr, nullptr,
                      &frame);
  std::string wire = frame.RetrieveAllAsString();
  EXPECT_FALSE(ExpectSameAsProtobuf(wire.substr(kFrameHeaderSize)));
  EncodeControlFrame(PING, UINT64_MAX, &frame);
  wire = frame.RetrieveAllAsString();
  EXPECT_FALSE(ExpectSameAsProtobuf(wire.substr(kFrameHeaderSize)));
}

TEST(FrameMetaTest, MetadataGoesToProtobufAndIsGoneAtTheNextFrame) {
  RpcMeta with;
  with.set_type(REQUEST);
  with.set_correlation_id(1);
  with.set_service("s");
  with.set_method("m");
  MetadataEntry* entry = with.add_metadata();
  entry->set_key("k");
  entry->set_value("v");
  const std::string bytes = with.SerializeAsString();
  EXPECT_TRUE(ExpectSameAsProtobuf(bytes));
  FrameMeta meta;
  ASSERT_TRUE(meta.Parse(bytes.data(), bytes.size()));
  ASSERT_EQ(meta.metadata_size(), 1);
  EXPECT_EQ(TakeMetadata(&meta), (Metadata{{"k", "v"}}));

  RequestFields fields;
  fields.id = 2;
  fields.service = "s";
  fields.method = "m";
  const std::string plain = RequestMetaBytes(fields);
  ASSERT_TRUE(meta.Parse(bytes.data(), bytes.size()));
  ASSERT_TRUE(meta.Parse(plain.data(), plain.size()));
  EXPECT_FALSE(meta.parsed_by_protobuf());
  EXPECT_EQ(meta.metadata_size(), 0);
  EXPECT_EQ(meta.correlation_id(), 2u);
}

TEST(FrameMetaTest, UnusualEncodingsDecodeAsProtobufDecodesThem) {
  using namespace std::string_literals;
  // A field twice: the last one wins.
  EXPECT_FALSE(
      ExpectSameAsProtobuf("\x08\x01\x1a\x01"
                           "a\x1a\x02"
                           "bc"s));
  // Fields in any order.
  EXPECT_FALSE(ExpectSameAsProtobuf("\x22\x01m\x10\x05\x08\x01\x1a\x01s"s));
  // An unknown field is skipped (by protobuf).
  EXPECT_TRUE(ExpectSameAsProtobuf("\x08\x01\x48\x07\x10\x03"s));
  // A known field with the wrong wire type is an unknown field.
  EXPECT_TRUE(ExpectSameAsProtobuf("\x0a\x01x\x10\x03"s));
  // A number in 10 bytes (UINT64_MAX), and one in 11 (refused).
  EXPECT_FALSE(
      ExpectSameAsProtobuf("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s));
  ExpectSameAsProtobuf("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s);
  // A 10th byte's bits past the 64th are dropped.
  EXPECT_FALSE(
      ExpectSameAsProtobuf("\x28\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f"s));
  // The type and status code are 32 bits: a larger number is truncated.
  EXPECT_FALSE(ExpectSameAsProtobuf("\x08\x82\x80\x80\x80\x10"s));
  EXPECT_FALSE(
      ExpectSameAsProtobuf("\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s));
  // Lengths: an over-long (non-minimal) one, one past the end, one in 6
  // bytes, a truncated varint.
  EXPECT_FALSE(ExpectSameAsProtobuf("\x1a\x81\x80\x80\x80\x00s"s));
  ExpectSameAsProtobuf(
      "\x1a\x05"
      "abc"s);
  ExpectSameAsProtobuf("\x1a\x81\x80\x80\x80\x80\x00s"s);
  ExpectSameAsProtobuf("\x10\x80"s);
  // Tag 0, a one-byte tag written in two, an end-group tag, empty bytes.
  ExpectSameAsProtobuf("\x00\x01"s);
  ExpectSameAsProtobuf("\x88\x00\x01"s);
  ExpectSameAsProtobuf("\x0c"s);
  EXPECT_FALSE(ExpectSameAsProtobuf(""));
}

}  // namespace
}  // namespace mrpc
