// TLS on the server's port, from outside: mrpc channels with and without
// TLS on one port, mutual TLS and the identity handlers see, the channel's
// name and chain checks, TLS required, certificate reload without dropping
// connections, and hostile TLS bytes on raw sockets. Certificates are made
// at run time (net/tls_test_certs.h); none is checked in.
#include <glog/logging.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "net/buffer.h"
#include "net/sync.h"
#include "net/test_util.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "net/tls_test_certs.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::kTestService;
using ::mrpc::testing::RawClient;

// Answers with what the server knows of the caller's TLS: "plaintext", or
// "<protocol> verified=<0|1> cn=<cn> dns=<a,b> uri=<u> ip=<i>".
absl::Status RegisterWhoami(Server* server) {
  return server->RegisterMethod<EchoRequest, EchoResponse>(
      kTestService, "Whoami",
      [](ServerContext* ctx, const EchoRequest&, EchoResponse* resp,
         RpcDone done) {
        const TlsPeer* tls = ctx->tls();
        if (tls == nullptr) {
          resp->set_payload("plaintext");
        } else {
          resp->set_payload(absl::StrCat(
              tls->protocol, " verified=", tls->verified ? 1 : 0, " cn=",
              tls->common_name, " dns=", absl::StrJoin(tls->dns_names, ","),
              " uri=", absl::StrJoin(tls->uris, ","),
              " ip=", absl::StrJoin(tls->ip_addresses, ","),
              " sni=", tls->server_name));
        }
        done(absl::OkStatus());
      });
}

// Runs a shell command (bounded by `timeout` seconds); its exit code and
// stdout.
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

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir("tls_test");
    ca_ = std::make_unique<TestCa>(TestCa::Create("mrpc test CA"));
    other_ca_ = std::make_unique<TestCa>(TestCa::Create("other CA"));
    CertSpec server_spec;
    server_spec.common_name = "server";
    server_spec.dns_names = {"localhost", "echo.test"};
    server_spec.ip_addresses = {"127.0.0.1"};
    WritePair("server", ca_->Issue(server_spec));
    ca_file_ = WriteTestFile(dir_, "ca.pem", ca_->cert_pem());
    CertSpec client_spec;
    client_spec.common_name = "client-a";
    client_spec.dns_names = {"client-a.test"};
    client_spec.uris = {"spiffe://test/client-a"};
    WritePair("client", ca_->Issue(client_spec));
    WritePair("stranger", other_ca_->Issue(client_spec));
    fds_before_ = ::mrpc::testing::CountOpenFds();
  }

  void TearDown() override {
    channels_.clear();
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
      server_.reset();
    }
    ::mrpc::testing::Eventually(
        [&] { return ::mrpc::testing::CountOpenFds() == fds_before_; },
        absl::Seconds(5));
    EXPECT_EQ(::mrpc::testing::CountOpenFds(), fds_before_);
  }

  void WritePair(const std::string& name, const TestKeyPair& pair) {
    WriteTestFile(dir_, name + ".pem", pair.cert_pem);
    WriteTestFile(dir_, name + ".key", pair.key_pem);
  }
  std::string File(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  ServerOptions TlsServerOptions() {
    ServerOptions options;
    options.num_threads = 2;
    options.tls.cert_file = File("server.pem");
    options.tls.key_file = File("server.key");
    return options;
  }
  void StartServer(const ServerOptions& options) {
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(RegisterWhoami(server_.get()).ok());
    absl::Status started = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(started.ok()) << started;
  }
  std::string Target() const {
    return absl::StrCat("127.0.0.1:", server_->port());
  }

  ChannelOptions TlsChannelOptions(const std::string& client = "") {
    ChannelOptions options;
    options.tls.enabled = true;
    options.tls.ca_file = ca_file_;
    if (!client.empty()) {
      options.tls.cert_file = File(client + ".pem");
      options.tls.key_file = File(client + ".key");
    }
    options.connect.initial_backoff = absl::Milliseconds(50);
    return options;
  }
  Channel* NewChannel(const ChannelOptions& options,
                      const std::string& target = "") {
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(target.empty() ? Target() : target, options);
    CHECK(channel.ok()) << channel.status();
    channels_.push_back(std::move(*channel));
    return channels_.back().get();
  }
  // One call of `method`; its status, and the payload in *payload.
  absl::Status Call(Channel* channel, const std::string& method,
                    std::string* payload = nullptr,
                    const std::string& body = "hello") {
    EchoRequest req;
    req.set_payload(body);
    EchoResponse resp;
    ClientContext ctx;
    ctx.set_timeout(absl::Seconds(5));
    absl::Status status =
        channel->CallMethodBlocking(kTestService, method, req, &resp, &ctx);
    if (payload != nullptr) *payload = resp.payload();
    return status;
  }

  std::string dir_;
  std::string ca_file_;
  std::unique_ptr<TestCa> ca_;
  std::unique_ptr<TestCa> other_ca_;
  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::vector<std::unique_ptr<Channel>> channels_;
  int fds_before_ = 0;
};

