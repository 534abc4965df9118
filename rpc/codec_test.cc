#include "rpc/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/echo.pb.h"

namespace mrpc {
namespace {

RpcMeta Request(uint64_t id) {
  RpcMeta meta;
  meta.set_type(REQUEST);
  meta.set_correlation_id(id);
  meta.set_service("mrpc.echo.EchoService");
  meta.set_method("Echo");
  return meta;
}

std::string Encode(const RpcMeta& meta,
                   const google::protobuf::MessageLite* payload) {
  Buffer out;
  EncodeFrame(meta, payload, &out);
  return out.RetrieveAllAsString();
}

struct Decoded {
  RpcMeta meta;
  std::string payload;
};

absl::Status DecodeAll(Buffer* in, std::vector<Decoded>* out,
                       size_t max_body = 1 << 20) {
  RpcMeta scratch;
  return DecodeFrames(in, max_body, &scratch,
                      [&](const RpcMeta& meta, absl::string_view payload) {
                        out->push_back({meta, std::string(payload)});
                        return true;
                      });
}

TEST(CodecTest, RoundTripsRequestAndResponse) {
  echo::EchoRequest request;
  request.set_payload("payload bytes");
  Buffer wire;
  EncodeFrame(Request(7), &request, &wire);
  RpcMeta response_meta;
  response_meta.set_type(RESPONSE);
  response_meta.set_correlation_id(7);
  response_meta.set_status_code(5);
  response_meta.set_status_message("not found");
  EncodeFrame(response_meta, absl::string_view(), &wire);

  std::vector<Decoded> frames;
  ASSERT_TRUE(DecodeAll(&wire, &frames).ok());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].meta.service(), "mrpc.echo.EchoService");
  EXPECT_EQ(frames[0].meta.correlation_id(), 7u);
  echo::EchoRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(frames[0].payload));
  EXPECT_EQ(parsed.payload(), "payload bytes");
  EXPECT_EQ(frames[1].meta.status_code(), 5);
  EXPECT_EQ(frames[1].payload, "");
  EXPECT_EQ(wire.ReadableBytes(), 0u);
}

TEST(CodecTest, HeaderFieldsAreBigEndianAndConsistent) {
  echo::EchoRequest request;
  request.set_payload(std::string(300, 'x'));
  const std::string wire = Encode(Request(1), &request);
  ASSERT_GE(wire.size(), kFrameHeaderSize);
  EXPECT_EQ(wire.substr(0, 4), "MRPC");
  auto be32 = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(wire[at])} << 24) |
           (uint32_t{static_cast<uint8_t>(wire[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(wire[at + 2])} << 8) |
           uint32_t{static_cast<uint8_t>(wire[at + 3])};
  };
  const uint32_t body = be32(4);
  const uint32_t meta = be32(8);
  EXPECT_EQ(body, wire.size() - kFrameHeaderSize);
  EXPECT_EQ(meta, Request(1).ByteSizeLong());
  EXPECT_EQ(body - meta, request.ByteSizeLong());
}

TEST(CodecTest, SplitAnywhereAndOneByteAtATime) {
  echo::EchoRequest request;
  request.set_payload("split me");
  std::string wire;
  for (uint64_t id = 1; id <= 3; ++id) wire += Encode(Request(id), &request);
  Buffer in;
  std::vector<Decoded> frames;
  for (char c : wire) {
    in.Append(&c, 1);
    ASSERT_TRUE(DecodeAll(&in, &frames).ok());
  }
  ASSERT_EQ(frames.size(), 3u);
  for (uint64_t id = 1; id <= 3; ++id)
    EXPECT_EQ(frames[id - 1].meta.correlation_id(), id);
}

TEST(CodecTest, PartialFrameStaysBuffered) {
  const std::string wire = Encode(Request(1), nullptr);
  Buffer in;
  in.Append(wire.substr(0, wire.size() - 1));
  std::vector<Decoded> frames;
  ASSERT_TRUE(DecodeAll(&in, &frames).ok());
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(in.ReadableBytes(), wire.size() - 1);
}

TEST(CodecTest, StopsWhenTheCallbackSaysSo) {
  const std::string wire =
      Encode(Request(1), nullptr) + Encode(Request(2), nullptr);
  Buffer in;
  in.Append(wire);
  int seen = 0;
  RpcMeta scratch;
  ASSERT_TRUE(DecodeFrames(&in, 1 << 20, &scratch,
                           [&](const RpcMeta&, absl::string_view) {
                             ++seen;
                             return false;
                           })
                  .ok());
  EXPECT_EQ(seen, 1);
}

absl::Status DecodeBytes(const std::string& bytes, size_t max_body = 1 << 20) {
  Buffer in;
  in.Append(bytes);
  std::vector<Decoded> frames;
  return DecodeAll(&in, &frames, max_body);
}

std::string Header(const char magic[4], uint32_t body, uint32_t meta) {
  std::string h(magic, 4);
  for (uint32_t v : {body, meta}) {
    for (int shift = 24; shift >= 0; shift -= 8)
      h.push_back(static_cast<char>(v >> shift));
  }
  return h;
}

TEST(CodecTest, BadMagicIsAProtocolError) {
  absl::Status s = DecodeBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("bad magic \"GET \""), std::string::npos) << s;
}

TEST(CodecTest, OversizedBodyIsRefusedBeforeItArrives) {
  // Only the header: the decoder must not wait for 2 GiB to refuse it.
  absl::Status s = DecodeBytes(Header("MRPC", 0x7fffffff, 10));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
}

TEST(CodecTest, LimitIsExactToTheByte) {
  echo::EchoRequest request;
  request.set_payload(std::string(100, 'p'));
  const std::string wire = Encode(Request(1), &request);
  const size_t body = wire.size() - kFrameHeaderSize;
  EXPECT_TRUE(DecodeBytes(wire, body).ok());
  EXPECT_EQ(DecodeBytes(wire, body - 1).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(CodecTest, MetaLargerThanBodyIsAProtocolError) {
  absl::Status s = DecodeBytes(Header("MRPC", 4, 5) + "abcd");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("meta size 5 larger than body size 4"),
            std::string::npos);
}

TEST(CodecTest, UnparsableMetaIsAProtocolError) {
  // 0xff is a field tag with wire type 7: invalid protobuf.
  absl::Status s = DecodeBytes(Header("MRPC", 3, 3) + "\xff\xff\xff");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unparsable RpcMeta"), std::string::npos) << s;
}

TEST(CodecTest, MissingOrUnknownFrameTypeIsAProtocolError) {
  EXPECT_FALSE(DecodeBytes(Header("MRPC", 0, 0)).ok());  // Empty meta: type 0.
  RpcMeta meta;
  meta.set_type(static_cast<FrameType>(42));
  const std::string bytes = meta.SerializeAsString();
  absl::Status s =
      DecodeBytes(Header("MRPC", bytes.size(), bytes.size()) + bytes);
  EXPECT_NE(s.message().find("invalid frame type 42"), std::string::npos) << s;
}

// docs/protocol.md's worked examples are checked against a real server in
// tests/protocol_doc_test.cc.

}  // namespace
}  // namespace mrpc
