// MethodAuthorizer from outside: a real Server with mutual TLS and the
// authorizer, real Channels presenting client certificates made at run time
// (and plaintext ones, and TLS ones without a certificate), raw HTTP
// requests and curl. Checks the exact statuses and HTTP codes, that the
// handler never runs for a refused call, rule precedence, exact identity
// matching, custom checks, the default for unmatched methods, and the
// rate-limited logs.
#include "rpc/auth/authorization.h"

#include <glog/logging.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/log_limiter.h"
#include "net/test_util.h"
#include "net/tls_test_certs.h"
#include "proto/echo.pb.h"
#include "proto/health.pb.h"
#include "rpc/channel.h"
#include "rpc/metadata.h"
#include "rpc/server.h"
#include "tests/http_wire.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::HttpFetch;
using ::mrpc::testing::HttpResponse;
using ::mrpc::testing::LogCapture;

constexpr char kAuthService[] = "mrpc.test.Auth";
constexpr char kOtherService[] = "mrpc.test.Other";
// What MRPC_PEER_LOG keys the authorizer's lines by (authorization.cc).
constexpr char kLogReason[] = "rpc authorization denied";

// Identities, as the rules below spell them.
constexpr char kAliceUri[] = "spiffe://test/client-a";
constexpr char kNotTls[] =
    "a verified client certificate is required (the connection is not TLS)";
constexpr char kNoCert[] =
    "a verified client certificate is required (the connection has none)";