TEST_F(TlsTest, TlsAndPlaintextShareThePort) {
  StartServer(TlsServerOptions());
  Channel* secure = NewChannel(TlsChannelOptions());
  Channel* plain = NewChannel(ChannelOptions());
  std::string who;
  ASSERT_TRUE(Call(secure, "Whoami", &who).ok());
  // The client sent no certificate; the server asked for none.
  EXPECT_TRUE(absl::StartsWith(who, "TLSv1.3 verified=0")) << who;
  ASSERT_TRUE(Call(plain, "Whoami", &who).ok());
  EXPECT_EQ(who, "plaintext");
  // Payloads over one TLS record (16 KiB) and calls in flight together.
  std::string big(300 * 1024, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::string echoed;
  ASSERT_TRUE(Call(secure, "Echo", &echoed, big).ok());
  EXPECT_EQ(echoed, big);
  std::atomic<int> ok{0};
  Notification all_done;
  constexpr int kCalls = 200;
  std::atomic<int> left{kCalls};
  for (int i = 0; i < kCalls; ++i) {
    auto req = std::make_shared<EchoRequest>();
    req->set_payload(absl::StrCat("call ", i));
    auto resp = std::make_shared<EchoResponse>();
    secure->CallMethod(
        kTestService, "Echo", *req, resp.get(), nullptr,
        [&, req, resp, i](const absl::Status& s) {
          if (s.ok() && resp->payload() == absl::StrCat("call ", i))
            ok.fetch_add(1);
          if (left.fetch_sub(1) == 1) all_done.Notify();
        });
  }
  ASSERT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_EQ(ok.load(), kCalls);
  const ServerStats stats = server_->stats();
  EXPECT_EQ(stats.tls_handshakes, 1u);
  EXPECT_EQ(stats.tls_handshake_failures, 0u);
  EXPECT_EQ(stats.mrpc_connections, 2u);
  EXPECT_EQ(secure->stats().connects, 1u);
}

TEST_F(TlsTest, MutualTlsPutsTheVerifiedIdentityOnTheContext) {
  ServerOptions options = TlsServerOptions();
  options.tls.ca_file = ca_file_;
  options.tls.require_client_cert = true;
  StartServer(options);
  std::string who;
  ASSERT_TRUE(
      Call(NewChannel(TlsChannelOptions("client")), "Whoami", &who).ok());
  EXPECT_EQ(who,
            "TLSv1.3 verified=1 cn=client-a dns=client-a.test "
            "uri=spiffe://test/client-a ip= sni=");
  // The SNI a DNS server name sends.
  ChannelOptions by_name = TlsChannelOptions("client");
  by_name.tls.server_name = "echo.test";
  ASSERT_TRUE(Call(NewChannel(by_name), "Whoami", &who).ok());
  EXPECT_TRUE(absl::EndsWith(who, " sni=echo.test")) << who;

  // No certificate, or one from another CA: the handshake fails, the call
  // says why, and the server counts it.
  ::mrpc::testing::LogCapture log(
      [](google::LogSeverity, absl::string_view text) {
        return absl::StrContains(text, "closing");
      });
  const uint64_t failures = server_->stats().tls_handshake_failures;
  absl::Status none = Call(NewChannel(TlsChannelOptions()), "Whoami");
  EXPECT_EQ(none.code(), absl::StatusCode::kUnavailable) << none;
  EXPECT_TRUE(absl::StrContains(none.message(), "TLS")) << none;
  absl::Status stranger =
      Call(NewChannel(TlsChannelOptions("stranger")), "Whoami");
  EXPECT_EQ(stranger.code(), absl::StatusCode::kUnavailable) << stranger;
  EXPECT_TRUE(absl::StrContains(stranger.message(), "unknown ca")) << stranger;
  // An expired client certificate from the right CA.
  CertSpec expired;
  expired.common_name = "client-a";
  expired.not_before = absl::Now() - absl::Hours(48);
  expired.not_after = absl::Now() - absl::Hours(24);
  WritePair("expired_client", ca_->Issue(expired));
  absl::Status old =
      Call(NewChannel(TlsChannelOptions("expired_client")), "Whoami");
  EXPECT_EQ(old.code(), absl::StatusCode::kUnavailable) << old;
  EXPECT_TRUE(absl::StrContains(old.message(), "certificate expired")) << old;
  EXPECT_TRUE(::mrpc::testing::Eventually(
      [&] { return server_->stats().tls_handshake_failures >= failures + 3; },
      absl::Seconds(5)));
  // The server names the peer and the reason, and never the key material.
  bool named = false;
  for (const auto& line : log.Lines()) {
    named = named || (absl::StrContains(line.text, "127.0.0.1") &&
                      absl::StrContains(line.text, "certificate"));
    EXPECT_FALSE(absl::StrContains(line.text, "PRIVATE KEY")) << line.text;
  }
  EXPECT_TRUE(named);
}

TEST_F(TlsTest, ChannelChecksTheServerNameAndChain) {
  StartServer(TlsServerOptions());
  // The certificate has 127.0.0.1, localhost and echo.test, nothing else.
  ChannelOptions wrong_name = TlsChannelOptions();
  wrong_name.tls.server_name = "other.test";
  absl::Status s = Call(NewChannel(wrong_name), "Echo");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(absl::StrContains(
      s.message(), "certificate verify failed (hostname mismatch)"))
      << s;
  // "localhost:port" checks the name localhost.
  std::string who;
  EXPECT_TRUE(Call(NewChannel(TlsChannelOptions(),
                              absl::StrCat("localhost:", server_->port())),
                   "Whoami", &who)
                  .ok());
  // A CA the server's chain does not lead to.
  ChannelOptions wrong_ca = TlsChannelOptions();
  wrong_ca.tls.ca_file =
      WriteTestFile(dir_, "other_ca.pem", other_ca_->cert_pem());
  s = Call(NewChannel(wrong_ca), "Echo");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "certificate verify failed")) << s;
  // A failed handshake is a failed connect attempt: backoff, no "loss".
  EXPECT_EQ(channels_.back()->stats().connects, 0u);
}

