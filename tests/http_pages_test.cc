// End-to-end tests of /metrics, /health and the mrpc.health.v1.Health
// service: a real Server with the test service on loopback, called through
// a real Channel, its pages fetched with plain HTTP/1.1 over a socket, and
// /metrics checked by Prometheus' own promtool.
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "net/inet_address.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "proto/echo.pb.h"
#include "proto/health.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/http_wire.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using health::v1::HealthCheckRequest;
using health::v1::HealthCheckResponse;
using ::mrpc::testing::Eventually;
using ::mrpc::testing::HttpResponse;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;

constexpr char kHealthService[] = "mrpc.health.v1.Health";

// One request on `client` (kept alive), and its response (tests/http_wire.h).
absl::StatusOr<HttpResponse> Exchange(RawClient* client,
                                      absl::string_view method,
                                      absl::string_view target,
                                      absl::string_view body = "") {
  std::vector<std::pair<std::string, std::string>> headers;
  if (method == "POST")
    headers.emplace_back("Content-Type", "application/json");
  absl::Status written =
      client->Write(testing::HttpRequestBytes(method, target, body, headers));
  if (!written.ok()) return written;
  return testing::ReadHttpResponse(*client);
}

// The samples of a /metrics page by their name and labels as written
// ("name{a=\"b\"}"), and how often each family's TYPE line appears.
struct Scrape {
  std::map<std::string, double> samples;
  std::map<std::string, int> types;
  std::vector<std::string> order;  // Sample keys in page order.

  // The sample's value; a test failure if it is missing.
  double operator[](const std::string& key) const {
    auto it = samples.find(key);
    EXPECT_NE(it, samples.end()) << "no sample " << key;
    return it == samples.end() ? -1 : it->second;
  }
  bool Has(const std::string& key) const { return samples.count(key) > 0; }
};

Scrape ParseScrape(const std::string& page) {
  Scrape scrape;
  for (absl::string_view line : absl::StrSplit(page, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      ++scrape.types[std::string(line.substr(0, line.find(' ')))];
      continue;
    }
    if (line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    const std::string text(line.substr(space + 1));
    if (text == "+Inf") {
      value = INFINITY;
    } else {
      EXPECT_TRUE(absl::SimpleAtod(text, &value)) << line;
    }
    const std::string key(line.substr(0, space));
    EXPECT_EQ(scrape.samples.count(key), 0u) << "sample twice: " << key;
    scrape.samples[key] = value;
    scrape.order.push_back(key);
  }
  return scrape;
}

// The directory of PATH holding an executable `name`, or "".
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path == nullptr ? "" : path, ':', absl::SkipEmpty())) {
    const std::string file = absl::StrCat(dir, "/", name);
    if (::access(file.c_str(), X_OK) == 0) return file;
  }
  return "";
}

class HttpPagesTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    // One loop: the loop that sends a call's answer records its statistics
    // in the same task, so a later request (on any connection, all on this
    // loop) sees them.
    options.num_threads = 1;
    if (options.shutdown_grace == absl::Seconds(5)) {
      options.shutdown_grace = absl::Milliseconds(200);
    }
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
  RawClient Connect() {
    absl::StatusOr<RawClient> client =
        RawClient::Connect(server_->listen_address());
    CHECK(client.ok()) << client.status();
    return std::move(*client);
  }
  // GET `target` on a connection of its own.
  HttpResponse Get(const std::string& target) {
    RawClient client = Connect();
    absl::StatusOr<HttpResponse> response = Exchange(&client, "GET", target);
    CHECK(response.ok()) << target << ": " << response.status();
    return *response;
  }
  absl::Status Call(const std::string& method, const std::string& payload) {
    EchoRequest request;
    request.set_payload(payload);
    EchoResponse response;
    return channel_->CallMethodBlocking(kTestService, method, request,
                                        &response);
  }
  absl::StatusOr<HealthCheckResponse::ServingStatus> Check(
      const std::string& service) {
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    absl::Status status = channel_->CallMethodBlocking(kHealthService, "Check",
                                                       request, &response);
    if (!status.ok()) return status;
    return response.status();
  }

  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Channel> channel_;
};

// The exported `le` bounds, in page order.
const std::vector<std::string> kLe = {
    "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025",
    "0.005",   "0.01",   "0.025",   "0.05",   "0.1",   "0.25",
    "0.5",     "1",      "2.5",     "5",      "10",    "+Inf"};

