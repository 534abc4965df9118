// /status (rpc/http/pages_status.h): the sampler's last-minute window with
// injected times, escaping, the JSON writer, and the page served by a real
// Server after real calls.
#include <glog/logging.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/event_loop.h"
#include "net/inet_address.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/http/pages_status.h"
#include "rpc/http/pages_text.h"
#include "rpc/http/pages_window.h"
#include "rpc/server.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"
#include "rpc/version.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using google::protobuf::Struct;
using google::protobuf::Value;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::kTestService;

Struct ParseJson(const std::string& text) {
  Struct out;
  auto status = google::protobuf::util::JsonStringToMessage(text, &out);
  CHECK(status.ok()) << status << "\n" << text;
  return out;
}

const Value& Field(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  CHECK(it != s.fields().end()) << "no field " << key;
  return it->second;
}
double Number(const Struct& s, const std::string& key) {
  return Field(s, key).number_value();
}
const Struct& Object(const Struct& s, const std::string& key) {
  return Field(s, key).struct_value();
}
// The "methods" entry for `method`.
const Struct& MethodEntry(const Struct& status, const std::string& method) {
  for (const Value& v : Field(status, "methods").list_value().values()) {
    if (Field(v.struct_value(), "method").string_value() == method) {
      return v.struct_value();
    }
  }
  LOG(FATAL) << "no method " << method;
}

TEST(HtmlEscapeTest, EscapesMarkupAndQuotes) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("plain.Service/Method_1"), "plain.Service/Method_1");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(JsonWriterTest, CommasQuotesAndNumbers) {
  JsonWriter json;
  json.BeginObject();
  json.FieldString("s", "a\"b\\c\n<");
  json.FieldUint("u", 18446744073709551615u);
  json.FieldInt("i", -3);
  json.FieldDouble("d", 0.5);
  json.FieldDouble("nan", 0.0 / 0.0);
  json.FieldBool("b", true);
  json.Key("list");
  json.BeginArray();
  json.Uint(1);
  json.BeginObject();
  json.EndObject();
  json.BeginArray();
  json.EndArray();
  json.String("x");
  json.EndArray();
  json.EndObject();
  EXPECT_EQ(json.Take(),
            "{\"s\":\"a\\\"b\\\\c\\n<\",\"u\":18446744073709551615,\"i\":-3,"
            "\"d\":0.5,\"nan\":0,\"b\":true,\"list\":[1,{},[],\"x\"]}");
}

StatsSample SampleAt(absl::Time t, uint64_t calls) {
  StatsSample s;
  s.time = t;
  s.methods.resize(1);
  s.methods[0].codes[0] = calls;
  return s;
}

TEST(StatsWindowTest, KeepsTheLastMinute) {
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  StatsWindow window;
  EXPECT_FALSE(window.Base(t0).has_value());
  // Ten calls a second for 70 s, a sample each second.
  for (int i = 0; i <= 70; ++i)
    window.Add(SampleAt(t0 + absl::Seconds(i), 10 * i));
  EXPECT_EQ(window.size(), StatsWindow::kSamples);
  const absl::Time now = t0 + absl::Seconds(70);
  std::optional<StatsSample> base = window.Base(now);
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->time, t0 + absl::Seconds(10));
  MethodSnapshot live;
  live.codes[0] = 700;
  EXPECT_EQ(live.Minus(base->methods[0]).calls(), 600u);  // 60 s x 10/s.
  // Half a second later the sample at 10 s is too old.
  EXPECT_EQ(window.Base(now + absl::Milliseconds(500))->time,
            t0 + absl::Seconds(11));
}

TEST(StatsWindowTest, BeforeAMinuteUsesWhatThereIs) {
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  StatsWindow window;
  for (int i = 0; i <= 5; ++i) window.Add(SampleAt(t0 + absl::Seconds(i), i));
  EXPECT_EQ(window.size(), 6);
  EXPECT_EQ(window.Base(t0 + absl::Milliseconds(5500))->time, t0);
}