TEST_F(TlsTest, ExpiredServerCertificateIsRefused) {
  CertSpec expired;
  expired.common_name = "server";
  expired.ip_addresses = {"127.0.0.1"};
  expired.not_before = absl::Now() - absl::Hours(48);
  expired.not_after = absl::Now() - absl::Hours(24);
  WritePair("expired", ca_->Issue(expired));
  ServerOptions options = TlsServerOptions();
  options.tls.cert_file = File("expired.pem");
  options.tls.key_file = File("expired.key");
  StartServer(options);
  absl::Status s = Call(NewChannel(TlsChannelOptions()), "Echo");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "certificate has expired")) << s;
}

TEST_F(TlsTest, RequiredTlsRefusesPlaintext) {
  ServerOptions options = TlsServerOptions();
  options.tls.required = true;
  StartServer(options);
  EXPECT_TRUE(Call(NewChannel(TlsChannelOptions()), "Echo").ok());
  absl::StatusOr<RawClient> raw =
      RawClient::Connect(InetAddress::Loopback(server_->port()));
  ASSERT_TRUE(raw.ok());
  ASSERT_TRUE(raw->Write("MRPC").ok());
  std::string got;
  EXPECT_TRUE(raw->WaitForClose(absl::Seconds(5), &got).ok());
  EXPECT_EQ(got, "");
  absl::Status plain = Call(NewChannel(ChannelOptions()), "Echo");
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable) << plain;
  EXPECT_GE(server_->stats().tls_plaintext_refused, 2u);
}

