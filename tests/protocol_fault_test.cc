// Bad input on the wire: each kind gets the outcome docs/protocol.md
// promises, and an unrelated connection to the same server keeps working
// throughout.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "proto/rpc_meta.pb.h"
#include "rpc/channel.h"
#include "rpc/codec.h"
#include "rpc/server.h"
#include "tests/test_service.h"
#include "tests/wire.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::ControlFrame;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;
using ::mrpc::testing::RequestFrame;

constexpr size_t kMaxFrame = 4096;

std::string Header(uint32_t body, uint32_t meta) {
  std::string h = "MRPC";
  for (uint32_t v : {body, meta}) {
    for (int shift = 24; shift >= 0; shift -= 8)
      h.push_back(static_cast<char>(v >> shift));
  }
  return h;
}

class ProtocolFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_before_ = ::mrpc::testing::CountOpenFds();
    ServerOptions options;
    options.num_threads = 2;
    options.max_frame_size = kMaxFrame;
    options.idle_timeout = absl::Milliseconds(300);
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    // Heartbeats well inside the server's short idle timeout keep the
    // bystander's connection open however long a test waits.
    ChannelOptions channel_options;
    channel_options.heartbeat_interval = absl::Milliseconds(50);
    channel_options.heartbeat_timeout = absl::Seconds(10);
    absl::StatusOr<std::unique_ptr<Channel>> channel = Channel::Create(
        absl::StrCat("127.0.0.1:", server_->port()), channel_options);
    ASSERT_TRUE(channel.ok());
    bystander_ = std::move(*channel);
    ExpectBystanderWorks();
  }
  void TearDown() override {
    ExpectBystanderWorks();
    EXPECT_EQ(bystander_->stats().connection_losses, 0u);
    bystander_.reset();
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    // No fd leaked by any of the bad inputs.
    testing::Eventually(
        [&] { return ::mrpc::testing::CountOpenFds() == fds_before_; },
        absl::Seconds(5));
    EXPECT_EQ(::mrpc::testing::CountOpenFds(), fds_before_);
  }

  void ExpectBystanderWorks() {
    EchoRequest req;
    req.set_payload("still fine");
    EchoResponse resp;
    absl::Status s =
        bystander_->CallMethodBlocking(kTestService, "Echo", req, &resp);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(resp.payload(), "still fine");
  }
  RawClient Connect() {
    absl::StatusOr<RawClient> c =
        RawClient::Connect(InetAddress::Loopback(server_->port()));
    CHECK(c.ok());
    return std::move(*c);
  }
  // Sends `bytes` on a fresh connection and expects the server to close it
  // as a protocol error.
  void ExpectProtocolError(const std::string& bytes) {
    const uint64_t before = server_->stats().protocol_errors;
    RawClient raw = Connect();
    ASSERT_TRUE(raw.Write(bytes).ok());
    EXPECT_TRUE(raw.WaitForClose(absl::Seconds(10)).ok());
    EXPECT_EQ(server_->stats().protocol_errors, before + 1);
  }
  // Reads one frame from `raw` and returns its meta and payload.
  static std::pair<RpcMeta, std::string> ReadFrame(RawClient& raw) {
    absl::StatusOr<testing::Frame> frame = testing::ReadFrame(raw);
    CHECK(frame.ok()) << frame.status();
    return {frame->meta, frame->payload};
  }

  int fds_before_ = 0;
  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> bystander_;
};

TEST_F(ProtocolFaultTest, GarbageFirstBytesAreNeitherProtocolAndClosed) {
  // Told apart on the first bytes (docs/protocol.md, "One port"): neither
  // "MRPC" nor an HTTP request line, so the connection closes at once,
  // counted as an unknown protocol rather than a protocol error.
  const ServerStats before = server_->stats();
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(std::string("\x00\x01\x02\x03garbage garbage garbage", 27))
          .ok());
  EXPECT_TRUE(raw.WaitForClose(absl::Seconds(10)).ok());
  const ServerStats after = server_->stats();
  EXPECT_EQ(after.unknown_protocol_closes, before.unknown_protocol_closes + 1);
  EXPECT_EQ(after.protocol_errors, before.protocol_errors);
}

TEST_F(ProtocolFaultTest, BadMagicAfterTheFirstFrame) {
  // Once a connection speaks mrpc, anything but a frame is a protocol
  // error, an HTTP request line included. (A CANCEL of no call: no answer.)
  ExpectProtocolError(ControlFrame(CANCEL, 1) + "GET / HTTP/1.1\r\n\r\n");
}