std::string MethodLabels(const std::string& method) {
  return absl::StrCat("service=\"", kTestService, "\",method=\"", method, "\"");
}

// Checks `method`'s histogram: every bound present in order, cumulative,
// +Inf == _count == `calls`; returns the buckets by their le text.
std::map<std::string, double> CheckHistogram(const Scrape& scrape,
                                             const std::string& method,
                                             double calls) {
  const std::string labels = MethodLabels(method);
  std::map<std::string, double> by_le;
  std::vector<std::string> keys;
  for (const std::string& key : scrape.order) {
    if (absl::StartsWith(
            key, absl::StrCat("mrpc_server_request_duration_seconds_bucket{",
                              labels, ",le=\""))) {
      keys.push_back(key);
    }
  }
  EXPECT_EQ(keys.size(), kLe.size()) << method;
  double previous = 0;
  for (size_t i = 0; i < keys.size() && i < kLe.size(); ++i) {
    const double value = scrape[keys[i]];
    double le = 0;
    std::string le_text = keys[i].substr(keys[i].rfind("le=\"") + 4);
    le_text.resize(le_text.size() - 2);  // The closing "}.
    if (kLe[i] == "+Inf") {
      EXPECT_EQ(le_text, "+Inf");
    } else {
      // Any spelling of the same number ("5e-05" is 0.00005).
      EXPECT_TRUE(absl::SimpleAtod(le_text, &le)) << keys[i];
      double want = 0;
      EXPECT_TRUE(absl::SimpleAtod(kLe[i], &want));
      EXPECT_EQ(le, want) << keys[i];
    }
    EXPECT_GE(value, previous) << keys[i] << " is not cumulative";
    previous = value;
    by_le[kLe[i]] = value;
  }
  EXPECT_EQ(by_le["+Inf"], calls) << method;
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_request_duration_seconds_count{",
                                labels, "}")],
            calls)
      << method;
  EXPECT_GE(scrape[absl::StrCat("mrpc_server_request_duration_seconds_sum{",
                                labels, "}")],
            0);
  return by_le;
}

TEST_F(HttpPagesTest, MetricsCountTheCallsMade) {
  StartServer();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Call("Echo", "hi").ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Call("Fail", "5:nope").code(), absl::StatusCode::kNotFound);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(Call("Fail", "3:bad").code(), absl::StatusCode::kInvalidArgument);
  }
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Call("Delay", "30").ok());

  const HttpResponse response = Get("/metrics");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.Header("content-type"),
            "text/plain; version=0.0.4; charset=utf-8");
  const Scrape scrape = ParseScrape(response.body);
  for (const auto& [family, count] : scrape.types) {
    EXPECT_EQ(count, 1) << "TYPE of " << family << " written " << count
                        << " times";
  }

  const std::string echo = MethodLabels("Echo");
  const std::string fail = MethodLabels("Fail");
  const std::string delay = MethodLabels("Delay");
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_requests_total{", echo, "}")], 5);
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_requests_total{", fail, "}")], 5);
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_requests_total{", delay, "}")], 2);
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_responses_total{", echo,
                                ",code=\"OK\"}")],
            5);
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_responses_total{", fail,
                                ",code=\"NOT_FOUND\"}")],
            3);
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_responses_total{", fail,
                                ",code=\"INVALID_ARGUMENT\"}")],
            2);
  EXPECT_EQ(scrape[absl::StrCat("mrpc_server_responses_total{", fail,
                                ",code=\"OK\"}")],
            0);
  // Codes that never occurred are left out.
  EXPECT_FALSE(scrape.Has(absl::StrCat("mrpc_server_responses_total{", echo,
                                       ",code=\"INTERNAL\"}")));
  // A method never called still has its (empty) series.
  EXPECT_EQ(scrape["mrpc_server_requests_total{service=\"mrpc.health.v1."
                   "Health\",method=\"Check\"}"],
            0);

  CheckHistogram(scrape, "Echo", 5);
  CheckHistogram(scrape, "Fail", 5);
  // Each Delay took at least its 30 ms: none is under 25 ms; both are
  // counted in the sum.
  std::map<std::string, double> delays = CheckHistogram(scrape, "Delay", 2);
  EXPECT_EQ(delays["0.025"], 0);
  EXPECT_GE(scrape[absl::StrCat("mrpc_server_request_duration_seconds_sum{",
                                delay, "}")],
            0.060);

  // The server's own counters: 12 calls over mrpc, this page over HTTP.
  EXPECT_GE(scrape["mrpc_server_requests_received_total"], 12);
  EXPECT_GE(scrape["mrpc_server_responses_sent_total"], 12);
  EXPECT_EQ(scrape["mrpc_server_calls_in_flight"], 0);
  EXPECT_EQ(scrape["mrpc_server_connections"], 2);  // The channel and us.
  EXPECT_EQ(scrape["mrpc_server_connections_by_protocol_total{protocol="
                   "\"mrpc\"}"],
            1);
  EXPECT_EQ(scrape["mrpc_server_connections_by_protocol_total{protocol="
                   "\"http\"}"],
            1);
  EXPECT_EQ(scrape["mrpc_server_http_requests_total"], 1);
  EXPECT_EQ(scrape["mrpc_server_connections_closed_total{reason=\"idle\"}"], 0);
  EXPECT_GT(scrape["mrpc_server_memory_limit_bytes"], 0);
  EXPECT_GE(scrape["mrpc_server_memory_peak_bytes"],
            scrape["mrpc_server_memory_used_bytes"]);
  EXPECT_GE(scrape["mrpc_server_uptime_seconds"], 0.03);  // The Delays.
  EXPECT_LT(scrape["mrpc_server_uptime_seconds"], 600);

  // The process, as Prometheus names it.
  EXPECT_GT(scrape["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(scrape["process_open_fds"], 5);  // Listener, 2 conns, epolls.
  EXPECT_LE(scrape["process_open_fds"], scrape["process_max_fds"]);
  EXPECT_GE(scrape["process_threads"], 3);  // Main, acceptor, io loop.
  EXPECT_GT(scrape["process_cpu_seconds_total"], 0);
  EXPECT_LE(scrape["process_start_time_seconds"],
            absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()) + 1);
  EXPECT_EQ(response.body.find("\n\n"), std::string::npos);
}