TEST_F(TlsTest, StartFailsOnBadFiles) {
  ServerOptions options = TlsServerOptions();
  options.tls.key_file = File("client.key");  // Not the server's key.
  Server server(options);
  absl::Status s = server.Start("127.0.0.1:0");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "does not match")) << s;
  options = TlsServerOptions();
  options.tls.cert_file = File("missing.pem");
  Server missing(options);
  s = missing.Start("127.0.0.1:0");
  EXPECT_TRUE(absl::StrContains(s.message(), "missing.pem")) << s;
  options = TlsServerOptions();
  options.tls.require_client_cert = true;  // Without a CA.
  Server no_ca(options);
  EXPECT_FALSE(no_ca.Start("127.0.0.1:0").ok());
}

// Rotation: a new certificate is served to new connections, the old
// connection stays up, a broken set is refused.
TEST_F(TlsTest, ReloadServesTheNewCertificateWithoutDroppingConnections) {
  ServerOptions options = TlsServerOptions();
  options.tls.reload_interval = absl::ZeroDuration();  // ReloadTls() only.
  StartServer(options);
  Channel* old_channel = NewChannel(TlsChannelOptions());
  ASSERT_TRUE(Call(old_channel, "Echo").ok());
  ChannelOptions renamed = TlsChannelOptions();
  renamed.tls.server_name = "renamed.test";
  EXPECT_FALSE(Call(NewChannel(renamed), "Echo").ok());

  CertSpec next;
  next.common_name = "server v2";
  next.dns_names = {"renamed.test"};
  next.ip_addresses = {"127.0.0.1"};
  WritePair("server", ca_->Issue(next));
  ASSERT_TRUE(server_->ReloadTls().ok());
  EXPECT_EQ(server_->stats().tls_reloads, 1u);
  EXPECT_TRUE(Call(NewChannel(renamed), "Echo").ok());
  // The old connection was not dropped.
  EXPECT_TRUE(Call(old_channel, "Echo").ok());
  EXPECT_EQ(old_channel->stats().connects, 1u);
  EXPECT_EQ(old_channel->stats().connection_losses, 0u);
  // Unchanged files: nothing to do.
  ASSERT_TRUE(server_->ReloadTls().ok());
  EXPECT_EQ(server_->stats().tls_reloads, 1u);
  // A key that does not match: refused, and the current pair stays.
  WriteTestFile(dir_, "server.key", ca_->Issue(next).key_pem);
  EXPECT_FALSE(server_->ReloadTls().ok());
  EXPECT_EQ(server_->stats().tls_reloads, 1u);
  EXPECT_TRUE(Call(NewChannel(renamed), "Echo").ok());
}

TEST_F(TlsTest, ChangedFilesAreReloadedOnTheirOwn) {
  ServerOptions options = TlsServerOptions();
  options.tls.reload_interval = absl::Milliseconds(50);
  StartServer(options);
  CertSpec next;
  next.common_name = "server v2";
  next.dns_names = {"renamed.test"};
  next.ip_addresses = {"127.0.0.1"};
  const TestKeyPair pair = ca_->Issue(next);
  // Written key first: between the two writes the pair does not match,
  // and the reload in between (if any) is refused, not half-applied.
  WriteTestFile(dir_, "server.key", pair.key_pem);
  WriteTestFile(dir_, "server.pem", pair.cert_pem);
  ASSERT_TRUE(::mrpc::testing::Eventually(
      [&] { return server_->stats().tls_reloads == 1; }, absl::Seconds(10)));
  ChannelOptions renamed = TlsChannelOptions();
  renamed.tls.server_name = "renamed.test";
  EXPECT_TRUE(Call(NewChannel(renamed), "Echo").ok());
}

