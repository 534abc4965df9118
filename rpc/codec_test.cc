#include "rpc/codec.h"

#include <gtest/gtest.h>

#include <algorithm>
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
  FrameMeta scratch;
  return DecodeFrames(in, max_body, &scratch,
                      [&](const FrameMeta& meta, absl::string_view payload) {
                        out->push_back({meta.ToRpcMeta(), std::string(payload)});
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
  FrameMeta scratch;
  ASSERT_TRUE(DecodeFrames(&in, 1 << 20, &scratch,
                           [&](const FrameMeta&, absl::string_view) {
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

// A value with every awkward byte: NUL inside, 0xff, high bit set.
const std::string kBinaryValue("a\0b\xff\x80\0", 6);

TEST(CodecTest, ResponseFrameCarriesMetadataInOrder) {
  const Metadata metadata = {{"x-dup", "first"},
                             {"bin", kBinaryValue},
                             {"x-dup", "second"},
                             {"empty", ""}};
  echo::EchoResponse response;
  response.set_payload("reply");
  Buffer wire;
  EncodeResponseFrame(42, absl::OkStatus(), &metadata, &response, &wire);

  std::vector<Decoded> frames;
  ASSERT_TRUE(DecodeAll(&wire, &frames).ok());
  ASSERT_EQ(frames.size(), 1u);
  RpcMeta& meta = frames[0].meta;
  EXPECT_EQ(meta.type(), RESPONSE);
  EXPECT_EQ(meta.correlation_id(), 42u);
  EXPECT_EQ(meta.status_code(), 0);
  EXPECT_TRUE(StatusFromMeta(meta).ok());
  EXPECT_TRUE(
      CheckMetadata(meta, kDefaultMaxMetadataBytes, kDefaultMaxMetadataEntries)
          .ok());
  const Metadata decoded = TakeMetadata(&meta);
  EXPECT_EQ(decoded, metadata);
  EXPECT_EQ(decoded[1].second.size(), 6u);  // NULs survive.
  EXPECT_EQ(meta.metadata_size(), 0);       // Taken out.
  echo::EchoResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(frames[0].payload));
  EXPECT_EQ(parsed.payload(), "reply");
}

TEST(CodecTest, ErrorResponseDropsThePayloadAndKeepsMetadata) {
  const Metadata metadata = {{"why", "because"}};
  echo::EchoResponse response;
  response.set_payload("must not be sent");
  Buffer wire;
  EncodeResponseFrame(7, absl::NotFoundError("no such key"), &metadata,
                      &response, &wire);
  // Null and empty metadata: no entries.
  EncodeResponseFrame(8, absl::OkStatus(), nullptr, nullptr, &wire);
  const Metadata none;
  EncodeResponseFrame(9, absl::OkStatus(), &none, nullptr, &wire);

  std::vector<Decoded> frames;
  ASSERT_TRUE(DecodeAll(&wire, &frames).ok());
  ASSERT_EQ(frames.size(), 3u);
  absl::Status status = StatusFromMeta(frames[0].meta);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no such key");
  EXPECT_EQ(frames[0].payload, "");
  EXPECT_EQ(TakeMetadata(&frames[0].meta), metadata);
  EXPECT_EQ(frames[1].meta.correlation_id(), 8u);
  EXPECT_EQ(frames[1].meta.metadata_size(), 0);
  EXPECT_EQ(frames[1].payload, "");
  EXPECT_EQ(frames[2].meta.metadata_size(), 0);
}

TEST(CodecTest, ControlFramesCarryTypeAndIdOnly) {
  Buffer wire;
  EncodeControlFrame(PING, 1, &wire);
  EncodeControlFrame(PONG, 2, &wire);
  EncodeControlFrame(CANCEL, uint64_t{1} << 40, &wire);
  std::vector<Decoded> frames;
  ASSERT_TRUE(DecodeAll(&wire, &frames).ok());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].meta.type(), PING);
  EXPECT_EQ(frames[1].meta.type(), PONG);
  EXPECT_EQ(frames[2].meta.type(), CANCEL);
  EXPECT_EQ(frames[2].meta.correlation_id(), uint64_t{1} << 40);
  for (const Decoded& f : frames) {
    EXPECT_EQ(f.payload, "");
    EXPECT_EQ(f.meta.metadata_size(), 0);
    EXPECT_EQ(f.meta.status_code(), 0);
  }
}

TEST(CodecTest, StatusFromMetaMapsUnknownCodesToUnknownKeepingTheNumber) {
  RpcMeta meta;
  meta.set_type(RESPONSE);
  meta.set_status_code(99);
  meta.set_status_message("from the future");
  absl::Status status = StatusFromMeta(meta);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(status.message().find("99"), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("from the future"), absl::string_view::npos)
      << status;

  meta.set_status_code(-1);
  EXPECT_EQ(StatusFromMeta(meta).code(), absl::StatusCode::kUnknown);
  EXPECT_NE(StatusFromMeta(meta).message().find("-1"), absl::string_view::npos);

  // The canonical range maps to itself.
  meta.set_status_code(16);
  meta.set_status_message("who are you");
  EXPECT_EQ(StatusFromMeta(meta), absl::UnauthenticatedError("who are you"));
  meta.set_status_code(0);
  EXPECT_TRUE(StatusFromMeta(meta).ok());
}

TEST(CodecTest, CheckMetadataEnforcesCountBytesAndKeys) {
  // Exactly at both limits: 2 entries, 10 bytes (keys + values).
  Metadata metadata = {{"ab", "cde"}, {"fg", "hij"}};
  ASSERT_EQ(metadata[0].first.size() + metadata[0].second.size() +
                metadata[1].first.size() + metadata[1].second.size(),
            10u);
  RpcMeta meta;
  AppendMetadata(metadata, &meta);
  EXPECT_TRUE(CheckMetadata(metadata, 10, 2).ok());
  EXPECT_TRUE(CheckMetadata(meta, 10, 2).ok());

  // One byte over.
  EXPECT_EQ(CheckMetadata(metadata, 9, 2).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CheckMetadata(meta, 9, 2).code(),
            absl::StatusCode::kResourceExhausted);
  // One entry over.
  EXPECT_EQ(CheckMetadata(metadata, 10, 1).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CheckMetadata(meta, 10, 1).code(),
            absl::StatusCode::kResourceExhausted);

  // A malformed key, within the limits.
  Metadata bad = {{"ok", "1"}, {"Bad Key", "2"}};
  RpcMeta bad_meta;
  AppendMetadata(bad, &bad_meta);
  EXPECT_EQ(CheckMetadata(bad, 1024, 64).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckMetadata(bad_meta, 1024, 64).code(),
            absl::StatusCode::kInvalidArgument);
  // An empty key is malformed too.
  EXPECT_EQ(CheckMetadata(Metadata{{"", "v"}}, 1024, 64).code(),
            absl::StatusCode::kInvalidArgument);
  // mrpc's own keys are well-formed on the wire (the server sends them).
  EXPECT_TRUE(CheckMetadata(Metadata{{kServerTimeKey, "12"}}, 1024, 64).ok());
}

TEST(CodecTest, AppendMetadataAddsAfterExistingEntries) {
  RpcMeta meta;
  AppendMetadata({{"a", "1"}}, &meta);
  AppendMetadata({{"b", "2"}, {"a", "3"}}, &meta);
  const Metadata want = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  EXPECT_EQ(TakeMetadata(&meta), want);
}

// The REQUEST, RESPONSE and control encoders write the meta by hand; their
// bytes must be exactly what protobuf's serializer makes of the same fields
// (the reference a client in another language would use).
TEST(CodecTest, HandEncodedFramesMatchProtobufByteForByte) {
  const std::string long_value(300, 'v');  // Two-byte length varints.
  const std::vector<Metadata> metadatas = {
      {},
      {{"x-user", "ada"}},
      {{"k", ""}, {"", "empty key"}, {"k", std::string("\0\xff", 2)}},
      {{"long", long_value}, {"traceparent", "00-ab-cd-01"}},
  };
  echo::EchoRequest payload;
  payload.set_payload("hi");
  // Varints of every length, 1 to 10 bytes, at both ends of their range.
  std::vector<uint64_t> ids = {0, 300, UINT64_MAX};
  for (int bits = 1; bits < 64; ++bits) {
    ids.push_back((uint64_t{1} << bits) - 1);
    ids.push_back(uint64_t{1} << bits);
  }
  for (uint64_t id : ids) {
    for (const Metadata& metadata : metadatas) {
      for (uint64_t timeout : {uint64_t{0}, uint64_t{250000}, UINT64_MAX}) {
        for (const char* service : {"", "mrpc.echo.EchoService"}) {
          RpcMeta meta;
          meta.set_type(REQUEST);
          meta.set_correlation_id(id);
          meta.set_service(service);
          meta.set_method("Echo");
          meta.set_timeout_us(timeout);
          AppendMetadata(metadata, &meta);
          RequestFields fields;
          fields.id = id;
          fields.service = service;
          fields.method = "Echo";
          fields.timeout_us = timeout;
          fields.metadata = &metadata;
          Buffer by_hand, with_bytes;
          EncodeRequestFrame(fields, &payload, &by_hand);
          EncodeRequestFrame(fields, payload.SerializeAsString(), &with_bytes);
          const std::string reference = Encode(meta, &payload);
          EXPECT_EQ(by_hand.RetrieveAllAsString(), reference) << id;
          EXPECT_EQ(with_bytes.RetrieveAllAsString(), reference) << id;
        }
      }
      const absl::Status statuses[] = {
          absl::OkStatus(), absl::NotFoundError("no such key"),
          absl::CancelledError(""),
          absl::Status(static_cast<absl::StatusCode>(99), "odd code")};
      for (const absl::Status& status : statuses) {
        RpcMeta meta;
        meta.set_type(RESPONSE);
        meta.set_correlation_id(id);
        if (!status.ok()) {
          meta.set_status_code(status.raw_code());
          meta.set_status_message(std::string(status.message()));
        }
        AppendMetadata(metadata, &meta);
        Buffer by_hand;
        EncodeResponseFrame(id, status, &metadata, &payload, &by_hand);
        EXPECT_EQ(by_hand.RetrieveAllAsString(),
                  Encode(meta, status.ok() ? &payload : nullptr))
            << id << " " << status;
      }
    }
    for (FrameType type : {PING, PONG, CANCEL}) {
      RpcMeta meta;
      meta.set_type(type);
      meta.set_correlation_id(id);
      Buffer by_hand;
      EncodeControlFrame(type, id, &by_hand);
      EXPECT_EQ(by_hand.RetrieveAllAsString(), Encode(meta, nullptr)) << id;
    }
  }
}

}  // namespace
}  // namespace mrpc

