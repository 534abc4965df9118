// BearerTokenInterceptor from outside: a real Server with TLS and the
// interceptor, real Channels (TLS) and raw HTTP requests (plaintext)
// sending tokens the way clients do, certificates made at run time. Checks
// the exact statuses and HTTP codes, that rejected calls never reach their
// handler, the exemptions, the rate-limited logs (which must never hold a
// token), the token file parser and the comparator's results.
#include "rpc/auth/bearer_token.h"

#include <glog/logging.h>
#include <gtest/gtest.h>

#include <atomic>
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
constexpr char kPublicService[] = "mrpc.test.Public";
// Secrets of the test: no log line or status may contain any part of them.
constexpr char kOpsToken[] = "ops-Zq8xW3vLp9Kd7Tn2";
constexpr char kCiToken[] = "ci-Hb4Rj6Yw1Mf5Sx0Ga";
// Near misses: one byte off, a prefix, one byte more.
constexpr char kWrongToken[] = "ops-Zq8xW3vLp9Kd7Tn3";
constexpr char kPrefixToken[] = "ops-Zq8xW3vLp9Kd7Tn";
constexpr char kLongerToken[] = "ops-Zq8xW3vLp9Kd7Tn22";
// What MRPC_PEER_LOG keys the interceptor's lines by (bearer_token.cc).
constexpr char kLogReason[] = "rpc bearer token rejected";

// True if `text` holds any 8 consecutive bytes of `secret`.
bool LeaksPartOf(absl::string_view text, absl::string_view secret) {
  for (size_t i = 0; i + 8 <= secret.size(); ++i) {
    if (absl::StrContains(text, secret.substr(i, 8))) return true;
  }
  return false;
}

bool LeaksAnyToken(absl::string_view text) {
  for (const char* secret :
       {kOpsToken, kCiToken, kWrongToken, kPrefixToken, kLongerToken}) {
    if (LeaksPartOf(text, secret)) return true;
  }
  return false;
}

class BearerTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir("bearer_token_test");
    const TestCa ca = TestCa::Create("mrpc test CA");
    CertSpec spec;
    spec.common_name = "server";
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1"};
    const TestKeyPair pair = ca.Issue(spec);
    ca_file_ = WriteTestFile(dir_, "ca.pem", ca.cert_pem());
    ServerOptions options;
    options.num_threads = 2;
    options.tls.cert_file = WriteTestFile(dir_, "server.pem", pair.cert_pem);
    options.tls.key_file = WriteTestFile(dir_, "server.key", pair.key_pem);
    server_ = std::make_unique<Server>(options);

    BearerTokenOptions auth;
    auth.tokens = {{"ops-team", kOpsToken}, {"ci-bot", kCiToken}};
    auth.exempt_methods = {"mrpc.health.v1.Health/Check",
                           absl::StrCat(kPublicService, "/*")};
    absl::StatusOr<std::unique_ptr<BearerTokenInterceptor>> interceptor =
        BearerTokenInterceptor::Create(std::move(auth));
    ASSERT_TRUE(interceptor.ok()) << interceptor.status();
    auth_ = interceptor->get();

    // Echo counts its runs; Whoami answers with the caller's principal,
    // the way an application handler would ask for it.
    auto echo = [this](ServerContext*, const EchoRequest& req,
                       EchoResponse* resp, RpcDone done) {
      handler_runs_.fetch_add(1);
      resp->set_payload(req.payload());
      done(absl::OkStatus());
    };
    ASSERT_TRUE((server_->RegisterMethod<EchoRequest, EchoResponse>(
                     kAuthService, "Echo", echo))
                    .ok());
    ASSERT_TRUE((server_->RegisterMethod<EchoRequest, EchoResponse>(
                     kPublicService, "Echo", echo))
                    .ok());
    ASSERT_TRUE((server_->RegisterMethod<EchoRequest, EchoResponse>(
                     kAuthService, "Whoami",
                     [this](ServerContext* ctx, const EchoRequest&,
                            EchoResponse* resp, RpcDone done) {
                       absl::StatusOr<std::string> who = auth_->Verify(*ctx);
                       resp->set_payload(who.ok() ? *who : "nobody");
                       done(absl::OkStatus());
                     }))
                    .ok());
    ASSERT_TRUE(server_->AddInterceptor(*std::move(interceptor)).ok());
    absl::Status started = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(started.ok()) << started;

    ChannelOptions channel_options;
    channel_options.tls.enabled = true;
    channel_options.tls.ca_file = ca_file_;
    absl::StatusOr<std::unique_ptr<Channel>> channel = Channel::Create(
        absl::StrCat("127.0.0.1:", server_->port()), channel_options);
    ASSERT_TRUE(channel.ok()) << channel.status();
    channel_ = *std::move(channel);
  }

  void TearDown() override {
    channel_.reset();
    server_->Shutdown();
    server_->Wait();
  }

  // One call with these `authorization` values (none: no metadata); its
  // status, and the response payload in *payload.
  absl::Status Call(const std::vector<std::string>& authorization,
                    const std::string& service = kAuthService,
                    const std::string& method = "Echo",
                    std::string* payload = nullptr) {
    EchoRequest req;
    req.set_payload("hello");
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(10));
    for (const std::string& value : authorization) {
      absl::Status added = ctx.AddMetadata("authorization", value);
      if (!added.ok()) return added;
    }
    absl::Status status =
        channel_->CallMethodBlocking(service, method, req, &resp, &ctx);
    if (payload != nullptr) *payload = resp.payload();
    return status;
  }

  std::string dir_;
  std::string ca_file_;
  std::unique_ptr<Server> server_;
  BearerTokenInterceptor* auth_ = nullptr;  // Owned by server_.
  std::unique_ptr<Channel> channel_;
  std::atomic<int> handler_runs_{0};
};