TEST_F(ProtocolFaultTest, OversizedFrameWithAnUnskippableMetaIsRefusedFromTheHeader) {
  // A meta too large to read first (over kMaxSkippableMeta) leaves nothing
  // to answer: a protocol error, decided from the 12 header bytes alone.
  ExpectProtocolError(Header(0xfffffff0u, 0xfffffff0u));
}

TEST_F(ProtocolFaultTest, OversizedRequestIsAnsweredAtItsMetaAndSkipped) {
  // A request announcing 4 GiB: answered RESOURCE_EXHAUSTED as soon as its
  // meta is in, before a single payload byte is sent; its bytes are then
  // discarded as they arrive, never buffered.
  const std::string small = RequestFrame(7, kTestService, "Echo", "");
  const size_t meta_size = small.size() - kFrameHeaderSize;
  const uint32_t body = 0xfffffff0u;
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(Header(body, static_cast<uint32_t>(meta_size)) +
                        small.substr(kFrameHeaderSize))
                  .ok());
  auto [meta, payload] = ReadFrame(raw);
  EXPECT_EQ(meta.type(), RESPONSE);
  EXPECT_EQ(meta.correlation_id(), 7u);
  EXPECT_EQ(meta.status_code(),
            static_cast<int>(absl::StatusCode::kResourceExhausted));
  EXPECT_NE(meta.status_message().find("over the server's limit of 4096"),
            std::string::npos)
      << meta.status_message();
  EXPECT_EQ(server_->stats().oversized_requests, 1u);
  // 8 MiB of the announced body: skipped, not held.
  const std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(raw.Write(chunk).ok());
  const ServerStats stats = server_->stats();
  EXPECT_EQ(stats.protocol_errors, 0u);
  EXPECT_LT(stats.memory_peak, 1 << 20);
}

TEST_F(ProtocolFaultTest,
       FrameOneByteOverTheLimitIsAnsweredAndSkippedAndAtTheLimitServed) {
  // A request whose body is exactly the limit is served...
  const std::string probe = RequestFrame(1, kTestService, "Echo", "");
  const size_t overhead =
      probe.size() - kFrameHeaderSize;  // meta + empty payload
  EchoRequest req;
  req.set_payload(
      std::string(kMaxFrame - overhead - 3, 'p'));  // 3: tag + 2-byte length
  std::string at_limit =
      RequestFrame(1, kTestService, "Echo", req.SerializeAsString());
  ASSERT_EQ(at_limit.size() - kFrameHeaderSize, kMaxFrame);
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(at_limit).ok());
  auto [meta, payload] = ReadFrame(raw);
  EXPECT_EQ(meta.type(), RESPONSE);
  EXPECT_EQ(meta.status_code(), 0);
  // ...and one byte more is answered RESOURCE_EXHAUSTED and skipped; the
  // connection goes on: the next request on it is served.
  req.set_payload(std::string(kMaxFrame - overhead - 2, 'p'));
  std::string over =
      RequestFrame(2, kTestService, "Echo", req.SerializeAsString());
  ASSERT_EQ(over.size() - kFrameHeaderSize, kMaxFrame + 1);
  req.set_payload("next");
  ASSERT_TRUE(raw.Write(over + RequestFrame(3, kTestService, "Echo",
                                            req.SerializeAsString()))
                  .ok());
  auto [meta2, payload2] = ReadFrame(raw);
  EXPECT_EQ(meta2.correlation_id(), 2u);
  EXPECT_EQ(meta2.status_code(),
            static_cast<int>(absl::StatusCode::kResourceExhausted));
  auto [meta3, payload3] = ReadFrame(raw);
  EXPECT_EQ(meta3.correlation_id(), 3u);
  EXPECT_EQ(meta3.status_code(), 0);
  EchoResponse resp;
  ASSERT_TRUE(resp.ParseFromString(payload3));
  EXPECT_EQ(resp.payload(), "next");
  EXPECT_EQ(server_->stats().protocol_errors, 0u);
}

TEST_F(ProtocolFaultTest, MetaLongerThanBody) {
  ExpectProtocolError(Header(4, 8) + "abcd");
}

TEST_F(ProtocolFaultTest, UnparsableMeta) {
  ExpectProtocolError(Header(4, 4) + "\xff\xff\xff\xff");
}

TEST_F(ProtocolFaultTest, ResponseFrameFromAClient) {
  RpcMeta meta;
  meta.set_type(RESPONSE);
  meta.set_correlation_id(9);
  Buffer out;
  EncodeFrame(meta, absl::string_view(), &out);
  ExpectProtocolError(out.RetrieveAllAsString());
}

