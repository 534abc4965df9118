// HTTP/1.1 on the server's own port, spoken as a stranger would: raw
// sockets writing the documented bytes (docs/guide.md, "HTTP, metrics and
// status pages"; docs/protocol.md, "One port"). JSON and protobuf calls,
// the status mapping, pipelining, keep-alive, deadlines and metadata from
// headers; and bad HTTP (oversized headers, a body over the limit, a bad
// chunk size, a byte a second) answered with its status and a close while
// a binary bystander on the same server keeps working.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/interceptor.h"
#include "rpc/server.h"
#include "tests/http_wire.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::HttpFetch;
using ::mrpc::testing::HttpRequestBytes;
using ::mrpc::testing::HttpResponse;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;
using ::mrpc::testing::ReadHttpResponse;

constexpr size_t kMaxHeaderBytes = 4096;
constexpr size_t kMaxBody = 64 * 1024;
constexpr absl::Duration kHeaderTimeout = absl::Milliseconds(800);
constexpr absl::Duration kBodyTimeout = absl::Milliseconds(800);

std::string Path(absl::string_view method) {
  return absl::StrCat("/", kTestService, "/", method);
}

// {"payload":"<base64>"}: EchoRequest in protobuf's JSON mapping.
std::string PayloadJson(absl::string_view payload) {
  return absl::StrCat("{\"payload\":\"", absl::Base64Escape(payload), "\"}");
}

// Records what the interceptor chain sees of each call.
struct Seen {
  Mutex mutex;
  std::vector<Metadata> metadata ABSL_GUARDED_BY(mutex);
  std::vector<absl::StatusCode> answers ABSL_GUARDED_BY(mutex);
};

class RecordingInterceptor : public ServerInterceptor {
 public:
  explicit RecordingInterceptor(Seen* seen) : seen_(seen) {}
  absl::Status OnRequest(ServerContext* context) override {
    MutexLock lock(&seen_->mutex);
    seen_->metadata.push_back(context->metadata());
    return absl::OkStatus();
  }
  void OnResponse(ServerContext*, const absl::Status& status,
                  absl::Duration) override {
    MutexLock lock(&seen_->mutex);
    seen_->answers.push_back(status.code());
  }

 private:
  Seen* const seen_;
};

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fds_before_ = ::mrpc::testing::CountOpenFds();
    ServerOptions options;
    options.num_threads = 2;
    options.http.max_header_bytes = kMaxHeaderBytes;
    options.http.max_body_bytes = kMaxBody;
    options.http.header_timeout = kHeaderTimeout;
    options.http.body_timeout = kBodyTimeout;
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(
        server_->AddInterceptor(std::make_unique<RecordingInterceptor>(&seen_))
            .ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
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
    testing::Eventually(
        [&] { return ::mrpc::testing::CountOpenFds() == fds_before_; },
        absl::Seconds(5));
    EXPECT_EQ(::mrpc::testing::CountOpenFds(), fds_before_);
  }

  // A binary call on the same server: fine, and fast.
  void ExpectBystanderWorks() {
    EchoRequest req;
    req.set_payload("still fine");
    EchoResponse resp;
    const absl::Time start = absl::Now();
    absl::Status s =
        bystander_->CallMethodBlocking(kTestService, "Echo", req, &resp);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(resp.payload(), "still fine");
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  }
  RawClient Connect() {
    absl::StatusOr<RawClient> c =
        RawClient::Connect(InetAddress::Loopback(server_->port()));
    CHECK(c.ok());
    return std::move(*c);
  }
  HttpResponse Post(
      absl::string_view method, absl::string_view body,
      std::vector<std::pair<std::string, std::string>> headers = {}) {
    absl::StatusOr<HttpResponse> r =
        HttpFetch(server_->port(), "POST", Path(method), body, headers);
    CHECK(r.ok()) << r.status();
    return *std::move(r);
  }
  // Sends `bytes`, expects `status` back and then the connection closed.
  void ExpectAnsweredAndClosed(RawClient& raw, int status) {
    absl::StatusOr<HttpResponse> r = ReadHttpResponse(raw);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(raw.WaitForClose(absl::Seconds(5)).ok());
  }

  int fds_before_ = 0;
  testing::TestServiceCounters counters_;
  Seen seen_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> bystander_;
};