// First in the file: the process-wide limiter for the interceptor's lines
// is then fresh, and the lines let through can be read.
TEST_F(BearerTokenTest, RejectionsAreLoggedBoundedAndNeverHoldTheToken) {
  LogLimiter* limiter = LogLimiter::Get(kLogReason);
  if (limiter->allowed_total() + limiter->suppressed_total() > 0) {
    // Run after other tests (a filter, shuffling): let their window end.
    absl::SleepFor(DefaultLogLimits().window + absl::Milliseconds(200));
  }
  const int64_t allowed_before = limiter->allowed_total();
  const int64_t suppressed_before = limiter->suppressed_total();
  LogCapture all;  // Every line, from every thread.
  LogCapture rejections([](google::LogSeverity, absl::string_view text) {
    return absl::StrContains(text, "bearer token auth rejected");
  });

  constexpr int kBadCalls = 100;
  const std::vector<std::vector<std::string>> bad = {
      {},
      {absl::StrCat("Basic ", kOpsToken)},
      {absl::StrCat("Bearer ", kWrongToken)},
      {absl::StrCat("Bearer ", kPrefixToken)},
      {absl::StrCat("Bearer ", kLongerToken)},
      {absl::StrCat("Bearer ", kOpsToken), absl::StrCat("Bearer ", kOpsToken)},
  };
  const absl::Time start = absl::Now();
  for (int i = 0; i < kBadCalls; ++i) {
    absl::Status s = Call(bad[i % bad.size()]);
    ASSERT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
    EXPECT_FALSE(LeaksAnyToken(s.message())) << s;
  }
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(handler_runs_.load(), 0);

  // At most 10 lines per peer per 10 s window (net/log_limiter.h); the
  // calls took far less than a window, so 10 in all.
  const std::vector<std::string> lines = rejections.Texts();
  absl::Duration remainder;
  const int64_t windows =
      1 + absl::IDivDuration(elapsed, DefaultLogLimits().window, &remainder);
  ASSERT_FALSE(lines.empty());
  EXPECT_LE(static_cast<int64_t>(lines.size()),
            DefaultLogLimits().per_peer * windows);
  EXPECT_EQ(limiter->allowed_total() - allowed_before,
            static_cast<int64_t>(lines.size()));
  EXPECT_EQ(limiter->allowed_total() - allowed_before +
                limiter->suppressed_total() - suppressed_before,
            kBadCalls);
  // A line names the method, the peer and the reason...
  EXPECT_TRUE(
      absl::StrContains(lines[0], "mrpc.test.Auth/Echo from 127.0.0.1:"))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], ": missing authorization metadata"))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[2], ": unknown bearer token"))
      << lines[2];
  // ...and no line of anyone's holds any 8 bytes of any token.
  for (const std::string& line : all.Texts()) {
    EXPECT_FALSE(LeaksAnyToken(line)) << line;
  }
  const BearerTokenInterceptor::Stats stats = auth_->stats();
  EXPECT_EQ(stats.missing + stats.malformed + stats.unknown, kBadCalls);
}

