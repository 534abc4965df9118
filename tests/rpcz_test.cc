// /rpcz end to end: a Server with the test service, calls through a real
// Channel (and over HTTP), and the page read over a raw socket.
#include <glog/logging.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/inet_address.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/client_context.h"
#include "rpc/server.h"
#include "rpc/trace.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using google::protobuf::Struct;
using google::protobuf::Value;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;

constexpr absl::Duration kSlow = absl::Milliseconds(50);

class RpczTest : public ::testing::Test {
 protected:
  void StartServer(size_t max_calls = 256, bool enabled = true) {
    ServerOptions options;
    options.num_threads = 2;
    options.worker_threads = 1;
    options.shutdown_grace = absl::Milliseconds(100);
    options.rpcz.enabled = enabled;
    options.rpcz.slow_threshold = kSlow;
    options.rpcz.max_calls = max_calls;
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = std::move(*channel);
  }
  void TearDown() override {
    channel_.reset();
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  absl::Status Call(const std::string& method, const std::string& payload,
                    ClientContext* ctx = nullptr) {
    EchoRequest req;
    req.set_payload(payload);
    EchoResponse resp;
    return channel_->CallMethodBlocking(kTestService, method, req, &resp, ctx);
  }

  // One HTTP/1.1 exchange on a fresh connection: the raw response.
  std::string Http(const std::string& request) {
    absl::StatusOr<RawClient> raw =
        RawClient::Connect(server_->listen_address());
    CHECK(raw.ok()) << raw.status();
    CHECK(raw->Write(request).ok());
    std::string response;
    absl::Status closed = raw->WaitForClose(absl::Seconds(10), &response);
    CHECK(closed.ok()) << closed;
    return response;
  }
  static std::string Body(const std::string& response) {
    const size_t at = response.find("\r\n\r\n");
    CHECK_NE(at, std::string::npos) << response;
    return response.substr(at + 4);
  }
  std::string Get(const std::string& target) {
    return Http(absl::StrCat(
        "GET ", target, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  }
  Struct GetJson(const std::string& query = "") {
    const std::string response = Get(absl::StrCat("/rpcz?format=json", query));
    EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200")) << response;
    Struct page;
    auto parsed =
        google::protobuf::util::JsonStringToMessage(Body(response), &page);
    CHECK(parsed.ok()) << parsed << "\n" << response;
    return page;
  }
  static std::vector<Struct> Calls(const Struct& page) {
    std::vector<Struct> calls;
    for (const Value& v : page.fields().at("calls").list_value().values()) {
      calls.push_back(v.struct_value());
    }
    return calls;
  }
  static const Value& Field(const Struct& call, const std::string& name) {
    return call.fields().at(name);
  }
  static double Num(const Struct& call, const std::string& name) {
    return Field(call, name).number_value();
  }
  static std::string Str(const Struct& call, const std::string& name) {
    return Field(call, name).string_value();
  }
  // A call is kept just after its answer is written, so the caller can
  // see its reply first: poll the page until `n` calls were kept in all.
  Struct WaitForKept(int n) {
    Struct page;
    EXPECT_TRUE(Eventually([&] {
      page = GetJson();
      return Num(page, "kept_total") >= n;
    }));
    return page;
  }

  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> channel_;
};

TEST_F(RpczTest, KeepsASlowWorkerCallWithItsPhasesAndNotAFastOne) {
  StartServer();
  ASSERT_TRUE(Call("Echo", "fast").ok());
  ASSERT_TRUE(Call("Sleep", "80").ok());
  // The Echo was answered first, on the same connection: had it been kept,
  // it would be in by the time the Sleep is.
  Struct page = WaitForKept(1);
  std::vector<Struct> calls = Calls(page);
  ASSERT_EQ(calls.size(), 1u);
  const Struct& sleep = calls[0];
  EXPECT_EQ(Str(sleep, "service"), kTestService);
  EXPECT_EQ(Str(sleep, "method"), "Sleep");
  EXPECT_EQ(Str(sleep, "protocol"), "mrpc");
  EXPECT_EQ(Num(sleep, "code"), 0);
  EXPECT_EQ(Str(sleep, "status"), "OK");
  EXPECT_TRUE(absl::StartsWith(Str(sleep, "peer"), "127.0.0.1:"));
  EXPECT_TRUE(Field(sleep, "trace_id").has_null_value());
  EchoRequest req;
  req.set_payload("80");
  EXPECT_EQ(Num(sleep, "request_bytes"), req.ByteSizeLong());
  EXPECT_GE(Num(sleep, "handler_us"), 80000);
  EXPECT_GE(Num(sleep, "queued_us"), 0);
  EXPECT_GE(Num(sleep, "answer_us"), 0);
  EXPECT_GE(Num(sleep, "total_us"), Num(sleep, "queued_us") +
                                        Num(sleep, "handler_us") +
                                        Num(sleep, "answer_us") - 3);
  EXPECT_GE(Num(sleep, "total_us"), Num(sleep, "handler_us"));
  EXPECT_FALSE(Str(sleep, "arrival").empty());
  // The thresholds in use.
  EXPECT_EQ(Num(page, "slow_threshold_us"), 50000);
  EXPECT_TRUE(Field(page, "keep_errors").bool_value());
  EXPECT_EQ(Num(page, "max_calls"), 256);
}

TEST_F(RpczTest, AnInlineHandlerThatFinishesLaterHasAHandlerPhase) {
  StartServer();
  ASSERT_TRUE(Call("Delay", "70").ok());  // Done from a loop timer.
  std::vector<Struct> calls = Calls(WaitForKept(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(Str(calls[0], "method"), "Delay");
  EXPECT_EQ(Num(calls[0], "queued_us"), 0);  // Inline: no queue.
  EXPECT_GE(Num(calls[0], "handler_us"), 70000);
  EXPECT_GE(Num(calls[0], "total_us"), Num(calls[0], "handler_us"));
}

TEST_F(RpczTest, AWorkerCallBehindABusyPoolShowsItsQueuedPhase) {
  StartServer();  // One worker.
  Notification first_done;
  EchoRequest req;
  req.set_payload("300");
  EchoResponse resp;
  channel_->CallMethod(kTestService, "Sleep", req, &resp, nullptr,
                       [&](absl::Status s) {
                         EXPECT_TRUE(s.ok()) << s;
                         first_done.Notify();
                       });
  ASSERT_TRUE(Eventually([&] { return counters_.sleep_runs.load() == 1; }));
  ASSERT_TRUE(Call("Sleep", "1").ok());  // Waits for the only worker.
  first_done.WaitForNotification();
  std::vector<Struct> calls = Calls(WaitForKept(2));
  ASSERT_EQ(calls.size(), 2u);
  const Struct* queued = nullptr;
  for (const Struct& c : calls) {
    if (Num(c, "request_bytes") == 3) queued = &c;  // Payload "1".
  }
  ASSERT_NE(queued, nullptr);
  // It arrived while the 300 ms sleep had just begun.
  EXPECT_GE(Num(*queued, "queued_us"), 150000);
  EXPECT_LT(Num(*queued, "handler_us"), Num(*queued, "queued_us"));
  EXPECT_GE(Num(*queued, "total_us"), Num(*queued, "queued_us"));
}

TEST_F(RpczTest, KeepsAFailedCallWithItsCodeMessageAndPeer) {
  StartServer();
  absl::Status s = Call("Fail", "5:no such key");
  ASSERT_EQ(s.code(), absl::StatusCode::kNotFound);
  std::vector<Struct> calls = Calls(WaitForKept(1));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(Str(calls[0], "method"), "Fail");
  EXPECT_EQ(Num(calls[0], "code"), 5);
  EXPECT_EQ(Str(calls[0], "status"), "NOT_FOUND");
  EXPECT_EQ(Str(calls[0], "message"), "no such key");
  EXPECT_TRUE(absl::StartsWith(Str(calls[0], "peer"), "127.0.0.1:"));
  EXPECT_LT(Num(calls[0], "total_us"), 50000);  // Kept for its status.
  EXPECT_EQ(Num(calls[0], "queued_us"), 0);
  EXPECT_GE(Num(calls[0], "handler_us"), 0);
}

TEST_F(RpczTest, ShowsTheCallersTraceId) {
  StartServer();
  const TraceContext trace = TraceContext::NewRoot();
  ClientContext ctx;
  ctx.set_trace(trace);
  ASSERT_FALSE(Call("Fail", "9:traced", &ctx).ok());
  ASSERT_FALSE(Call("Fail", "9:untraced").ok());
  // Over HTTP, the traceparent header.
  const TraceContext http_trace = TraceContext::NewRoot();
  // EchoRequest.payload is bytes: base64 in JSON.
  const std::string body =
      absl::StrCat("{\"payload\":\"", absl::Base64Escape("3:over http"), "\"}");
  const std::string response = Http(absl::StrCat(
      "POST /", kTestService,
      "/Fail HTTP/1.1\r\nHost: t\r\n"
      "Content-Type: application/json\r\ntraceparent: ",
      http_trace.ToTraceparent(), "\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n\r\n", body));
  ASSERT_TRUE(absl::StartsWith(response, "HTTP/1.1 400")) << response;
  std::vector<Struct> calls = Calls(WaitForKept(3));
  ASSERT_EQ(calls.size(), 3u);
  // By message: the HTTP call ran on another connection, maybe another
  // loop, so its place in the order is not fixed.
  auto find = [&](const std::string& message) -> const Struct& {
    for (const Struct& c : calls) {
      if (Str(c, "message") == message) return c;
    }
    ADD_FAILURE() << "no call with message " << message << " in "
                  << GetJson().DebugString();
    return calls[0];
  };
  EXPECT_EQ(Str(find("traced"), "trace_id"), trace.TraceIdHex());
  EXPECT_EQ(Str(find("traced"), "protocol"), "mrpc");
  EXPECT_TRUE(Field(find("untraced"), "trace_id").has_null_value());
  EXPECT_EQ(Str(find("over http"), "protocol"), "http");
  EXPECT_EQ(Str(find("over http"), "trace_id"), http_trace.TraceIdHex());
}

TEST_F(RpczTest, KeepsOnlyTheNewestMaxCalls) {
  StartServer(/*max_calls=*/3);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_FALSE(Call("Fail", absl::StrCat("2:call ", i)).ok());
  }
  Struct page = WaitForKept(5);
  std::vector<Struct> calls = Calls(page);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(Str(calls[0], "message"), "call 5");
  EXPECT_EQ(Str(calls[1], "message"), "call 4");
  EXPECT_EQ(Str(calls[2], "message"), "call 3");
  EXPECT_EQ(Num(page, "max_calls"), 3);
}

TEST_F(RpczTest, FiltersByLatencyErrorsAndCount) {
  StartServer();
  ASSERT_TRUE(Call("Sleep", "60").ok());
  ASSERT_FALSE(Call("Fail", "2:quick").ok());
  ASSERT_FALSE(Call("Fail", "2:quick too").ok());
  WaitForKept(3);
  std::vector<Struct> errors = Calls(GetJson("&errors=1"));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(Str(errors[0], "message"), "quick too");
  std::vector<Struct> slow = Calls(GetJson("&min_ms=55"));
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(Str(slow[0], "method"), "Sleep");
  std::vector<Struct> one = Calls(GetJson("&limit=1"));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(Str(one[0], "message"), "quick too");
  EXPECT_TRUE(absl::StartsWith(Get("/rpcz?limit=many"), "HTTP/1.1 400"));
}

TEST_F(RpczTest, TheHtmlPageEscapesTheStatusMessage) {
  StartServer();
  ASSERT_FALSE(Call("Fail", "13:<script>alert('x')</script> & more").ok());
  WaitForKept(1);
  const std::string response = Get("/rpcz");
  ASSERT_TRUE(absl::StartsWith(response, "HTTP/1.1 200")) << response;
  EXPECT_TRUE(absl::StrContains(response, "text/html"));
  const std::string body = Body(response);
  EXPECT_FALSE(absl::StrContains(body, "<script>")) << body;
  EXPECT_TRUE(absl::StrContains(
      body, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"))
      << body;
  EXPECT_TRUE(absl::StrContains(body, "INTERNAL"));
  EXPECT_TRUE(absl::StrContains(body, "50ms"));  // The threshold in use.
  // And the JSON string is the message itself.
  std::vector<Struct> calls = Calls(GetJson());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(Str(calls[0], "message"), "<script>alert('x')</script> & more");
}

TEST_F(RpczTest, DisabledKeepsNothing) {
  StartServer(/*max_calls=*/256, /*enabled=*/false);
  ASSERT_FALSE(Call("Fail", "2:nope").ok());
  ASSERT_TRUE(Call("Sleep", "60").ok());
  Struct page = GetJson();
  EXPECT_FALSE(Field(page, "enabled").bool_value());
  EXPECT_EQ(Num(page, "kept_total"), 0);
  EXPECT_TRUE(Calls(page).empty());
}

TEST(RpczOptionsTest, StartRefusesAnEmptyRing) {
  ServerOptions options;
  options.rpcz.max_calls = 0;
  Server server(options);
  absl::Status s = server.Start("127.0.0.1:0");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

}  // namespace
}  // namespace mrpc