// Runs a shell command (bounded by `timeout` seconds); its exit code and
// output.
int RunCommand(const std::string& command, std::string* out, int timeout = 20) {
  const std::string line =
      absl::StrCat("timeout ", timeout, " ", command, " 2>&1");
  FILE* pipe = popen(line.c_str(), "r");
  CHECK(pipe != nullptr);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) out->append(chunk, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The rules most tests run with:
//   mrpc.test.Auth/*       alice by URI, bob by DNS name
//   mrpc.test.Auth/Admin   carol by CN only (the method rule wins)
//   mrpc.test.Auth/Locked  nobody
//   mrpc.test.Auth/Ticket  a check on the x-ticket metadata
//   mrpc.health.v1.Health/*  anyone, plaintext too
// and no "*": other services are denied by default.
MethodAuthorizerOptions DefaultRules() {
  MethodAuthorizerOptions options;
  options.rules.push_back(
      {"mrpc.test.Auth/*",
       {absl::StrCat("uri:", kAliceUri), "dns:client-b.test"}});
  options.rules.push_back({"mrpc.test.Auth/Admin", {"cn:client-c"}});
  options.rules.push_back({"mrpc.test.Auth/Locked", {}});
  options.rules.push_back(
      {"mrpc.test.Auth/Ticket", {}, [](const ServerContext& ctx) {
         const absl::string_view ticket =
             FindMetadata(ctx.metadata(), "x-ticket").value_or("");
         if (ticket == "revoked") {
           return absl::PermissionDeniedError("ticket revoked");
         }
         if (ticket == "expired") {
           return absl::FailedPreconditionError("ticket expired");
         }
         if (ctx.tls() == nullptr || !ctx.tls()->verified) {
           return absl::UnauthenticatedError(
               "ticket holders need a certificate");
         }
         if (ticket != "valid") {
           return absl::PermissionDeniedError("no valid ticket");
         }
         return absl::OkStatus();
       }});
  options.rules.push_back(
      {"mrpc.health.v1.Health/*", {}, [](const ServerContext&) {
         return absl::OkStatus();
       }});
  return options;
}

class AuthorizationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir("authorization_test");
    ca_ = std::make_unique<TestCa>(TestCa::Create("mrpc test CA"));
    ca_file_ = WriteTestFile(dir_, "ca.pem", ca_->cert_pem());
    CertSpec server;
    server.common_name = "server";
    server.dns_names = {"localhost"};
    server.ip_addresses = {"127.0.0.1"};
    WritePair("server", ca_->Issue(server));
    Client("alice", "client-a", {"client-a.test"}, {kAliceUri});
    Client("bob", "client-b", {"client-b.test"}, {"spiffe://test/client-b"});
    Client("carol", "client-c", {}, {});
    Client("dave", "client-d", {"client-d.test"}, {});
    // Near misses of every allowed identity: matching is exact.
    Client("mallory", "client-C", {"client-b.test.evil", "Client-B.test"},
           {"spiffe://test/client-a/x", "SPIFFE://test/client-a"});
  }

  void TearDown() override {
    channels_.clear();
    StopServer();
  }

  void WritePair(const std::string& name, const TestKeyPair& pair) {
    WriteTestFile(dir_, name + ".pem", pair.cert_pem);
    WriteTestFile(dir_, name + ".key", pair.key_pem);
  }
  void Client(const std::string& name, const std::string& cn,
              std::vector<std::string> dns, std::vector<std::string> uris) {
    CertSpec spec;
    spec.common_name = cn;
    spec.dns_names = std::move(dns);
    spec.uris = std::move(uris);
    WritePair(name, ca_->Issue(spec));
  }
  std::string File(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  void StartServer(MethodAuthorizerOptions rules) {
    ServerOptions options;
    options.num_threads = 2;
    options.tls.cert_file = File("server.pem");
    options.tls.key_file = File("server.key");
    // Client certificates asked for, not required: plaintext and TLS
    // without one reach the authorizer.
    options.tls.ca_file = ca_file_;
    server_ = std::make_unique<Server>(options);
    auto echo = [this](ServerContext*, const EchoRequest& req,
                       EchoResponse* resp, RpcDone done) {
      handler_runs_.fetch_add(1);
      resp->set_payload(req.payload());
      done(absl::OkStatus());
    };
    for (const char* method : {"Echo", "Admin", "Locked", "Ticket"}) {
      ASSERT_TRUE((server_->RegisterMethod<EchoRequest, EchoResponse>(
                       kAuthService, method, echo))
                      .ok());
    }
    ASSERT_TRUE((server_->RegisterMethod<EchoRequest, EchoResponse>(
                     kOtherService, "Echo", echo))
                    .ok());
    absl::StatusOr<std::unique_ptr<MethodAuthorizer>> authz =
        MethodAuthorizer::Create(std::move(rules));
    ASSERT_TRUE(authz.ok()) << authz.status();
    authz_ = authz->get();
    ASSERT_TRUE(server_->AddInterceptor(*std::move(authz)).ok());
    absl::Status started = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(started.ok()) << started;
  }
  void StopServer() {
    channels_.clear();
    if (server_ == nullptr) return;
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    authz_ = nullptr;
  }

  // A channel presenting `client`'s certificate; "" for TLS without one;
  // "plaintext" for no TLS.
  Channel* NewChannel(const std::string& client) {
    ChannelOptions options;
    if (client != "plaintext") {
      options.tls.enabled = true;
      options.tls.ca_file = ca_file_;
      if (!client.empty()) {
        options.tls.cert_file = File(client + ".pem");
        options.tls.key_file = File(client + ".key");
      }
    }
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()), options);
    CHECK(channel.ok()) << channel.status();
    channels_.push_back(*std::move(channel));
    return channels_.back().get();
  }
  // One call of service/method as `client` (see NewChannel).
  absl::Status Call(const std::string& client, const std::string& method,
                    const std::string& service = kAuthService,
                    const std::string& ticket = "") {
    EchoRequest req;
    req.set_payload("hello");
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(10));
    if (!ticket.empty()) CHECK(ctx.AddMetadata("x-ticket", ticket).ok());
    absl::Status status = NewChannel(client)->CallMethodBlocking(
        service, method, req, &resp, &ctx);
    if (status.ok()) {
      EXPECT_EQ(resp.payload(), "hello");
    }
    return status;
  }

  std::string dir_;
  std::string ca_file_;
  std::unique_ptr<TestCa> ca_;
  std::unique_ptr<Server> server_;
  MethodAuthorizer* authz_ = nullptr;  // Owned by server_.
  std::vector<std::unique_ptr<Channel>> channels_;
  std::atomic<int> handler_runs_{0};
};