TEST_F(TlsTest, CurlAndOpensslSpeakToThePort) {
  ServerOptions options = TlsServerOptions();
  options.tls.ca_file = ca_file_;  // Client certificates asked, not required.
  StartServer(options);
  std::string out;
  // HTTP over TLS: the health page and a JSON call, verified by the CA.
  EXPECT_EQ(RunCommand(
                absl::StrCat("curl -sS --cacert ", ca_file_,
                             " https://localhost:", server_->port(), "/health"),
                &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "SERVING")) << out;
  out.clear();
  EXPECT_EQ(
      RunCommand(absl::StrCat("curl -sS --cacert ", ca_file_, " --cert ",
                              File("client.pem"), " --key ", File("client.key"),
                              " -d '{}' https://127.0.0.1:", server_->port(),
                              "/", kTestService, "/Whoami"),
                 &out),
      0)
      << out;
  std::string who;
  const size_t at = out.find("\"payload\":\"");
  ASSERT_NE(at, std::string::npos) << out;
  ASSERT_TRUE(absl::Base64Unescape(
      out.substr(at + 11, out.find('"', at + 11) - at - 11), &who));
  EXPECT_TRUE(absl::StartsWith(who, "TLSv1.3 verified=1 cn=client-a")) << who;
  // The handshakes are counted on /metrics.
  out.clear();
  EXPECT_EQ(RunCommand(absl::StrCat("curl -sS --cacert ", ca_file_,
                                    " https://localhost:", server_->port(),
                                    "/metrics"),
                       &out),
            0);
  EXPECT_TRUE(absl::StrContains(
      out, "mrpc_server_tls_handshakes_total{result=\"ok\"} 3"))
      << out;
  // openssl s_client: the chain verifies and the protocol is TLS 1.3; -tls1_2
  // works too.
  for (const char* version : {"-tls1_3", "-tls1_2"}) {
    out.clear();
    EXPECT_EQ(RunCommand(absl::StrCat("openssl s_client -brief ", version,
                                      " -CAfile ", ca_file_,
                                      " -verify_return_error -verify_hostname "
                                      "localhost -connect 127.0.0.1:",
                                      server_->port(), " </dev/null"),
                         &out),
              0)
        << out;
    EXPECT_TRUE(absl::StrContains(out, "Verification: OK")) << out;
  }
  // TLS 1.1 is refused.
  out.clear();
  EXPECT_NE(RunCommand(absl::StrCat("openssl s_client -brief -tls1_1 -connect "
                                    "127.0.0.1:",
                                    server_->port(), " </dev/null"),
                       &out),
            0)
      << out;
}

// A client that says close_notify right after its handshake (before the
// server's tickets are even read) gets what it is owed and close_notify
// back, then the close: an orderly TLS end, not a hang or a bare FIN.
TEST_F(TlsTest, CloseNotifyIsAnsweredInKind) {
  StartServer(TlsServerOptions());
  TlsContext::Config config;
  config.role = TlsContext::Role::kClient;
  config.ca_file = ca_file_;
  absl::StatusOr<std::shared_ptr<TlsContext>> context =
      TlsContext::Create(config);
  ASSERT_TRUE(context.ok()) << context.status();
  std::unique_ptr<TlsSession> session = (*context)->NewSession("127.0.0.1");
  absl::StatusOr<RawClient> raw =
      RawClient::Connect(InetAddress::Loopback(server_->port()));
  ASSERT_TRUE(raw.ok());
  Buffer in, plain, out;
  ASSERT_TRUE(session->StartClient(&out).ok());
  bool closed = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!session->handshake_done() && absl::Now() < deadline) {
    ASSERT_TRUE(raw->Write(out.RetrieveAllAsString()).ok());
    absl::StatusOr<std::string> got = raw->ReadExactly(1, absl::Seconds(5));
    ASSERT_TRUE(got.ok()) << got.status();
    in.Append(*got);
    ASSERT_TRUE(session->Receive(&in, &plain, &out, &closed).ok());
  }
  ASSERT_TRUE(session->handshake_done());
  session->SendCloseNotify(&out);
  ASSERT_TRUE(raw->Write(out.RetrieveAllAsString()).ok());
  std::string rest;
  EXPECT_TRUE(raw->WaitForClose(absl::Seconds(5), &rest).ok());
  in.Append(rest);
  EXPECT_TRUE(session->Receive(&in, &plain, &out, &closed).ok());
  EXPECT_TRUE(closed) << "no close_notify before the server's close";
}