TEST_F(HttpPagesTest, MetricsPassPromtool) {
  StartServer();
  ASSERT_TRUE(Call("Echo", "hi").ok());
  EXPECT_EQ(Call("Fail", "14:down").code(), absl::StatusCode::kUnavailable);
  const HttpResponse response = Get("/metrics");
  ASSERT_EQ(response.status, 200);

  const std::string promtool = FindOnPath("promtool");
  ASSERT_FALSE(promtool.empty())
      << "promtool is not on PATH (" << std::getenv("PATH")
      << "); tools/setup.sh installs it (Debian package prometheus)";
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string page =
      absl::StrCat(tmp == nullptr ? "/tmp" : tmp, "/metrics.txt");
  {
    std::ofstream out(page);
    out << response.body;
    ASSERT_TRUE(out.good());
  }
  // The page on promtool's stdin; its complaints (lint included) on
  // stdout or stderr.
  const std::string command =
      absl::StrCat(promtool, " check metrics < ", page, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << output << "\n--- page:\n"
                                    << response.body;
  EXPECT_EQ(output, "") << output;
}

TEST_F(HttpPagesTest, HealthFollowsSetServingStatus) {
  StartServer();
  RawClient client = Connect();
  auto get = [&](const std::string& target) {
    absl::StatusOr<HttpResponse> response = Exchange(&client, "GET", target);
    CHECK(response.ok()) << response.status();
    return *response;
  };
  HttpResponse r = get("/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"status\":\"SERVING\"}\n");
  EXPECT_EQ(r.Header("content-type"), "application/json");

  server_->SetServingStatus("", false);
  r = get("/health");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"status\":\"NOT_SERVING\"}\n");
  // The services keep their own status.
  EXPECT_EQ(get(absl::StrCat("/health?service=", kTestService)).status, 200);
  server_->SetServingStatus("", true);
  EXPECT_EQ(get("/health").status, 200);

  server_->SetServingStatus(kTestService, false);
  r = get(absl::StrCat("/health?service=", kTestService));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "{\"status\":\"NOT_SERVING\"}\n");
  EXPECT_EQ(get("/health").status, 200);
  server_->SetServingStatus(kTestService, true);
  EXPECT_EQ(get(absl::StrCat("/health?service=", kTestService)).status, 200);
  EXPECT_EQ(get("/health?service=mrpc.health.v1.Health").status, 200);

  r = get("/health?service=no.Such");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"status\":\"SERVICE_UNKNOWN\"}\n");
  // Percent-decoded like any query parameter.
  EXPECT_EQ(get("/health?service=mrpc%2Etest%2ETestService").status, 200);
}