// First in the file: the process-wide limiter for the authorizer's lines
// is then fresh, and the lines let through can be read.
TEST_F(AuthorizationTest, RefusalsAreLoggedBounded) {
  LogLimiter* limiter = LogLimiter::Get(kLogReason);
  if (limiter->allowed_total() + limiter->suppressed_total() > 0) {
    // Run after other tests (a filter, shuffling): let their window end.
    absl::SleepFor(DefaultLogLimits().window + absl::Milliseconds(200));
  }
  const int64_t allowed_before = limiter->allowed_total();
  const int64_t suppressed_before = limiter->suppressed_total();
  StartServer(DefaultRules());
  LogCapture lines([](google::LogSeverity, absl::string_view text) {
    return absl::StrContains(text, "authorization denied");
  });
  Channel* dave = NewChannel("dave");
  constexpr int kBadCalls = 100;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kBadCalls; ++i) {
    EchoRequest req;
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(10));
    absl::Status s =
        dave->CallMethodBlocking(kAuthService, "Echo", req, &resp, &ctx);
    ASSERT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  }
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(handler_runs_.load(), 0);
  EXPECT_EQ(authz_->stats().permission_denied, kBadCalls);

  const std::vector<std::string> texts = lines.Texts();
  absl::Duration remainder;
  const int64_t windows =
      1 + absl::IDivDuration(elapsed, DefaultLogLimits().window, &remainder);
  ASSERT_FALSE(texts.empty());
  EXPECT_LE(static_cast<int64_t>(texts.size()),
            DefaultLogLimits().per_peer * windows);
  EXPECT_EQ(limiter->allowed_total() - allowed_before +
                limiter->suppressed_total() - suppressed_before,
            kBadCalls);
  EXPECT_TRUE(absl::StrContains(
      texts[0], "authorization denied mrpc.test.Auth/Echo from 127.0.0.1:"))
      << texts[0];
  EXPECT_TRUE(absl::StrContains(
      texts[0],
      "PERMISSION_DENIED: mrpc.test.Auth/Echo is not allowed for "
      "dns:client-d.test, cn:client-d"))
      << texts[0];
}

TEST_F(AuthorizationTest, IdentitiesMatchExactlyAndTheMostSpecificRuleWins) {
  StartServer(DefaultRules());
  // mrpc.test.Auth/*: alice by URI, bob by DNS name.
  EXPECT_TRUE(Call("alice", "Echo").ok());
  EXPECT_TRUE(Call("bob", "Echo").ok());
  absl::Status s = Call("carol", "Echo");
  EXPECT_EQ(s, absl::PermissionDeniedError(
                   "mrpc.test.Auth/Echo is not allowed for cn:client-c"));
  // mrpc.test.Auth/Admin: carol by CN; the service rule's alice is not.
  EXPECT_TRUE(Call("carol", "Admin").ok());
  s = Call("alice", "Admin");
  EXPECT_EQ(s, absl::PermissionDeniedError(
                   "mrpc.test.Auth/Admin is not allowed for "
                   "uri:spiffe://test/client-a, dns:client-a.test, "
                   "cn:client-a"));
  EXPECT_EQ(Call("bob", "Admin").code(), absl::StatusCode::kPermissionDenied);
  // An empty rule: nobody.
  for (const char* who : {"alice", "bob", "carol"}) {
    EXPECT_EQ(Call(who, "Locked").code(), absl::StatusCode::kPermissionDenied)
        << who;
  }
  // Near misses of every identity: case, suffixes, a URI as CN.
  for (const char* method : {"Echo", "Admin"}) {
    s = Call("mallory", method);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << method;
    EXPECT_EQ(s.message(),
              absl::StrCat("mrpc.test.Auth/", method,
                           " is not allowed for "
                           "uri:spiffe://test/client-a/x, "
                           "uri:SPIFFE://test/client-a, "
                           "dns:client-b.test.evil, dns:Client-B.test, "
                           "cn:client-C"));
  }
  EXPECT_EQ(handler_runs_.load(), 3);
  const MethodAuthorizer::Stats stats = authz_->stats();
  EXPECT_EQ(stats.permission_denied, 8u);
  EXPECT_EQ(stats.unauthenticated, 0u);
}

TEST_F(AuthorizationTest, NoVerifiedCertificateIsUnauthenticated) {
  StartServer(DefaultRules());
  // Plaintext, and TLS without a client certificate; for a method with a
  // rule and for one without.
  for (const char* service : {kAuthService, kOtherService}) {
    absl::Status s = Call("plaintext", "Echo", service);
    EXPECT_EQ(s, absl::UnauthenticatedError(kNotTls)) << service;
    s = Call("", "Echo", service);
    EXPECT_EQ(s, absl::UnauthenticatedError(kNoCert)) << service;
  }
  EXPECT_EQ(handler_runs_.load(), 0);
  const MethodAuthorizer::Stats stats = authz_->stats();
  EXPECT_EQ(stats.unauthenticated, 4u);
  EXPECT_EQ(stats.permission_denied, 0u);
}