// A ServerView over hand-made server state: times are injected, so the
// window is checked without waiting.
class StatusViewTest : public ::testing::Test {
 protected:
  StatusViewTest() : shared_(std::make_shared<ServerShared>(ServerOptions())) {
    // A method whose name no registration would accept: the page must
    // escape whatever it is given.
    auto& method = shared_->methods["test.Svc"]["Get<b>&"];
    method.service = "test.Svc";
    method.name = "Get<b>&";
    method.index = 0;
    shared_->method_list.push_back(&method);
    loop_ = std::move(*EventLoop::Create());
    handle_ = shared_->HandleFor(loop_.get());
    view_ = std::make_shared<ServerView>(shared_);
    view_->SetSources({nullptr, [this] { return loops_; }});
  }

  void Record(absl::StatusCode code, absl::Duration latency, int n) {
    for (int i = 0; i < n; ++i) {
      handle_->method_stats[0].Record(code, absl::ToInt64Nanoseconds(latency));
    }
  }

  std::shared_ptr<ServerShared> shared_;
  std::unique_ptr<EventLoop> loop_;
  std::shared_ptr<LoopHandle> handle_;
  std::shared_ptr<ServerView> view_;
  std::vector<LoopView> loops_;
};

TEST_F(StatusViewTest, WindowIsTheLastMinute) {
  const absl::Time t0 = absl::Now();
  loops_ = {{"mrpc-io-0", /*busy_ns=*/0}};
  view_->Sample(t0);
  Record(absl::StatusCode::kOk, absl::Milliseconds(1), 100);
  loops_[0].busy_ns = 3'000'000'000;
  view_->Sample(t0 + absl::Seconds(30));
  Record(absl::StatusCode::kOk, absl::Milliseconds(10), 50);
  Record(absl::StatusCode::kNotFound, absl::Milliseconds(10), 10);
  loops_[0].busy_ns = 6'100'000'000;

  // 20 s in: everything since the first sample.
  Struct early = ParseJson(StatusJson(*view_, t0 + absl::Seconds(20)));
  EXPECT_DOUBLE_EQ(Number(early, "window_s"), 20);
  const Struct& m = MethodEntry(early, "Get<b>&");
  EXPECT_EQ(Number(m, "calls_total"), 160);
  EXPECT_EQ(Number(m, "calls"), 160);
  EXPECT_DOUBLE_EQ(Number(m, "qps"), 8);

  // 61 s in: the first sample has left the window; the base is at 30 s.
  Struct late = ParseJson(StatusJson(*view_, t0 + absl::Seconds(61)));
  EXPECT_DOUBLE_EQ(Number(late, "window_s"), 31);
  const Struct& w = MethodEntry(late, "Get<b>&");
  EXPECT_EQ(Number(w, "calls_total"), 160);
  EXPECT_EQ(Number(w, "errors_total"), 10);
  EXPECT_EQ(Number(w, "calls"), 60);
  EXPECT_EQ(Number(w, "errors"), 10);
  EXPECT_NEAR(Number(w, "qps"), 60.0 / 31, 1e-4);
  EXPECT_NEAR(Number(w, "error_rate"), 10.0 / 60, 1e-4);
  EXPECT_EQ(Number(Object(w, "errors_by_code"), "NOT_FOUND"), 10);
  // Every call in the window took 10 ms: its bucket is (8 ms, 10 ms].
  const Struct& latency = Object(w, "latency_us");
  EXPECT_GT(Number(latency, "p50"), 8000);
  EXPECT_LE(Number(latency, "p50"), Number(latency, "p90"));
  EXPECT_LE(Number(latency, "p90"), Number(latency, "p99"));
  EXPECT_LE(Number(latency, "p99"), Number(latency, "p999"));
  EXPECT_LE(Number(latency, "p999"), 10000);
  EXPECT_EQ(Number(latency, "max_bucket"), 10000);
  // 3.1 s busy over the 31 s window.
  const Value& loop = Field(late, "loops").list_value().values(0);
  EXPECT_NEAR(Number(loop.struct_value(), "busy_pct"), 10, 1e-3);
}