// Hostile TLS bytes on raw sockets: each connection pays alone, quickly,
// with bounded logging; a TLS bystander's calls go on.
TEST_F(TlsTest, HostileHandshakesCostOnlyTheirConnection) {
  ServerOptions options = TlsServerOptions();
  options.tls.handshake_timeout = absl::Milliseconds(500);
  StartServer(options);
  Channel* bystander = NewChannel(TlsChannelOptions());
  ASSERT_TRUE(Call(bystander, "Echo").ok());
  ::mrpc::testing::LogCapture log(
      [](google::LogSeverity, absl::string_view text) {
        return absl::StrContains(text, "TLS") || absl::StrContains(text, "tls");
      });
  const ServerStats before = server_->stats();
  const InetAddress address = InetAddress::Loopback(server_->port());
  // Garbage after a valid record header: closed at once.
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<RawClient> raw = RawClient::Connect(address);
    ASSERT_TRUE(raw.ok());
    std::string record("\x16\x03\x01\x00\x40", 5);
    record.append(64, static_cast<char>(0xA5 + i));
    ASSERT_TRUE(raw->Write(record).ok());
    const absl::Time start = absl::Now();
    std::string alert;
    EXPECT_TRUE(raw->WaitForClose(absl::Seconds(5), &alert).ok());
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(400));
    // At most an alert record (type 21) comes back, nothing else.
    EXPECT_LE(alert.size(), 7u);
    if (!alert.empty()) {
      EXPECT_EQ(alert[0], '\x15');
    }
  }
  // A record header promising more than TLS allows (2^14 + 2048).
  {
    absl::StatusOr<RawClient> raw = RawClient::Connect(address);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw->Write(std::string("\x16\x03\x01\xff\xff", 5)).ok());
    std::string alert;
    EXPECT_TRUE(raw->WaitForClose(absl::Seconds(5), &alert).ok());
    EXPECT_LE(alert.size(), 7u);
  }
  // A handshake that never finishes: half a ClientHello, then silence.
  {
    absl::StatusOr<RawClient> raw = RawClient::Connect(address);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw->Write(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc"
                                       "\x03\x03",
                                       11))
                    .ok());
    const absl::Time start = absl::Now();
    EXPECT_TRUE(raw->WaitForClose(absl::Seconds(5)).ok());
    const absl::Duration waited = absl::Now() - start;
    EXPECT_GE(waited, absl::Milliseconds(400));
    EXPECT_LT(waited, absl::Milliseconds(1500));
  }
  // A client that leaves mid-handshake.
  {
    absl::StatusOr<RawClient> raw = RawClient::Connect(address);
    ASSERT_TRUE(raw.ok());
    ASSERT_TRUE(raw->Write(std::string("\x16\x03\x01\x02\x00", 5)).ok());
    raw->Close();
  }
  EXPECT_TRUE(::mrpc::testing::Eventually(
      [&] {
        return server_->stats().tls_handshake_failures ==
               before.tls_handshake_failures + 33;
      },
      absl::Seconds(5)));
  EXPECT_EQ(server_->stats().connections, 1u);  // The bystander only.
  // Rate-limited per peer and reason: at most 10 lines per 10 s for 33
  // failures (fewer if the tests before used this peer's allowance).
  EXPECT_LE(log.Lines().size(), 10u);
  ASSERT_TRUE(Call(bystander, "Echo").ok());
  EXPECT_EQ(bystander->stats().connection_losses, 0u);
}

}  // namespace
}  // namespace mrpc