TEST_F(BearerTokenTest, ValidTokensReachTheHandlerWithTheirPrincipal) {
  std::string who;
  ASSERT_TRUE(
      Call({absl::StrCat("Bearer ", kOpsToken)}, kAuthService, "Whoami", &who)
          .ok());
  EXPECT_EQ(who, "ops-team");
  ASSERT_TRUE(
      Call({absl::StrCat("Bearer ", kCiToken)}, kAuthService, "Whoami", &who)
          .ok());
  EXPECT_EQ(who, "ci-bot");
  // The scheme is case-insensitive (RFC 6750 via RFC 9110); one or more
  // spaces separate it from the token.
  for (const std::string& value :
       {absl::StrCat("bearer ", kOpsToken), absl::StrCat("BEARER ", kOpsToken),
        absl::StrCat("Bearer   ", kOpsToken)}) {
    std::string echoed;
    absl::Status s = Call({value}, kAuthService, "Echo", &echoed);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(echoed, "hello");
  }
  EXPECT_EQ(handler_runs_.load(), 3);
  const BearerTokenInterceptor::Stats stats = auth_->stats();
  EXPECT_EQ(stats.missing + stats.malformed + stats.unknown, 0u);
}

TEST_F(BearerTokenTest, RejectionsSayWhyAndSkipTheHandler) {
  struct Case {
    std::vector<std::string> authorization;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, "missing authorization metadata"},
      {{absl::StrCat("Basic ", kOpsToken)},
       "authorization is not a Bearer token"},
      {{"Bearer"}, "authorization is not a Bearer token"},
      {{"Bearer "}, "authorization is not a Bearer token"},
      {{absl::StrCat("Bearer", kOpsToken)},
       "authorization is not a Bearer token"},
      {{absl::StrCat("Bearer ", kOpsToken, " extra")},
       "authorization is not a Bearer token"},
      {{kOpsToken}, "authorization is not a Bearer token"},
      {{absl::StrCat("Bearer ", kWrongToken)}, "unknown bearer token"},
      {{absl::StrCat("Bearer ", kPrefixToken)}, "unknown bearer token"},
      {{absl::StrCat("Bearer ", kLongerToken)}, "unknown bearer token"},
      {{absl::StrCat("Bearer ", kOpsToken), absl::StrCat("Bearer ", kCiToken)},
       "more than one authorization metadata entry"},
  };
  for (const Case& c : cases) {
    absl::Status s = Call(c.authorization);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
    EXPECT_EQ(s.message(), c.message);
  }
  EXPECT_EQ(handler_runs_.load(), 0);
  const BearerTokenInterceptor::Stats stats = auth_->stats();
  EXPECT_EQ(stats.missing, 1u);
  EXPECT_EQ(stats.malformed, 7u);
  EXPECT_EQ(stats.unknown, 3u);
  // Whoami needs a token too: its handler never saw "nobody".
  std::string who;
  EXPECT_EQ(Call({}, kAuthService, "Whoami", &who).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(BearerTokenTest, HealthCheckAndExemptServicesNeedNoToken) {
  health::v1::HealthCheckRequest req;
  health::v1::HealthCheckResponse resp;
  ClientContext ctx;
  ctx.set_timeout(absl::Seconds(10));
  absl::Status s = channel_->CallMethodBlocking("mrpc.health.v1.Health",
                                                "Check", req, &resp, &ctx);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(resp.status(), health::v1::HealthCheckResponse::SERVING);
  EXPECT_TRUE(Call({}, kPublicService, "Echo").ok());
  // Exempt means unchecked: a bad token does not matter there either.
  EXPECT_TRUE(
      Call({absl::StrCat("Bearer ", kWrongToken)}, kPublicService, "Echo")
          .ok());
  EXPECT_EQ(handler_runs_.load(), 2);
  EXPECT_TRUE(auth_->IsExempt("mrpc.health.v1.Health", "Check"));
  EXPECT_FALSE(auth_->IsExempt("mrpc.health.v1.Health", "Watch"));
  EXPECT_FALSE(auth_->IsExempt(kAuthService, "Echo"));
  // Only the exempt ones.
  EXPECT_EQ(Call({}).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(handler_runs_.load(), 2);
}

TEST_F(BearerTokenTest, HttpCallsAreCheckedToo) {
  const std::string path = absl::StrCat("/", kAuthService, "/Echo");
  const std::string body = R"({"payload":"aGk="})";  // "hi"
  auto fetch = [&](const std::string& path,
                   std::vector<std::pair<std::string, std::string>> headers,
                   const std::string& json = "") {
    absl::StatusOr<HttpResponse> response = HttpFetch(
        server_->port(), "POST", path, json.empty() ? body : json, headers);
    CHECK(response.ok()) << response.status();
    return *std::move(response);
  };

  HttpResponse none = fetch(path, {});
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Header("mrpc-status"), "16");
  EXPECT_EQ(none.body,
            "{\"code\":16,\"status\":\"UNAUTHENTICATED\",\"message\":"
            "\"missing authorization metadata\"}\n");
  HttpResponse wrong =
      fetch(path, {{"Authorization", absl::StrCat("Bearer ", kWrongToken)}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(absl::StrContains(wrong.body, "\"unknown bearer token\""))
      << wrong.body;
  EXPECT_FALSE(LeaksAnyToken(wrong.body)) << wrong.body;
  HttpResponse basic =
      fetch(path, {{"Authorization", "Basic b3BzOnNlY3JldA=="}});
  EXPECT_EQ(basic.status, 401);
  EXPECT_TRUE(absl::StrContains(basic.body, "not a Bearer token"))
      << basic.body;
  EXPECT_EQ(handler_runs_.load(), 0);

  // The header's name is case-insensitive in HTTP, the scheme too.
  HttpResponse good =
      fetch(path, {{"authorization", absl::StrCat("bearer ", kOpsToken)}});
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.body, "{\"payload\":\"aGk=\"}\n");
  EXPECT_EQ(handler_runs_.load(), 1);
  HttpResponse who =
      fetch(absl::StrCat("/", kAuthService, "/Whoami"),
            {{"AUTHORIZATION", absl::StrCat("Bearer ", kCiToken)}});
  EXPECT_EQ(who.status, 200) << who.body;
  EXPECT_TRUE(absl::StrContains(who.body, "\"Y2ktYm90\""))
      << who.body;  // ci-bot

  // The health check over HTTP, without a token.
  HttpResponse health = fetch("/mrpc.health.v1.Health/Check", {}, "{}");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_TRUE(absl::StrContains(health.body, "SERVING")) << health.body;
}

TEST(BearerTokenCompareTest, TokensEqualComparesWholeValues) {
  EXPECT_TRUE(TokensEqual(kOpsToken, kOpsToken));
  EXPECT_TRUE(TokensEqual("", ""));
  EXPECT_TRUE(TokensEqual(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(TokensEqual(kOpsToken, kWrongToken));  // Last byte.
  EXPECT_FALSE(TokensEqual(kOpsToken, "x" + std::string(kOpsToken).substr(1)));
  EXPECT_FALSE(TokensEqual(kOpsToken, kPrefixToken));  // Shorter.
  EXPECT_FALSE(TokensEqual(kOpsToken, kLongerToken));  // Longer.
  EXPECT_FALSE(TokensEqual(kOpsToken, ""));
  EXPECT_FALSE(TokensEqual("", kOpsToken));
  EXPECT_FALSE(TokensEqual(std::string("a\0b", 3), "a"));
  EXPECT_FALSE(TokensEqual(kOpsToken, kCiToken));
}

// Many tokens: each one finds its own principal (the first, the last, any),
// near misses find none.
TEST(BearerTokenCompareTest, VerifyPicksTheMatchingPrincipalAmongMany) {
  BearerTokenOptions options;
  constexpr int kTokens = 64;
  for (int i = 0; i < kTokens; ++i) {
    options.tokens.push_back(
        {absl::StrCat("principal-", i), absl::StrCat("token-", i, "-xyz")});
  }
  absl::StatusOr<std::unique_ptr<BearerTokenInterceptor>> auth =
      BearerTokenInterceptor::Create(options);
  ASSERT_TRUE(auth.ok()) << auth.status();
  for (int i = 0; i < kTokens; ++i) {
    absl::StatusOr<std::string> who = (*auth)->Verify(
        Metadata{{"authorization", absl::StrCat("Bearer token-", i, "-xyz")}});
    ASSERT_TRUE(who.ok()) << who.status();
    EXPECT_EQ(*who, absl::StrCat("principal-", i));
  }
  for (const std::string& miss :
       {std::string("token-1-xy"), std::string("token-1-xyzz"),
        std::string("token-64-xyz"), std::string("TOKEN-1-xyz")}) {
    absl::StatusOr<std::string> who =
        (*auth)->Verify(Metadata{{"authorization", "Bearer " + miss}});
    EXPECT_EQ(who.status(), absl::UnauthenticatedError("unknown bearer token"))
        << miss;
  }
  // Other metadata is ignored; only the `authorization` key counts.
  EXPECT_EQ((*auth)
                ->Verify(Metadata{{"x-token", "Bearer token-1-xyz"}})
                .status()
                .message(),
            "missing authorization metadata");
  EXPECT_EQ(*(*auth)->Verify(Metadata{{"x-a", "b"},
                                      {"authorization", "Bearer token-7-xyz"}}),
            "principal-7");
}

TEST(BearerTokenOptionsTest, CreateRefusesBadOptionsWithoutQuotingTokens) {
  auto create_error = [](BearerTokenOptions options) {
    absl::StatusOr<std::unique_ptr<BearerTokenInterceptor>> auth =
        BearerTokenInterceptor::Create(std::move(options));
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(auth.status().message());
  };
  EXPECT_EQ(create_error({}), "no bearer tokens configured");
  EXPECT_EQ(create_error({{{"", kOpsToken}}}),
            "bearer token 0: the principal \"\" is not printable ASCII "
            "without spaces");
  EXPECT_EQ(create_error({{{"ops", ""}}}),
            "bearer token 0 (principal ops) is empty or not printable ASCII "
            "without spaces");
  std::string with_space = create_error({{{"ops", "abc def-secret-part"}}});
  EXPECT_EQ(with_space,
            "bearer token 0 (principal ops) is empty or not printable ASCII "
            "without spaces");
  EXPECT_EQ(create_error(
                {{{"ops", kOpsToken}, {"ci", kCiToken}, {"dup", kOpsToken}}}),
            "bearer token 2 (principal dup) is the same as token 0 "
            "(principal ops)");
  EXPECT_EQ(create_error({{{"ops", kOpsToken}}, {"pkg.Svc"}}),
            "exempt_methods: method pattern \"pkg.Svc\" is not "
            "\"service/method\", \"service/*\" or \"*\"");
  EXPECT_EQ(create_error({{{"ops", kOpsToken}}, {"*"}}),
            "exempt_methods: \"*\" is not allowed here");
  // A principal may have several tokens (rotation).
  EXPECT_TRUE(
      BearerTokenInterceptor::Create({{{"ops", kOpsToken}, {"ops", kCiToken}}})
          .ok());
}

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTestDir("token_file_test"); }
  std::string Write(const std::string& content) {
    return WriteTestFile(dir_, "tokens", content);
  }
  std::string dir_;
};

TEST_F(TokenFileTest, ReadsPrincipalsAndTokensSkippingCommentsAndBlanks) {
  const std::string path =
      Write(absl::StrCat("# Tokens of the billing service.\n"
                         "\n"
                         "ops-team ",
                         kOpsToken, "\n",
                         "   # an indented comment\n"
                         "\t \n"
                         "  ci-bot\t\t",
                         kCiToken, "  \r\n",          // Tabs, spaces, CRLF.
                         "ops-team token-two-xyz"));  // No final newline.
  absl::StatusOr<std::vector<BearerToken>> tokens = LoadTokenFile(path);
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  ASSERT_EQ(tokens->size(), 3u);
  EXPECT_EQ((*tokens)[0].principal, "ops-team");
  EXPECT_EQ((*tokens)[0].token, kOpsToken);
  EXPECT_EQ((*tokens)[1].principal, "ci-bot");
  EXPECT_EQ((*tokens)[1].token, kCiToken);
  EXPECT_EQ((*tokens)[2].principal, "ops-team");
  EXPECT_EQ((*tokens)[2].token, "token-two-xyz");

  EXPECT_TRUE(LoadTokenFile(Write("")).value().empty());
  EXPECT_TRUE(LoadTokenFile(Write("# nothing\n\n")).value().empty());
}

TEST_F(TokenFileTest, BadLinesAreNamedByFileAndLineNeverQuoted) {
  struct Case {
    std::string content;
    std::string error;  // After "<path>:".
  };
  const std::vector<Case> cases = {
      {absl::StrCat("# ok\nops ", kOpsToken, "\n", kCiToken, "\n"),
       "3: expected \"<principal> <token>\", found 1 field"},
      {absl::StrCat("ops ", kOpsToken, " # trailing comment\n"),
       "1: expected \"<principal> <token>\", found 5 fields (a comment must "
       "be on a line of its own)"},
      {absl::StrCat("ops ", kOpsToken, " ", kCiToken, "\n"),
       "1: expected \"<principal> <token>\", found 3 fields (a comment must "
       "be on a line of its own)"},
      {absl::StrCat("\n\nops ", kOpsToken, "\x01\n"),
       "3: a byte that is not printable ASCII"},
      {absl::StrCat("ops ", kOpsToken, "\nci ", kCiToken, "\nold ", kOpsToken,
                    "\n"),
       "3: the same token as line 1"},
  };
  for (const Case& c : cases) {
    const std::string path = Write(c.content);
    absl::StatusOr<std::vector<BearerToken>> tokens = LoadTokenFile(path);
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(tokens.status().message(), absl::StrCat(path, ":", c.error));
    EXPECT_FALSE(LeaksAnyToken(tokens.status().message())) << tokens.status();
  }
  absl::StatusOr<std::vector<BearerToken>> missing =
      LoadTokenFile(dir_ + "/no-such-file");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            absl::StrCat("cannot open token file ", dir_,
                         "/no-such-file: No such file or directory"));
}

}  // namespace
}  // namespace mrpc