TEST_F(StatusViewTest, HtmlEscapesNamesAndMarksAStall) {
  LoopView stalled;
  stalled.name = "mrpc-io-0";
  stalled.current_stall_ns = 250'000'000;
  stalled.holder = "<script>alert(1)</script>";
  stalled.slowest_holder = "a\"b";
  loops_ = {stalled};
  view_->Sample(absl::Now());
  Record(absl::StatusCode::kOk, absl::Microseconds(300), 3);
  const std::string html = StatusHtml(*view_, absl::Now());
  EXPECT_TRUE(absl::StrContains(html, "Get&lt;b&gt;&amp;")) << html;
  EXPECT_FALSE(absl::StrContains(html, "Get<b>"));
  EXPECT_TRUE(absl::StrContains(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_FALSE(absl::StrContains(html, "<script>"));
  EXPECT_TRUE(absl::StrContains(html, "a&quot;b"));
  EXPECT_TRUE(absl::StrContains(html, "<tr class=\"stalling\">"));
  // And the JSON keeps the raw strings, quoted.
  Struct json = ParseJson(StatusJson(*view_, absl::Now()));
  EXPECT_EQ(Field(Field(json, "loops").list_value().values(0).struct_value(),
                  "holder")
                .string_value(),
            "<script>alert(1)</script>");
}

// The page served by a real server after real calls.
class StatusServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.num_threads = 2;
    options.shutdown_grace = absl::Milliseconds(100);
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  }
  void TearDown() override {
    server_->Shutdown();
    server_->Wait();
  }

  // GET `target` with "Connection: close"; the whole response.
  std::string Get(const std::string& target) {
    absl::StatusOr<testing::RawClient> client =
        testing::RawClient::Connect(InetAddress::Loopback(server_->port()));
    CHECK(client.ok()) << client.status();
    CHECK(client
              ->Write(absl::StrCat("GET ", target,
                                   " HTTP/1.1\r\nHost: localhost\r\n"
                                   "Connection: close\r\n\r\n"))
              .ok());
    std::string response;
    CHECK(client->WaitForClose(absl::Seconds(10), &response).ok());
    return response;
  }
  static std::string Body(const std::string& response) {
    const size_t end = response.find("\r\n\r\n");
    CHECK_NE(end, std::string::npos) << response;
    return response.substr(end + 4);
  }

  absl::Status Call(Channel* channel, const std::string& method,
                    const std::string& payload) {
    EchoRequest req;
    req.set_payload(payload);
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(10));
    return channel->CallMethodBlocking(kTestService, method, req, &resp, &ctx);
  }

  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
};