TEST_F(AuthorizationTest, CustomChecksDecideAndTheHealthCheckIsOpen) {
  StartServer(DefaultRules());
  EXPECT_TRUE(Call("dave", "Ticket", kAuthService, "valid").ok());
  EXPECT_EQ(Call("dave", "Ticket"),
            absl::PermissionDeniedError("no valid ticket"));
  EXPECT_EQ(Call("plaintext", "Ticket", kAuthService, "valid"),
            absl::UnauthenticatedError("ticket holders need a certificate"));
  EXPECT_EQ(Call("alice", "Ticket", kAuthService, "revoked"),
            absl::PermissionDeniedError("ticket revoked"));
  EXPECT_EQ(Call("alice", "Ticket", kAuthService, "expired"),
            absl::FailedPreconditionError("ticket expired"));
  EXPECT_EQ(handler_runs_.load(), 1);
  const MethodAuthorizer::Stats stats = authz_->stats();
  EXPECT_EQ(stats.permission_denied, 2u);
  EXPECT_EQ(stats.unauthenticated, 1u);
  EXPECT_EQ(stats.other, 1u);

  // The health check's rule admits anyone, plaintext too.
  for (const char* who : {"plaintext", "", "dave"}) {
    health::v1::HealthCheckRequest req;
    health::v1::HealthCheckResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(10));
    absl::Status s = NewChannel(who)->CallMethodBlocking(
        "mrpc.health.v1.Health", "Check", req, &resp, &ctx);
    ASSERT_TRUE(s.ok()) << who << ": " << s;
    EXPECT_EQ(resp.status(), health::v1::HealthCheckResponse::SERVING);
  }
}