namespace mrpc {
namespace {

// Feeds `wire` to the skipping decoder `chunk` bytes at a time, as reads
// would, and records what it decodes and refuses.
struct SkipRun {
  std::vector<uint64_t> frames;             // Ids taken.
  std::vector<std::pair<uint64_t, uint32_t>> refused;  // Id, body size.
  size_t max_buffered = 0;
};

SkipRun FeedSkipping(const std::string& wire, size_t chunk, size_t max_body,
                     size_t room) {
  SkipRun run;
  Buffer in;
  FrameMeta scratch;
  FrameSkip skip;
  for (size_t at = 0; at < wire.size(); at += chunk) {
    in.Append(wire.substr(at, chunk));
    absl::Status status = DecodeFrames(
        &in, max_body, room, &scratch, &skip,
        [&](const FrameMeta& meta, absl::string_view) {
          run.frames.push_back(meta.correlation_id());
          return true;
        },
        [&](const FrameMeta& meta, uint32_t body_size) {
          run.refused.push_back({meta.correlation_id(), body_size});
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
    run.max_buffered = std::max(run.max_buffered, in.ReadableBytes());
  }
  EXPECT_EQ(in.ReadableBytes(), 0u);
  EXPECT_EQ(skip.remaining, 0u);
  return run;
}

std::string Frame(uint64_t id, size_t payload_size) {
  Buffer out;
  EncodeRequestFrame({id, "s", "m"}, std::string(payload_size, 'p'), &out);
  return out.RetrieveAllAsString();
}

TEST(CodecSkipTest, OversizedFrameIsRefusedAtItsMetaAndSkippedAcrossReads) {
  const std::string wire = Frame(1, 10) + Frame(2, 5000) + Frame(3, 10);
  for (size_t chunk : {1, 7, 100, 4096, 100000}) {
    SkipRun run = FeedSkipping(wire, chunk, /*max_body=*/1000, SIZE_MAX);
    EXPECT_EQ(run.frames, (std::vector<uint64_t>{1, 3})) << chunk;
    ASSERT_EQ(run.refused.size(), 1u) << chunk;
    EXPECT_EQ(run.refused[0].first, 2u);
    EXPECT_GT(run.refused[0].second, 5000u);
    // The refused body was never held whole: at most one chunk of it.
    EXPECT_LT(run.max_buffered, std::max<size_t>(chunk, 1100)) << chunk;
  }
}

TEST(CodecSkipTest, IncompleteFrameOverTheRoomIsRefusedCompleteOneIsNot) {
  const std::string frame = Frame(5, 50000);
  // Whole in one read: the memory is spent already, so it is taken.
  SkipRun whole = FeedSkipping(frame, frame.size(), 1 << 20, /*room=*/1000);
  EXPECT_EQ(whole.frames, (std::vector<uint64_t>{5}));
  // Arriving in pieces with no room for the rest: refused and skipped.
  SkipRun pieces = FeedSkipping(frame, 1000, 1 << 20, /*room=*/1000);
  EXPECT_TRUE(pieces.frames.empty());
  ASSERT_EQ(pieces.refused.size(), 1u);
  EXPECT_EQ(pieces.refused[0].first, 5u);
}

TEST(CodecSkipTest, LargePartialFrameGetsExactlyItsRoomReserved) {
  const std::string frame = Frame(9, 1 << 20);
  Buffer in(256);
  in.Append(frame.substr(0, 4096));
  FrameMeta scratch;
  FrameSkip skip;
  int taken = 0;
  ASSERT_TRUE(DecodeFrames(
                  &in, 2 << 20, SIZE_MAX, &scratch, &skip,
                  [&](const FrameMeta&, absl::string_view) { return ++taken; },
                  [&](const FrameMeta&, uint32_t) { return false; })
                  .ok());
  EXPECT_EQ(taken, 0);
  // Room for exactly the rest of the frame, not a doubled buffer.
  EXPECT_EQ(in.WritableBytes(), frame.size() - 4096);
  EXPECT_LE(in.Capacity(), frame.size() + Buffer::kCheapPrepend);
}

TEST(CodecSkipTest, HugeMetaStillAProtocolError) {
  Buffer in;
  in.Append(Header("MRPC", 0xfffffff0u, 0xfffffff0u));
  FrameMeta scratch;
  FrameSkip skip;
  absl::Status status = DecodeFrames(
      &in, 1 << 20, SIZE_MAX, &scratch, &skip,
      [](const FrameMeta&, absl::string_view) { return true; },
      [](const FrameMeta&, uint32_t) { return true; });
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace mrpc