TEST_F(StatusServerTest, JsonCountsTheCalls) {
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
  ASSERT_TRUE(channel.ok()) << channel.status();
  constexpr int kEchoes = 40, kNotFound = 5, kInternal = 3;
  for (int i = 0; i < kEchoes; ++i) {
    ASSERT_TRUE(Call(channel->get(), "Echo", "hi").ok());
  }
  for (int i = 0; i < kNotFound; ++i) {
    EXPECT_EQ(Call(channel->get(), "Fail", "5:nope").code(),
              absl::StatusCode::kNotFound);
  }
  for (int i = 0; i < kInternal; ++i) {
    EXPECT_EQ(Call(channel->get(), "Fail", "13:boom").code(),
              absl::StatusCode::kInternal);
  }

  // A call's statistics are recorded as its answer leaves, which may be
  // just after the client has it.
  Struct status;
  ASSERT_TRUE(Eventually([&] {
    status = ParseJson(Body(Get("/status?format=json")));
    return Number(MethodEntry(status, "Echo"), "calls_total") == kEchoes &&
           Number(MethodEntry(status, "Fail"), "calls_total") ==
               kNotFound + kInternal;
  }));
  const std::string response = Get("/status?format=json");
  EXPECT_TRUE(absl::StrContains(response, "Content-Type: application/json"))
      << response;

  EXPECT_EQ(Field(status, "state").string_value(), "serving");
  EXPECT_EQ(Field(status, "address").string_value(),
            server_->listen_address().ToString());
  EXPECT_EQ(Field(Object(status, "build"), "version").string_value(),
            kMrpcVersion);
  const double window = Number(status, "window_s");
  EXPECT_GT(window, 0);
  EXPECT_LE(window, 60);

  const Struct& echo = MethodEntry(status, "Echo");
  EXPECT_EQ(Field(echo, "service").string_value(), kTestService);
  EXPECT_EQ(Number(echo, "calls"), kEchoes);  // All within the window.
  EXPECT_EQ(Number(echo, "errors"), 0);
  EXPECT_GT(Number(echo, "qps"), 0);
  const Struct& latency = Object(echo, "latency_us");
  EXPECT_GT(Number(latency, "p50"), 0);
  EXPECT_LE(Number(latency, "p50"), Number(latency, "p90"));
  EXPECT_LE(Number(latency, "p90"), Number(latency, "p99"));
  EXPECT_LE(Number(latency, "p99"), Number(latency, "p999"));
  EXPECT_LE(Number(latency, "p999"), Number(latency, "max_bucket"));

  const Struct& fail = MethodEntry(status, "Fail");
  EXPECT_EQ(Number(fail, "errors_total"), kNotFound + kInternal);
  EXPECT_EQ(Number(fail, "errors"), kNotFound + kInternal);
  EXPECT_DOUBLE_EQ(Number(fail, "error_rate"), 1);
  EXPECT_EQ(Number(Object(fail, "errors_by_code"), "NOT_FOUND"), kNotFound);
  EXPECT_EQ(Number(Object(fail, "errors_by_code"), "INTERNAL"), kInternal);
  EXPECT_EQ(Object(fail, "errors_by_code").fields_size(), 2);

  const Struct& requests = Object(status, "requests");
  EXPECT_EQ(Number(requests, "calls_total"), kEchoes + kNotFound + kInternal);
  EXPECT_GT(Number(requests, "calls_per_s"), 0);
  EXPECT_GE(Number(requests, "http_total"), 1);
  const Struct& connections = Object(status, "connections");
  EXPECT_EQ(Number(connections, "mrpc_total"), 1);
  EXPECT_GE(Number(connections, "http_total"), 1);
  EXPECT_GE(Number(connections, "open"), 1);
  EXPECT_GT(Number(Object(status, "memory"), "limit_bytes"), 0);
  for (const char* key : {"loops"}) {
    EXPECT_TRUE(Field(status, key).has_list_value()) << key;
  }
  for (const char* key : {"worker_queue", "overload"}) {
    EXPECT_TRUE(Field(status, key).has_struct_value()) << key;
  }
}

TEST_F(StatusServerTest, HtmlListsServicesAndMethods) {
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
  ASSERT_TRUE(channel.ok()) << channel.status();
  ASSERT_TRUE(Call(channel->get(), "Echo", "hi").ok());
  const std::string response = Get("/status");
  EXPECT_TRUE(absl::StrContains(response, "HTTP/1.1 200"));
  EXPECT_TRUE(
      absl::StrContains(response, "Content-Type: text/html; charset=utf-8"));
  const std::string html = Body(response);
  EXPECT_TRUE(absl::StartsWith(html, "<!DOCTYPE html>"));
  EXPECT_TRUE(absl::StrContains(html, kTestService));
  EXPECT_TRUE(absl::StrContains(html, "<td>Echo</td>"));
  EXPECT_TRUE(absl::StrContains(html, "id=\"methods\""));
  EXPECT_TRUE(absl::StrContains(html, "id=\"loops\""));
  EXPECT_TRUE(absl::StrContains(html, "</html>"));
}

}  // namespace
}  // namespace mrpc