TEST_F(ProtocolFaultTest, TruncatedFrameThenCloseLeavesNoTrace) {
  const std::string frame = RequestFrame(1, kTestService, "Echo", "abc");
  {
    RawClient raw = Connect();
    ASSERT_TRUE(raw.Write(frame.substr(0, frame.size() / 2)).ok());
  }  // Closed mid-frame.
  EXPECT_EQ(server_->stats().protocol_errors, 0u);
}

TEST_F(ProtocolFaultTest, StalledHalfFrameIsClosedByTheIdleTimeout) {
  const std::string frame = RequestFrame(1, kTestService, "Echo", "abc");
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(frame.substr(0, 7)).ok());  // Then silence.
  EXPECT_TRUE(raw.WaitForClose(absl::Seconds(10)).ok());
}

TEST_F(ProtocolFaultTest,
       UnknownServiceAndMethodGetUnimplementedAndTheConnectionStays) {
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(RequestFrame(1, "no.Such", "Echo", "")).ok());
  auto [m1, p1] = ReadFrame(raw);
  EXPECT_EQ(m1.correlation_id(), 1u);
  EXPECT_EQ(m1.status_code(),
            static_cast<int>(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(m1.status_message(), "unknown service \"no.Such\"");

  ASSERT_TRUE(raw.Write(RequestFrame(2, kTestService, "Nope", "")).ok());
  auto [m2, p2] = ReadFrame(raw);
  EXPECT_EQ(m2.status_code(),
            static_cast<int>(absl::StatusCode::kUnimplemented));
  EXPECT_NE(m2.status_message().find("unknown method \"Nope\""),
            std::string::npos);

  EchoRequest ok;
  ok.set_payload("works");
  ASSERT_TRUE(
      raw.Write(RequestFrame(3, kTestService, "Echo", ok.SerializeAsString()))
          .ok());
  auto [m3, p3] = ReadFrame(raw);
  EXPECT_EQ(m3.status_code(), 0);
  EchoResponse resp;
  ASSERT_TRUE(resp.ParseFromString(p3));
  EXPECT_EQ(resp.payload(), "works");
  EXPECT_EQ(server_->stats().unimplemented, 2u);
}

// Names are bytes on the wire: a name that is not UTF-8 is just an unknown
// name, answered with a parsable response that quotes it escaped.
TEST_F(ProtocolFaultTest, NamesThatAreNotUtf8GetUnimplementedEscaped) {
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(RequestFrame(1, "no.\xc3(", "Echo", "")).ok());
  auto [m1, p1] = ReadFrame(raw);
  EXPECT_EQ(m1.correlation_id(), 1u);
  EXPECT_EQ(m1.status_code(),
            static_cast<int>(absl::StatusCode::kUnimplemented));
  EXPECT_EQ(m1.status_message(), "unknown service \"no.\\xc3(\"");
  ASSERT_TRUE(raw.Write(RequestFrame(2, kTestService, "\xff", "")).ok());
  auto [m2, p2] = ReadFrame(raw);
  EXPECT_EQ(m2.status_code(),
            static_cast<int>(absl::StatusCode::kUnimplemented));
  EXPECT_NE(m2.status_message().find("unknown method \"\\xff\""),
            std::string::npos)
      << m2.status_message();
  EXPECT_EQ(server_->stats().protocol_errors, 0u);
}

TEST_F(ProtocolFaultTest,
       UnparsableRequestGetsInvalidArgumentAndTheConnectionStays) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(RequestFrame(5, kTestService, "Echo", "\xff\xff\xff")).ok());
  auto [meta, payload] = ReadFrame(raw);
  EXPECT_EQ(meta.correlation_id(), 5u);
  EXPECT_EQ(meta.status_code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(meta.status_message().find("mrpc.echo.EchoRequest"),
            std::string::npos)
      << meta.status_message();
  EXPECT_TRUE(payload.empty());
  ASSERT_TRUE(raw.Write(RequestFrame(6, kTestService, "Echo", "")).ok());
  EXPECT_EQ(ReadFrame(raw).first.status_code(), 0);
}

TEST_F(ProtocolFaultTest, PingIsAnsweredWithPong) {
  RawClient raw = Connect();
  RpcMeta ping;
  ping.set_type(PING);
  ping.set_correlation_id(77);
  Buffer out;
  EncodeFrame(ping, absl::string_view(), &out);
  ASSERT_TRUE(raw.Write(out.RetrieveAllAsString()).ok());
  auto [meta, payload] = ReadFrame(raw);
  EXPECT_EQ(meta.type(), PONG);
  EXPECT_EQ(meta.correlation_id(), 77u);
}

}  // namespace
}  // namespace mrpc