TEST_F(HttpPagesTest, HealthServiceOverMrpc) {
  StartServer();
  EXPECT_EQ(Check("").value(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(kTestService).value(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check("no.Such").status().code(), absl::StatusCode::kNotFound);

  server_->SetServingStatus("", false);
  EXPECT_EQ(Check("").value(), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Check(kTestService).value(), HealthCheckResponse::SERVING);
  server_->SetServingStatus(kTestService, false);
  EXPECT_EQ(Check(kTestService).value(), HealthCheckResponse::NOT_SERVING);
  server_->SetServingStatus("", true);
  server_->SetServingStatus(kTestService, true);
  EXPECT_EQ(Check("").value(), HealthCheckResponse::SERVING);
  EXPECT_EQ(Check(kTestService).value(), HealthCheckResponse::SERVING);
}

TEST_F(HttpPagesTest, HealthServiceOverHttp) {
  StartServer();
  RawClient client = Connect();
  auto post = [&](const std::string& body) {
    absl::StatusOr<HttpResponse> response =
        Exchange(&client, "POST", "/mrpc.health.v1.Health/Check", body);
    CHECK(response.ok()) << response.status();
    return *response;
  };
  HttpResponse r = post("{\"service\":\"\"}");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"SERVING\""), std::string::npos) << r.body;
  server_->SetServingStatus("", false);
  r = post("{}");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"NOT_SERVING\""), std::string::npos) << r.body;
  r = post("{\"service\":\"no.Such\"}");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.Header("mrpc-status"),
            absl::StrCat(static_cast<int>(absl::StatusCode::kNotFound)));
}

TEST_F(HttpPagesTest, SetServingStatusBeforeStartIsKept) {
  ServerOptions options;
  options.num_threads = 1;
  server_ = std::make_unique<Server>(options);
  server_->SetServingStatus(kTestService, false);
  ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  EXPECT_EQ(Get(absl::StrCat("/health?service=", kTestService)).status, 503);
  EXPECT_EQ(Get("/health").status, 200);
}

TEST_F(HttpPagesTest, DrainingIsNotServing) {
  ServerOptions options;
  options.shutdown_grace = absl::Seconds(60);  // Until the call is cancelled.
  StartServer(options);
  RawClient client = Connect();  // Opened before the drain; kept alive.
  absl::StatusOr<HttpResponse> r = Exchange(&client, "GET", "/health");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);

  // A call in flight holds the drain open.
  EchoRequest request;
  EchoResponse response;
  ClientContext context;
  Notification done;
  absl::Status call_status;
  channel_->CallMethod(kTestService, "WaitCancel", request, &response, &context,
                       [&](absl::Status s) {
                         call_status = s;
                         done.Notify();
                       });
  ASSERT_TRUE(
      Eventually([&] { return server_->stats().calls_in_flight == 1; }));

  server_->Shutdown();
  r = Exchange(&client, "GET", "/health");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "{\"status\":\"NOT_SERVING\"}\n");
  r = Exchange(&client, "GET", absl::StrCat("/health?service=", kTestService));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 503);

  // New calls are refused while draining, the health check among them.
  EXPECT_EQ(Check("").status().code(), absl::StatusCode::kUnavailable);

  context.TryCancel();
  done.WaitForNotification();
  EXPECT_EQ(call_status.code(), absl::StatusCode::kCancelled);
  server_->Wait();
}

TEST_F(HttpPagesTest, HealthServiceCanBeTurnedOff) {
  ServerOptions options;
  options.health_service = false;
  StartServer(options);
  EXPECT_EQ(Check("").status().code(), absl::StatusCode::kUnimplemented);
  // The page answers regardless.
  EXPECT_EQ(Get("/health").status, 200);
}

TEST_F(HttpPagesTest, ApplicationHealthServiceIsKept) {
  server_ = std::make_unique<Server>(ServerOptions{});
  const absl::Status registered =
      server_->RegisterMethod<HealthCheckRequest, HealthCheckResponse>(
          kHealthService, "Check",
          [](ServerContext*, const HealthCheckRequest&,
             HealthCheckResponse* response, RpcDone done) {
            response->set_status(HealthCheckResponse::SERVICE_UNKNOWN);
            done(absl::OkStatus());
          });
  ASSERT_TRUE(registered.ok()) << registered;
  ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
  ASSERT_TRUE(channel.ok());
  channel_ = std::move(*channel);
  EXPECT_EQ(Check("").value(), HealthCheckResponse::SERVICE_UNKNOWN);
}

}  // namespace
}  // namespace mrpc