TEST_F(AuthorizationTest, UnmatchedMethodsFollowTheDefault) {
  // Denied by default, naming the method and the caller.
  StartServer(DefaultRules());
  EXPECT_EQ(Call("alice", "Echo", kOtherService),
            absl::PermissionDeniedError(
                "mrpc.test.Other/Echo is not allowed for "
                "uri:spiffe://test/client-a, dns:client-a.test, cn:client-a "
                "(no rule matches the method)"));
  EXPECT_EQ(handler_runs_.load(), 0);
  StopServer();

  // Allowed by default: any verified client, and still nobody else.
  MethodAuthorizerOptions open = DefaultRules();
  open.allow_unmatched = true;
  StartServer(std::move(open));
  EXPECT_TRUE(Call("alice", "Echo", kOtherService).ok());
  EXPECT_TRUE(Call("dave", "Echo", kOtherService).ok());
  EXPECT_EQ(Call("plaintext", "Echo", kOtherService),
            absl::UnauthenticatedError(kNotTls));
  // Methods with rules keep them.
  EXPECT_EQ(Call("dave", "Echo").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(handler_runs_.load(), 2);
  StopServer();

  // A "*" rule is a rule, not the default: it decides for the rest.
  MethodAuthorizerOptions star = DefaultRules();
  star.allow_unmatched = true;
  star.rules.push_back({"*", {"cn:client-c"}});
  StartServer(std::move(star));
  EXPECT_TRUE(Call("carol", "Echo", kOtherService).ok());
  EXPECT_EQ(Call("alice", "Echo", kOtherService),
            absl::PermissionDeniedError(
                "mrpc.test.Other/Echo is not allowed for "
                "uri:spiffe://test/client-a, dns:client-a.test, "
                "cn:client-a"));
  // More specific rules still win over "*".
  EXPECT_TRUE(Call("alice", "Echo").ok());
  EXPECT_EQ(handler_runs_.load(), 4);
}

TEST_F(AuthorizationTest, HttpRefusalsAre401And403) {
  StartServer(DefaultRules());
  const std::string body = R"({"payload":"aGk="})";
  // Plaintext HTTP: no certificate, 401.
  absl::StatusOr<HttpResponse> r = HttpFetch(
      server_->port(), "POST", absl::StrCat("/", kAuthService, "/Echo"), body);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->Header("mrpc-status"), "16");
  EXPECT_EQ(r->body, absl::StrCat("{\"code\":16,\"status\":\"UNAUTHENTICATED\","
                                  "\"message\":\"",
                                  kNotTls, "\"}\n"));
  // A check's PERMISSION_DENIED: 403.
  r = HttpFetch(server_->port(), "POST",
                absl::StrCat("/", kAuthService, "/Ticket"), body,
                {{"X-Ticket", "revoked"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->Header("mrpc-status"), "7");
  EXPECT_TRUE(absl::StrContains(r->body, "\"ticket revoked\"")) << r->body;
  // The health check is open over HTTP too.
  r = HttpFetch(server_->port(), "POST", "/mrpc.health.v1.Health/Check", "{}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(handler_runs_.load(), 0);

  // HTTPS with client certificates (curl): dave is refused, 403, by
  // identity; alice is served.
  auto curl = [&](const std::string& client, std::string* out) {
    return RunCommand(absl::StrCat("curl -sS -w ' http=%{http_code}' --cacert ",
                                   ca_file_, " --cert ", File(client + ".pem"),
                                   " --key ", File(client + ".key"), " -d '",
                                   body, "' https://127.0.0.1:",
                                   server_->port(), "/", kAuthService, "/Echo"),
                      out);
  };
  std::string out;
  ASSERT_EQ(curl("dave", &out), 0) << out;
  EXPECT_EQ(out,
            "{\"code\":7,\"status\":\"PERMISSION_DENIED\",\"message\":"
            "\"mrpc.test.Auth/Echo is not allowed for dns:client-d.test, "
            "cn:client-d\"}\n http=403");
  out.clear();
  ASSERT_EQ(curl("alice", &out), 0) << out;
  EXPECT_EQ(out, "{\"payload\":\"aGk=\"}\n http=200");
  EXPECT_EQ(handler_runs_.load(), 1);
}

TEST(MethodAuthorizerOptionsTest, CreateRefusesBadRules) {
  auto error = [](MethodAuthorizerOptions options) {
    absl::StatusOr<std::unique_ptr<MethodAuthorizer>> authz =
        MethodAuthorizer::Create(std::move(options));
    EXPECT_EQ(authz.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(authz.status().message());
  };
  MethodAuthorizerOptions options;
  options.rules = {{"pkg.Svc/*", {"spiffe://x"}}};
  EXPECT_EQ(error(options),
            "authorization rule \"pkg.Svc/*\": identity \"spiffe://x\" is not "
            "uri:<uri>, dns:<name> or cn:<name>");
  options.rules = {{"pkg.Svc/*", {"cn:"}}};
  EXPECT_EQ(error(options),
            "authorization rule \"pkg.Svc/*\": identity \"cn:\" is not "
            "uri:<uri>, dns:<name> or cn:<name>");
  options.rules = {{"pkg.Svc/*", {"ip:127.0.0.1"}}};
  EXPECT_EQ(error(options),
            "authorization rule \"pkg.Svc/*\": identity \"ip:127.0.0.1\" is "
            "not uri:<uri>, dns:<name> or cn:<name>");
  options.rules = {{"pkg.Svc", {"cn:a"}}};
  EXPECT_EQ(error(options),
            "authorization rule \"pkg.Svc\": method pattern \"pkg.Svc\" is "
            "not \"service/method\", \"service/*\" or \"*\"");
  options.rules = {{"pkg.Svc/Get", {"cn:a"}}, {"pkg.Svc/Get", {"cn:b"}}};
  EXPECT_EQ(error(options),
            "authorization rule \"pkg.Svc/Get\": method pattern "
            "\"pkg.Svc/Get\" is given twice");
  options.rules = {
      {"*", {"cn:a"}, [](const ServerContext&) { return absl::OkStatus(); }}};
  EXPECT_EQ(error(options),
            "authorization rule \"*\": has both `allow` and "
            "`check`");
  options.rules = {{"*", {"cn:a"}}, {"pkg.Svc/*", {"uri:spiffe://a", "dns:b"}}};
  EXPECT_TRUE(MethodAuthorizer::Create(options).ok());
}

}  // namespace
}  // namespace mrpc