TEST_F(HttpTest, JsonCallAnswersJson) {
  const uint64_t requests_before = server_->stats().requests;
  HttpResponse r = Post("Echo", PayloadJson("hello"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("mrpc-status"), "0");
  EXPECT_EQ(r.body, PayloadJson("hello") + "\n");
  // Counted like a binary call, and seen by the same interceptors.
  EXPECT_EQ(server_->stats().requests, requests_before + 1);
  MutexLock lock(&seen_.mutex);
  ASSERT_FALSE(seen_.answers.empty());
  EXPECT_EQ(seen_.answers.back(), absl::StatusCode::kOk);
}

TEST_F(HttpTest, ErrorsFollowTheCanonicalCodesHttpMapping) {
  const std::pair<std::string, int> cases[] = {
      {"5:no key \"k\"", 404}, {"3:bad", 400},   {"14:down", 503},
      {"16:who", 401},         {"7:no", 403},    {"8:full", 429},
      {"12:nope", 501},        {"13:oops", 500}, {"4:late", 504},
  };
  for (const auto& [payload, http] : cases) {
    HttpResponse r = Post("Fail", PayloadJson(payload));
    const std::string code = payload.substr(0, payload.find(':'));
    EXPECT_EQ(r.status, http) << payload;
    EXPECT_EQ(r.Header("mrpc-status"), code);
    EXPECT_TRUE(absl::StartsWith(r.body, absl::StrCat("{\"code\":", code, ",")))
        << r.body;
  }
  HttpResponse r = Post("Fail", PayloadJson("5:no key \"k\""));
  EXPECT_EQ(r.body,
            "{\"code\":5,\"status\":\"NOT_FOUND\",\"message\":\"no key "
            "\\\"k\\\"\"}\n");
}

TEST_F(HttpTest, BadJsonIsInvalidArgumentNamingTheType) {
  HttpResponse r = Post("Echo", "{\"payload\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("mrpc.echo.EchoRequest"), std::string::npos) << r.body;
  r = Post("Echo", "{\"unknown_field\":1}");
  EXPECT_EQ(r.status, 400);
}

TEST_F(HttpTest, ProtobufBodiesWorkToo) {
  EchoRequest req;
  req.set_payload(std::string("\0\1binary", 8));
  HttpResponse r = Post("Echo", req.SerializeAsString(),
                        {{"Content-Type", "application/x-protobuf"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/x-protobuf");
  EchoResponse resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_EQ(resp.payload(), req.payload());
  r = Post("Echo", "x", {{"Content-Type", "image/png"}});
  EXPECT_EQ(r.status, 415);
}

TEST_F(HttpTest, WorkerPoolMethodsRunToo) {
  HttpResponse r = Post("Sleep", PayloadJson("20"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(counters_.sleep_runs.load(), 1);
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  RawClient raw = Connect();
  // The second call completes later (a loop timer): the third, answered at
  // once by its handler, still comes back third.
  ASSERT_TRUE(
      raw.Write(HttpRequestBytes("POST", Path("Echo"), PayloadJson("one")) +
                HttpRequestBytes("POST", Path("Delay"), PayloadJson("30")) +
                HttpRequestBytes("POST", Path("Echo"), PayloadJson("three")))
          .ok());
  const std::string expected[] = {PayloadJson("one"), PayloadJson("30"),
                                  PayloadJson("three")};
  for (const std::string& body : expected) {
    absl::StatusOr<HttpResponse> r = ReadHttpResponse(raw);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, body + "\n");
  }
  // Kept alive: one more on the same connection.
  ASSERT_TRUE(
      raw.Write(HttpRequestBytes("POST", Path("Echo"), PayloadJson("four")))
          .ok());
  absl::StatusOr<HttpResponse> r = ReadHttpResponse(raw);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, PayloadJson("four") + "\n");
}

TEST_F(HttpTest, ConnectionCloseAndHttp10CloseAfterTheReply) {
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(HttpRequestBytes("POST", Path("Echo"), PayloadJson("a"),
                                         {{"Connection", "close"}}))
                  .ok());
  ExpectAnsweredAndClosed(raw, 200);
  RawClient old = Connect();
  const std::string body = PayloadJson("b");
  ASSERT_TRUE(old.Write(absl::StrCat("POST ", Path("Echo"),
                                     " HTTP/1.0\r\nContent-Length: ",
                                     body.size(), "\r\n\r\n", body))
                  .ok());
  ExpectAnsweredAndClosed(old, 200);
}

TEST_F(HttpTest, DeadlineFromTheTimeoutHeader) {
  const absl::Time start = absl::Now();
  HttpResponse r =
      Post("Delay", PayloadJson("5000"), {{"mrpc-timeout-ms", "100"}});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.Header("mrpc-status"), "4");
  EXPECT_GE(took, absl::Milliseconds(100));
  EXPECT_LT(took, absl::Seconds(2));
  r = Post("Echo", PayloadJson("x"), {{"mrpc-timeout-ms", "soon"}});
  EXPECT_EQ(r.status, 400);
}

TEST_F(HttpTest, RequestHeadersReachTheHandlerAsMetadata) {
  const std::string traceparent =
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  HttpResponse r = Post("Echo", PayloadJson("m"),
                        {{"X-User", "alice"}, {"traceparent", traceparent}});
  EXPECT_EQ(r.status, 200);
  MutexLock lock(&seen_.mutex);
  ASSERT_FALSE(seen_.metadata.empty());
  const Metadata& md = seen_.metadata.back();
  auto value = [&](absl::string_view key) -> std::string {
    for (const auto& [k, v] : md) {
      if (k == key) return v;
    }
    return "<absent>";
  };
  EXPECT_EQ(value("x-user"), "alice");
  EXPECT_EQ(value("traceparent"), traceparent);
  // What frames the HTTP exchange is not metadata.
  EXPECT_EQ(value("host"), "<absent>");
  EXPECT_EQ(value("content-length"), "<absent>");
}

TEST_F(HttpTest, UnknownPathsMethodsAndVerbs) {
  absl::StatusOr<HttpResponse> r = HttpFetch(server_->port(), "GET", "/nope");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("\"status\":\"NOT_FOUND\""), std::string::npos);
  r = HttpFetch(server_->port(), "GET", Path("Echo"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("allow"), "POST");
  EXPECT_EQ(Post("NoSuchMethod", "{}").status, 501);
}

TEST_F(HttpTest, ExpectContinueGetsAnInterimReply) {
  RawClient raw = Connect();
  const std::string body = PayloadJson("later");
  ASSERT_TRUE(raw.Write(absl::StrCat("POST ", Path("Echo"),
                                     " HTTP/1.1\r\nHost: t\r\nExpect: "
                                     "100-continue\r\nContent-Length: ",
                                     body.size(), "\r\n\r\n"))
                  .ok());
  absl::StatusOr<HttpResponse> interim = ReadHttpResponse(raw);
  ASSERT_TRUE(interim.ok()) << interim.status();
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(raw.Write(body).ok());
  absl::StatusOr<HttpResponse> r = ReadHttpResponse(raw);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body + "\n");
}

// Bad HTTP: each is answered with its status and closed; the bystander
// (checked in TearDown) never notices.
TEST_F(HttpTest, OversizedHeadersAre431) {
  RawClient raw = Connect();
  ASSERT_TRUE(
      raw.Write(absl::StrCat("GET / HTTP/1.1\r\nX-Big: ",
                             std::string(kMaxHeaderBytes + 1, 'a'), "\r\n\r\n"))
          .ok());
  ExpectAnsweredAndClosed(raw, 431);
  EXPECT_EQ(server_->stats().http_bad_requests, 1u);
}

TEST_F(HttpTest, BodyOverTheLimitIs413BeforeItIsSent) {
  RawClient raw = Connect();
  // Only the headers: the answer comes from Content-Length alone.
  ASSERT_TRUE(raw.Write(absl::StrCat("POST ", Path("Echo"),
                                     " HTTP/1.1\r\nContent-Length: ",
                                     kMaxBody + 1, "\r\n\r\n"))
                  .ok());
  ExpectAnsweredAndClosed(raw, 413);
}

TEST_F(HttpTest, ChunkedBodiesAndABadChunkSize) {
  RawClient raw = Connect();
  const std::string body = PayloadJson("chunks");
  ASSERT_TRUE(
      raw.Write(absl::StrCat("POST ", Path("Echo"),
                             " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                             absl::Hex(5), "\r\n", body.substr(0, 5), "\r\n",
                             absl::Hex(body.size() - 5), "\r\n", body.substr(5),
                             "\r\n0\r\n\r\n"))
          .ok());
  absl::StatusOr<HttpResponse> r = ReadHttpResponse(raw);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, body + "\n");
  ASSERT_TRUE(
      raw.Write(absl::StrCat("POST ", Path("Echo"),
                             " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                             "zz\r\nhello\r\n"))
          .ok());
  ExpectAnsweredAndClosed(raw, 400);
}

TEST_F(HttpTest, AByteASecondIsClosedAtTheHeaderTimeout) {
  RawClient raw = Connect();
  const std::string request = HttpRequestBytes("GET", "/", "");
  const absl::Time start = absl::Now();
  // A byte every 250 ms: each resets no timer; the header timeout counts
  // from the first byte. Between bytes, the bystander is served at once.
  size_t sent = 0;
  std::string drained;
  absl::Status closed = absl::DeadlineExceededError("not yet");
  while (sent < request.size() && absl::Now() - start < absl::Seconds(5)) {
    if (!raw.Write(request.substr(sent, 1)).ok()) break;
    ++sent;
    closed = raw.WaitForClose(absl::Milliseconds(250), &drained);
    if (closed.ok()) break;
    ExpectBystanderWorks();
  }
  ASSERT_TRUE(closed.ok()) << "still open after " << sent << " bytes";
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, kHeaderTimeout);
  EXPECT_LT(took, kHeaderTimeout + absl::Seconds(1));
  EXPECT_TRUE(absl::StartsWith(drained, "HTTP/1.1 408 ")) << drained;
  EXPECT_EQ(server_->stats().http_timeouts, 1u);
}

TEST_F(HttpTest, ABodyThatStopsIsClosedAtTheBodyTimeout) {
  RawClient raw = Connect();
  ASSERT_TRUE(raw.Write(absl::StrCat("POST ", Path("Echo"),
                                     " HTTP/1.1\r\nContent-Length: 100\r\n\r\n",
                                     "{\"payload\":"))
                  .ok());
  const absl::Time start = absl::Now();
  std::string drained;
  ASSERT_TRUE(raw.WaitForClose(kBodyTimeout + absl::Seconds(2), &drained).ok());
  EXPECT_LT(absl::Now() - start, kBodyTimeout + absl::Seconds(1));
  EXPECT_TRUE(absl::StartsWith(drained, "HTTP/1.1 408 ")) << drained;
}

TEST_F(HttpTest, NeitherProtocolIsClosedWithOneLogLinePerPeerBurst) {
  ::mrpc::testing::LogCapture log(
      [](google::LogSeverity, absl::string_view text) {
        return absl::StrContains(text, "TLS handshake");
      });
  const ServerStats before = server_->stats();
  // 50 connections opening with a TLS record header.
  for (int i = 0; i < 50; ++i) {
    RawClient raw = Connect();
    ASSERT_TRUE(raw.Write(std::string("\x16\x03\x01\x02\x00", 5)).ok());
    EXPECT_TRUE(raw.WaitForClose(absl::Seconds(5)).ok());
  }
  EXPECT_EQ(server_->stats().unknown_protocol_closes,
            before.unknown_protocol_closes + 50);
  // Rate-limited per peer: at most 10 lines per 10 s (net/log_limiter.h).
  const size_t lines = log.Lines().size();
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, 10u);
}

TEST(HttpDisabledTest, HttpConnectionsAreClosedWhenOff) {
  ServerOptions options;
  options.num_threads = 1;
  options.http.enabled = false;
  Server server(options);
  testing::TestServiceCounters counters;
  ASSERT_TRUE(testing::RegisterTestService(&server, &counters).ok());
  ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
  absl::StatusOr<RawClient> raw =
      RawClient::Connect(InetAddress::Loopback(server.port()));
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw->Write(HttpRequestBytes("GET", "/", "")).ok());
  std::string drained;
  EXPECT_TRUE(raw->WaitForClose(absl::Seconds(5), &drained).ok());
  EXPECT_EQ(drained, "");
  EXPECT_EQ(server.stats().unknown_protocol_closes, 1u);
  server.Shutdown();
  server.Wait();
}

}  // namespace
}  // namespace mrpc
