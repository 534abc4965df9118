// TlsSession and TlsContext in memory: a client and a server session pass
// records between their Buffers, no sockets. Covers the handshake (TLS 1.3
// and 1.2), data both ways (large, and fed a byte at a time), close_notify,
// renegotiation refused, a TLS 1.3 KeyUpdate, garbage, peer identity,
// client and server certificate failures, TLS 1.1 refused, Reload(),
// Describe(), and what a stalled record costs. Where TlsContext exposes no
// knob (forcing a version, renegotiating, KeyUpdate), the client is a raw
// OpenSSL SSL wrapped in a TlsSession, so the plumbing stays the same.
#include "net/tls_session.h"

#include <glog/logging.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/buffer.h"
#include "net/tls_context.h"
#include "net/tls_test_certs.h"

namespace mrpc {
namespace {

using ::testing::HasSubstr;

// One end of an in-memory connection: its session and its buffers.
struct Side {
  explicit Side(std::unique_ptr<TlsSession> s)
      : owned(std::move(s)), session(owned.get()) {}
  // Not owned; must outlive the Side.
  explicit Side(TlsSession* s) : session(s) {}

  // Receive() over wire_in; the first error sticks and is not overwritten.
  void Receive() {
    if (!status.ok()) return;
    status = session->Receive(&wire_in, &plain, &wire_out, &closed);
  }
  void Send(absl::string_view data) {
    ASSERT_TRUE(session->handshake_done());
    absl::Status s = session->Send(data.data(), data.size(), &wire_out);
    ASSERT_TRUE(s.ok()) << s;
  }
  std::string TakePlain() { return plain.RetrieveAllAsString(); }

  std::unique_ptr<TlsSession> owned;
  TlsSession* session;
  Buffer wire_in;   // Records from the peer, not yet consumed.
  Buffer wire_out;  // Records for the peer.
  Buffer plain;     // Application bytes received.
  bool closed = false;
  absl::Status status;
};

// Hands `from`'s records to `to`, `chunk` bytes per Receive() (0: all at
// once). A side that failed is fed nothing more. True if anything moved.
bool Deliver(Side* from, Side* to, size_t chunk = 0) {
  if (from->wire_out.ReadableBytes() == 0) return false;
  const std::string bytes = from->wire_out.RetrieveAllAsString();
  const size_t step = chunk == 0 ? bytes.size() : chunk;
  for (size_t i = 0; i < bytes.size() && to->status.ok(); i += step) {
    to->wire_in.Append(bytes.data() + i, std::min(step, bytes.size() - i));
    to->Receive();
  }
  return true;
}

// The number of whole TLS records in `wire`.
int CountRecords(absl::string_view wire) {
  int records = 0;
  while (wire.size() >= 5) {
    const size_t length =
        (static_cast<uint8_t>(wire[3]) << 8) | static_cast<uint8_t>(wire[4]);
    if (wire.size() < 5 + length) break;
    wire.remove_prefix(5 + length);
    ++records;
  }
  return records;
}

// Passes records both ways until neither side has anything to send.
void Pump(Side* client, Side* server, size_t chunk = 0) {
  for (int round = 0; round < 50; ++round) {
    const bool up = Deliver(client, server, chunk);
    const bool down = Deliver(server, client, chunk);
    if (!up && !down) return;
  }
  ADD_FAILURE() << "the sessions kept talking";
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

class TlsSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new TestCa(TestCa::Create("mrpc test CA"));
    other_ca_ = new TestCa(TestCa::Create("other CA"));
    CertSpec server;
    server.common_name = "server";
    server.dns_names = {"localhost", "echo.test"};
    server.ip_addresses = {"127.0.0.1", "::1"};
    server_ = new TestKeyPair(ca_->Issue(server));
    CertSpec expired = server;
    expired.not_before = absl::Now() - absl::Hours(48);
    expired.not_after = absl::Now() - absl::Hours(24);
    expired_server_ = new TestKeyPair(ca_->Issue(expired));
    CertSpec client;
    client.common_name = "client-a";
    client.organization = "Example";
    client.dns_names = {"client-a.test"};
    client.uris = {"spiffe://test/ns/a/sa/client"};
    client.ip_addresses = {"10.1.2.3", "fd00::7"};
    client_ = new TestKeyPair(ca_->Issue(client));
    stranger_ = new TestKeyPair(other_ca_->Issue(client));
  }
  // Runs per suite, and TlsReloadTest is a suite of its own.
  static void TearDownTestSuite() {
    delete ca_;
    delete other_ca_;
    delete server_;
    delete expired_server_;
    delete client_;
    delete stranger_;
    ca_ = other_ca_ = nullptr;
    server_ = expired_server_ = client_ = stranger_ = nullptr;
  }

  static std::shared_ptr<TlsContext> MustCreate(
      const TlsContext::Config& config, const TlsContext::Material& material) {
    absl::StatusOr<std::shared_ptr<TlsContext>> ctx =
        TlsContext::CreateFromPem(config, material);
    CHECK(ctx.ok()) << ctx.status();
    return *std::move(ctx);
  }

  // A server with server_; with_ca: client certificates are asked for and
  // verified against ca_.
  static std::shared_ptr<TlsContext> ServerContext(
      bool with_ca = false, bool require = false,
      const TestKeyPair* pair = nullptr) {
    if (pair == nullptr) pair = server_;
    TlsContext::Config config;
    config.role = TlsContext::Role::kServer;
    config.require_client_cert = require;
    TlsContext::Material material;
    material.cert_pem = pair->cert_pem;
    material.key_pem = pair->key_pem;
    if (with_ca) material.ca_pem = ca_->cert_pem();
    return MustCreate(config, material);
  }

  // A client trusting ca_, presenting `pair` if given.
  static std::shared_ptr<TlsContext> ClientContext(
      const TestKeyPair* pair = nullptr) {
    TlsContext::Config config;
    config.role = TlsContext::Role::kClient;
    TlsContext::Material material;
    material.ca_pem = ca_->cert_pem();
    if (pair != nullptr) {
      material.cert_pem = pair->cert_pem;
      material.key_pem = pair->key_pem;
    }
    return MustCreate(config, material);
  }

  // A bare OpenSSL client context for what TlsContext does not expose: the
  // given protocol versions, trusting ca_, optionally with a certificate.
  static SslCtxPtr RawClientContext(int min_version, int max_version) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    CHECK(ctx != nullptr);
    CHECK_EQ(SSL_CTX_set_min_proto_version(ctx.get(), min_version), 1);
    CHECK_EQ(SSL_CTX_set_max_proto_version(ctx.get(), max_version), 1);
    // TLS 1.0/1.1 are below every security level but 0; the point is to
    // send a TLS 1.1 ClientHello and see the server refuse it.
    if (max_version < TLS1_2_VERSION) {
      CHECK_EQ(SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0"), 1);
    }
    BIO* bio = BIO_new_mem_buf(ca_->cert_pem().data(),
                               static_cast<int>(ca_->cert_pem().size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    CHECK(ca != nullptr);
    CHECK_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), ca), 1);
    X509_free(ca);
    BIO_free(bio);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    return ctx;
  }

  // A client session on a raw context. *ssl is its SSL, for the test to
  // poke (renegotiate, key update); the session owns it.
  static std::unique_ptr<TlsSession> RawClientSession(SSL_CTX* ctx, SSL** ssl) {
    SSL* s = SSL_new(ctx);
    CHECK(s != nullptr);
    SSL_set_connect_state(s);
    *ssl = s;
    return std::make_unique<TlsSession>(s);
  }

  // Starts `client` and pumps until both sides are quiet.
  static void Handshake(Side* client, Side* server, size_t chunk = 0) {
    absl::Status s = client->session->StartClient(&client->wire_out);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_GT(client->wire_out.ReadableBytes(), 0u);
    EXPECT_EQ(client->wire_out.Peek()[0], '\x16');  // A handshake record.
    Pump(client, server, chunk);
  }

  static void ExpectConnected(const Side& client, const Side& server) {
    EXPECT_TRUE(client.status.ok()) << client.status;
    EXPECT_TRUE(server.status.ok()) << server.status;
    EXPECT_TRUE(client.session->handshake_done());
    EXPECT_TRUE(server.session->handshake_done());
  }

  static TestCa* ca_;
  static TestCa* other_ca_;
  static TestKeyPair* server_;
  static TestKeyPair* expired_server_;
  static TestKeyPair* client_;
  static TestKeyPair* stranger_;
};

TestCa* TlsSessionTest::ca_ = nullptr;
TestCa* TlsSessionTest::other_ca_ = nullptr;
TestKeyPair* TlsSessionTest::server_ = nullptr;
TestKeyPair* TlsSessionTest::expired_server_ = nullptr;
TestKeyPair* TlsSessionTest::client_ = nullptr;
TestKeyPair* TlsSessionTest::stranger_ = nullptr;

TEST_F(TlsSessionTest, Tls13HandshakeAndDataBothWays) {
  Side client(ClientContext()->NewSession("localhost"));
  Side server(ServerContext()->NewSession(""));
  EXPECT_FALSE(client.session->handshake_done());
  Handshake(&client, &server);
  ExpectConnected(client, server);
  EXPECT_EQ(server.session->peer().protocol, "TLSv1.3");
  EXPECT_EQ(client.session->peer().protocol, "TLSv1.3");
  EXPECT_FALSE(server.session->peer().cipher.empty());
  EXPECT_EQ(server.session->peer().server_name, "localhost");
  EXPECT_EQ(server.session->peer().alpn, "mrpc");
  EXPECT_EQ(client.session->peer().alpn, "mrpc");
  // No client certificate was asked for.
  EXPECT_FALSE(server.session->peer().verified);
  EXPECT_EQ(server.session->peer().subject, "");
  // The client verified the server.
  EXPECT_TRUE(client.session->peer().verified);
  EXPECT_EQ(client.session->peer().common_name, "server");
  EXPECT_EQ(client.session->peer().issuer, "CN=mrpc test CA");
  // Handshake data never shows up as plaintext.
  EXPECT_EQ(client.plain.ReadableBytes(), 0u);
  EXPECT_EQ(server.plain.ReadableBytes(), 0u);

  client.Send("ping");
  Pump(&client, &server);
  EXPECT_EQ(server.TakePlain(), "ping");
  server.Send("pong");
  Pump(&client, &server);
  EXPECT_EQ(client.TakePlain(), "pong");

  // 1 MiB each way: many records, read in one Receive().
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
  client.Send(big);
  EXPECT_GT(client.wire_out.ReadableBytes(), big.size());
  Pump(&client, &server);
  EXPECT_EQ(server.TakePlain(), big);
  server.Send(big);
  // The same records fed in 1000-byte pieces: records split everywhere.
  Pump(&client, &server, 1000);
  EXPECT_EQ(client.TakePlain(), big);
  EXPECT_TRUE(client.status.ok()) << client.status;
  EXPECT_TRUE(server.status.ok()) << server.status;
  // Nothing stays behind in the wire buffers.
  EXPECT_EQ(client.wire_in.ReadableBytes(), 0u);
  EXPECT_EQ(server.wire_in.ReadableBytes(), 0u);
}

TEST_F(TlsSessionTest, ByteByByteHandshakeAndRecords) {
  Side client(ClientContext(client_)->NewSession("echo.test"));
  Side server(ServerContext(/*with_ca=*/true)->NewSession(""));
  Handshake(&client, &server, /*chunk=*/1);
  ExpectConnected(client, server);
  EXPECT_TRUE(server.session->peer().verified);
  // Three records (16 KiB each at most), each split into single bytes.
  std::string data(40 * 1024, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i);
  client.Send(data);
  Pump(&client, &server, 1);
  EXPECT_EQ(server.TakePlain(), data);
  server.Send(data);
  Pump(&client, &server, 1);
  EXPECT_EQ(client.TakePlain(), data);
  ExpectConnected(client, server);
}

TEST_F(TlsSessionTest, Tls12Handshake) {
  SslCtxPtr raw = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  SSL* ssl = nullptr;
  Side client(RawClientSession(raw.get(), &ssl));
  Side server(ServerContext()->NewSession(""));
  Handshake(&client, &server);
  ExpectConnected(client, server);
  EXPECT_EQ(server.session->peer().protocol, "TLSv1.2");
  EXPECT_EQ(client.session->peer().protocol, "TLSv1.2");
  EXPECT_EQ(server.session->peer().alpn, "");  // The raw client offers none.
  client.Send("over 1.2");
  Pump(&client, &server);
  EXPECT_EQ(server.TakePlain(), "over 1.2");
  server.Send("back");
  Pump(&client, &server, 1);
  EXPECT_EQ(client.TakePlain(), "back");
}

TEST_F(TlsSessionTest, CloseNotifySetsClosed) {
  Side client(ClientContext()->NewSession("localhost"));
  Side server(ServerContext()->NewSession(""));
  // Before the handshake there is nothing to close.
  client.session->SendCloseNotify(&client.wire_out);
  EXPECT_EQ(client.wire_out.ReadableBytes(), 0u);
  Handshake(&client, &server);
  ExpectConnected(client, server);
  client.Send("last words");
  client.session->SendCloseNotify(&client.wire_out);
  const size_t with_alert = client.wire_out.ReadableBytes();
  client.session->SendCloseNotify(&client.wire_out);  // Once only.
  EXPECT_EQ(client.wire_out.ReadableBytes(), with_alert);
  Deliver(&client, &server);
  EXPECT_TRUE(server.status.ok()) << server.status;
  EXPECT_TRUE(server.closed);
  EXPECT_EQ(server.TakePlain(), "last words");
  EXPECT_FALSE(client.closed);
  // The server answers with its own close_notify.
  server.session->SendCloseNotify(&server.wire_out);
  Deliver(&server, &client);
  EXPECT_TRUE(client.status.ok()) << client.status;
  EXPECT_TRUE(client.closed);
}

// SSL_OP_NO_RENEGOTIATION: the server answers a TLS 1.2 client's
// renegotiation ClientHello with a no_renegotiation warning alert and goes
// on. OpenSSL 3.0's client treats that answer to its own request as fatal
// (handshake_failure), so the connection ends; no second handshake happens.
TEST_F(TlsSessionTest, Tls12RenegotiationIsRefused) {
  SslCtxPtr raw = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
  SSL* ssl = nullptr;
  Side client(RawClientSession(raw.get(), &ssl));
  Side server(ServerContext()->NewSession(""));
  Handshake(&client, &server);
  ExpectConnected(client, server);
  ASSERT_EQ(server.session->peer().protocol, "TLSv1.2");

  ASSERT_EQ(SSL_renegotiate(ssl), 1);
  EXPECT_EQ(SSL_renegotiate_pending(ssl), 1);
  client.Receive();  // SSL_read sends the new ClientHello.
  ASSERT_TRUE(client.status.ok()) << client.status;
  ASSERT_GT(client.wire_out.ReadableBytes(), 0u);

  Deliver(&client, &server);
  // Refused, not an error on the server's side: it sent a warning alert
  // (one encrypted record) and still has the old session.
  EXPECT_TRUE(server.status.ok()) << server.status;
  ASSERT_GT(server.wire_out.ReadableBytes(), 0u);
  EXPECT_EQ(server.wire_out.Peek()[0], '\x15');  // An alert record.
  EXPECT_EQ(server.plain.ReadableBytes(), 0u);
  server.Send("still the old keys");

  Deliver(&server, &client);
  EXPECT_FALSE(client.status.ok());
  EXPECT_THAT(std::string(client.status.message()),
              HasSubstr("no renegotiation"));
  EXPECT_EQ(SSL_renegotiate_pending(ssl), 1);  // It never happened.
  EXPECT_EQ(client.plain.ReadableBytes(), 0u);

  // The client's fatal alert ends the server's side, cleanly, with a
  // readable reason.
  Deliver(&client, &server);
  EXPECT_FALSE(server.status.ok());
  EXPECT_THAT(std::string(server.status.message()),
              HasSubstr("handshake failure"));
  EXPECT_EQ(server.session->peer().protocol, "TLSv1.2");
}

// RFC 8446 4.6.3: a KeyUpdate asking for an update is answered with the
// receiver's own KeyUpdate before its next application data; OpenSSL
// sends it with the next write, not from the read that saw the request.
TEST_F(TlsSessionTest, Tls13KeyUpdateFromTheClient) {
  SslCtxPtr raw = RawClientContext(TLS1_3_VERSION, TLS1_3_VERSION);
  SSL* ssl = nullptr;
  Side client(RawClientSession(raw.get(), &ssl));
  Side server(ServerContext()->NewSession(""));
  Handshake(&client, &server);
  ExpectConnected(client, server);
  ASSERT_EQ(SSL_version(ssl), TLS1_3_VERSION);
  for (int i = 0; i < 3; ++i) {
    // The client updates its keys and asks the server to update its own.
    ASSERT_EQ(SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED), 1);
    client.Send(absl::StrCat("after update ", i));
    EXPECT_EQ(SSL_get_key_update_type(ssl), SSL_KEY_UPDATE_NONE);
    EXPECT_EQ(CountRecords(client.wire_out.View()), 2);  // KeyUpdate, data.
    Deliver(&client, &server);
    ASSERT_TRUE(server.status.ok()) << server.status;
    EXPECT_EQ(server.TakePlain(), absl::StrCat("after update ", i));
    // The server's reply: its KeyUpdate, then the data under its new keys.
    server.Send(absl::StrCat("reply ", i));
    EXPECT_EQ(CountRecords(server.wire_out.View()), 2);
    Pump(&client, &server);
    ExpectConnected(client, server);
    EXPECT_EQ(client.TakePlain(), absl::StrCat("reply ", i));
    // And no more KeyUpdates after that.
    server.Send("plain reply");
    EXPECT_EQ(CountRecords(server.wire_out.View()), 1);
    Pump(&client, &server);
    EXPECT_EQ(client.TakePlain(), "plain reply");
  }
}

TEST_F(TlsSessionTest, GarbageIsAnErrorWithAReason) {
  struct Case {
    std::string bytes;
    std::string reason;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "http request"},
      {std::string("\x16\x03\x01\x00\x10", 5) + std::string(16, '\xa5'), ""},
      {std::string("\x17\x03\x03\x00\x05hello", 10), ""},
      {std::string("\x16\x03\x01\xff\xff", 5), "length too long"},
      // Alerts instead of a ClientHello: close_notify, a fatal one.
      {std::string("\x15\x03\x01\x00\x02\x01\x00", 7), ""},
      {std::string("\x15\x03\x01\x00\x02\x02\x28", 7), ""},
      {std::string("\x14\x03\x03\x00\x01\x01", 6), ""},
  };
  for (const Case& c : cases) {
    Side server(ServerContext()->NewSession(""));
    server.wire_in.Append(c.bytes);
    server.Receive();
    ASSERT_FALSE(server.status.ok()) << absl::CEscape(c.bytes);
    EXPECT_EQ(server.status.code(), absl::StatusCode::kUnavailable);
    const std::string message(server.status.message());
    // A phrase, not a bare number or an OpenSSL error code.
    EXPECT_TRUE(absl::StartsWith(message, "TLS handshake failed: ")) << message;
    EXPECT_FALSE(absl::StrContains(message, "TLS error ")) << message;
    EXPECT_FALSE(absl::StrContains(message, "error:")) << message;
    EXPECT_GT(message.size(), strlen("TLS handshake failed: ") + 5) << message;
    if (!c.reason.empty()) {
      EXPECT_THAT(message, HasSubstr(c.reason));
    }
    EXPECT_FALSE(server.session->handshake_done());
    EXPECT_EQ(server.plain.ReadableBytes(), 0u);
    // At most an alert goes back.
    if (server.wire_out.ReadableBytes() > 0) {
      EXPECT_EQ(server.wire_out.Peek()[0], '\x15');
      EXPECT_EQ(server.wire_out.ReadableBytes(), 7u);
    }
  }
  // A close_notify in the middle of a TLS 1.2 handshake (after the
  // ClientHello; found by tls_server_fuzzer as "TLS error 6").
  {
    SslCtxPtr raw = RawClientContext(TLS1_2_VERSION, TLS1_2_VERSION);
    SSL* ssl = nullptr;
    Side client(RawClientSession(raw.get(), &ssl));
    Side server(ServerContext()->NewSession(""));
    ASSERT_TRUE(client.session->StartClient(&client.wire_out).ok());
    Deliver(&client, &server);
    ASSERT_TRUE(server.status.ok()) << server.status;
    server.wire_in.Append(std::string("\x15\x03\x03\x00\x02\x01\x00", 7));
    server.Receive();
    ASSERT_FALSE(server.status.ok());
    EXPECT_EQ(std::string(server.status.message()),
              "TLS handshake failed: the peer closed the TLS session "
              "(close_notify)");
    EXPECT_FALSE(server.closed);  // Only a finished handshake closes.
  }
  // A client fed garbage instead of a ServerHello fails the same way.
  Side client(ClientContext()->NewSession("localhost"));
  ASSERT_TRUE(client.session->StartClient(&client.wire_out).ok());
  client.wire_in.Append("HTTP/1.1 400 Bad Request\r\n\r\n");
  client.Receive();
  EXPECT_FALSE(client.status.ok());
  EXPECT_THAT(std::string(client.status.message()),
              HasSubstr("TLS handshake failed: "));
}

TEST_F(TlsSessionTest, ServerSeesTheVerifiedClientIdentity) {
  Side client(ClientContext(client_)->NewSession("localhost"));
  Side server(
      ServerContext(/*with_ca=*/true, /*require=*/true)->NewSession(""));
  Handshake(&client, &server);
  ExpectConnected(client, server);
  const TlsPeer& peer = server.session->peer();
  EXPECT_TRUE(peer.verified);
  EXPECT_EQ(peer.protocol, "TLSv1.3");
  EXPECT_EQ(peer.subject, "CN=client-a,O=Example");
  EXPECT_EQ(peer.common_name, "client-a");
  EXPECT_EQ(peer.issuer, "CN=mrpc test CA");
  EXPECT_EQ(peer.dns_names, std::vector<std::string>{"client-a.test"});
  EXPECT_EQ(peer.uris,
            std::vector<std::string>{"spiffe://test/ns/a/sa/client"});
  EXPECT_EQ(peer.ip_addresses,
            (std::vector<std::string>{"10.1.2.3", "fd00::7"}));
  EXPECT_EQ(peer.server_name, "localhost");
  // Asked for but optional: a client without one is served, unverified.
  Side anonymous(ClientContext()->NewSession("localhost"));
  Side server2(ServerContext(/*with_ca=*/true)->NewSession(""));
  Handshake(&anonymous, &server2);
  ExpectConnected(anonymous, server2);
  EXPECT_FALSE(server2.session->peer().verified);
  EXPECT_EQ(server2.session->peer().common_name, "");
  EXPECT_TRUE(server2.session->peer().dns_names.empty());
}

TEST_F(TlsSessionTest, RequiredClientCertificateMissing) {
  Side client(ClientContext()->NewSession("localhost"));
  Side server(
      ServerContext(/*with_ca=*/true, /*require=*/true)->NewSession(""));
  Handshake(&client, &server);
  EXPECT_FALSE(server.status.ok());
  EXPECT_THAT(std::string(server.status.message()),
              HasSubstr("peer did not return a certificate"));
  EXPECT_FALSE(server.session->handshake_done());
  // TLS 1.3: the client finished its side before the server judged it; the
  // server's alert tells it why.
  EXPECT_FALSE(client.status.ok());
  EXPECT_THAT(std::string(client.status.message()),
              HasSubstr("certificate required"));
  EXPECT_EQ(server.plain.ReadableBytes(), 0u);
}

TEST_F(TlsSessionTest, ClientCertificateFromAnotherCaIsRefused) {
  Side client(ClientContext(stranger_)->NewSession("localhost"));
  Side server(ServerContext(/*with_ca=*/true)->NewSession(""));
  Handshake(&client, &server);
  EXPECT_FALSE(server.status.ok());
  EXPECT_THAT(std::string(server.status.message()),
              HasSubstr("certificate verify failed"));
  EXPECT_THAT(std::string(server.status.message()),
              HasSubstr("unable to get local issuer certificate"));
  EXPECT_FALSE(client.status.ok());
  EXPECT_THAT(std::string(client.status.message()), HasSubstr("unknown ca"));
}

TEST_F(TlsSessionTest, ClientChecksTheServerName) {
  struct Case {
    std::string server_name;
    std::string reason;  // Empty: accepted.
  };
  const Case cases[] = {
      {"localhost", ""},
      {"echo.test", ""},
      {"127.0.0.1", ""},
      {"::1", ""},
      {"other.test", "certificate verify failed (hostname mismatch)"},
      {"sub.echo.test", "certificate verify failed (hostname mismatch)"},
      {"127.0.0.2", "certificate verify failed (IP address mismatch)"},
      {"::2", "certificate verify failed (IP address mismatch)"},
  };
  std::shared_ptr<TlsContext> client_ctx = ClientContext();
  std::shared_ptr<TlsContext> server_ctx = ServerContext();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.server_name);
    Side client(client_ctx->NewSession(c.server_name));
    Side server(server_ctx->NewSession(""));
    Handshake(&client, &server);
    if (c.reason.empty()) {
      ExpectConnected(client, server);
      continue;
    }
    EXPECT_FALSE(client.status.ok());
    EXPECT_THAT(std::string(client.status.message()), HasSubstr(c.reason));
    EXPECT_FALSE(client.session->handshake_done());
    // The server hears why (bad_certificate alert) and fails too.
    EXPECT_FALSE(server.status.ok());
    EXPECT_THAT(std::string(server.status.message()),
                HasSubstr("bad certificate"));
  }
}

TEST_F(TlsSessionTest, ExpiredServerCertificateIsRefused) {
  Side client(ClientContext()->NewSession("localhost"));
  Side server(ServerContext(false, false, expired_server_)->NewSession(""));
  Handshake(&client, &server);
  EXPECT_FALSE(client.status.ok());
  EXPECT_THAT(std::string(client.status.message()),
              HasSubstr("certificate has expired"));
  EXPECT_FALSE(server.status.ok());
  EXPECT_THAT(std::string(server.status.message()),
              HasSubstr("certificate expired"));
}

TEST_F(TlsSessionTest, Tls11IsRefused) {
  SslCtxPtr raw = RawClientContext(TLS1_1_VERSION, TLS1_1_VERSION);
  SSL* ssl = nullptr;
  Side client(RawClientSession(raw.get(), &ssl));
  Side server(ServerContext()->NewSession(""));
  Handshake(&client, &server);
  EXPECT_FALSE(server.status.ok());
  EXPECT_THAT(std::string(server.status.message()),
              HasSubstr("unsupported protocol"));
  EXPECT_FALSE(server.session->handshake_done());
  EXPECT_FALSE(client.status.ok());
  EXPECT_THAT(std::string(client.status.message()),
              HasSubstr("protocol version"));
}

// What a peer that sends a record header and then nothing costs: the
// header is taken into OpenSSL's one record buffer; wire_in keeps nothing
// and does not grow.
TEST_F(TlsSessionTest, StalledRecordHoldsBoundedMemory) {
  Side server(ServerContext()->NewSession(""));
  const size_t capacity = server.wire_in.Capacity();
  server.wire_in.Append(std::string("\x16\x03\x01\x40\x00", 5));  // 16 KiB.
  server.Receive();
  EXPECT_TRUE(server.status.ok()) << server.status;
  EXPECT_LE(server.wire_in.ReadableBytes(), 5u);
  EXPECT_EQ(server.wire_in.Capacity(), capacity);
  EXPECT_EQ(server.wire_out.ReadableBytes(), 0u);
  EXPECT_EQ(server.plain.ReadableBytes(), 0u);
  // Calling again with nothing new costs nothing either.
  for (int i = 0; i < 100; ++i) server.Receive();
  EXPECT_TRUE(server.status.ok()) << server.status;
  EXPECT_LE(server.wire_in.ReadableBytes(), 5u);
  EXPECT_EQ(server.wire_in.Capacity(), capacity);
  EXPECT_EQ(server.wire_out.ReadableBytes(), 0u);
  // The rest of the record, trickled in, never piles up in wire_in either.
  for (int i = 0; i < 1000 && server.status.ok(); ++i) {
    server.wire_in.Append(std::string(16, '\x01'));
    server.Receive();
    EXPECT_LE(server.wire_in.ReadableBytes(), 16u);
  }
  EXPECT_EQ(server.wire_in.Capacity(), capacity);
}

TEST_F(TlsSessionTest, ContextFromPemRejectsBadMaterial) {
  TlsContext::Config config;
  TlsContext::Material material;
  material.cert_pem = server_->cert_pem;
  material.key_pem = client_->key_pem;
  absl::StatusOr<std::shared_ptr<TlsContext>> ctx =
      TlsContext::CreateFromPem(config, material);
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(std::string(ctx.status().message()), HasSubstr("does not match"));
  material.key_pem = "";
  EXPECT_FALSE(TlsContext::CreateFromPem(config, material).ok());
  material.cert_pem = "not PEM";
  material.key_pem = server_->key_pem;
  ctx = TlsContext::CreateFromPem(config, material);
  ASSERT_FALSE(ctx.ok());
  EXPECT_THAT(std::string(ctx.status().message()),
              HasSubstr("no PEM certificate"));
  // A context from memory has no files to reload.
  absl::StatusOr<bool> reloaded = ServerContext()->Reload();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_FALSE(*reloaded);
}

TEST_F(TlsSessionTest, DescribeNamesTheLeafAndItsExpiry) {
  const std::string server = ServerContext()->Describe();
  EXPECT_THAT(server, HasSubstr("CN=server"));
  // Issue()'s default: valid for a day.
  const std::string year = absl::FormatTime("%Y", absl::Now() + absl::Hours(24),
                                            absl::UTCTimeZone());
  EXPECT_THAT(server, HasSubstr(absl::StrCat(year, " GMT"))) << server;
  EXPECT_THAT(server, HasSubstr("expires")) << server;
  EXPECT_THAT(ClientContext(client_)->Describe(), HasSubstr("CN=client-a"));
  EXPECT_EQ(ClientContext()->Describe(), "no certificate");
}

class TlsReloadTest : public TlsSessionTest {
 protected:
  void SetUp() override {
    dir_ = MakeTestDir("tls_session_test");
    config_.role = TlsContext::Role::kServer;
    config_.cert_file = WriteTestFile(dir_, "server.pem", server_->cert_pem);
    config_.key_file = WriteTestFile(dir_, "server.key", server_->key_pem);
  }

  // A handshake of a client checking `name` against a session of `server`.
  static absl::Status Connect(TlsSession* server_session,
                              const std::string& name) {
    Side client(ClientContext()->NewSession(name));
    Side server(server_session);
    Handshake(&client, &server);
    if (!client.status.ok()) return client.status;
    if (!server.status.ok()) return server.status;
    return absl::OkStatus();
  }

  std::string dir_;
  TlsContext::Config config_;
};

TEST_F(TlsReloadTest, ReloadSwapsTheCertificateForNewSessionsOnly) {
  absl::StatusOr<std::shared_ptr<TlsContext>> created =
      TlsContext::Create(config_);
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<TlsContext> ctx = *created;
  EXPECT_THAT(ctx->Describe(), HasSubstr("CN=server"));

  // Unchanged files: nothing to do.
  absl::StatusOr<bool> reloaded = ctx->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_FALSE(*reloaded);
  EXPECT_EQ(ctx->reloads(), 0u);

  // Sessions from before the reload: one established, one not yet started.
  Side client(ClientContext()->NewSession("localhost"));
  Side established(ctx->NewSession(""));
  Handshake(&client, &established);
  ExpectConnected(client, established);
  std::unique_ptr<TlsSession> early = ctx->NewSession("");

  CertSpec next;
  next.common_name = "server v2";
  next.dns_names = {"renamed.test"};
  const TestKeyPair pair = ca_->Issue(next);
  WriteTestFile(dir_, "server.pem", pair.cert_pem);
  WriteTestFile(dir_, "server.key", pair.key_pem);
  reloaded = ctx->Reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ(ctx->reloads(), 1u);
  EXPECT_THAT(ctx->Describe(), HasSubstr("CN=server v2"));

  // New sessions serve the new certificate.
  std::unique_ptr<TlsSession> fresh = ctx->NewSession("");
  EXPECT_TRUE(Connect(fresh.get(), "renamed.test").ok());
  fresh = ctx->NewSession("");
  EXPECT_THAT(std::string(Connect(fresh.get(), "localhost").message()),
              HasSubstr("hostname mismatch"));
  // The session made before still serves the old one.
  EXPECT_TRUE(Connect(early.get(), "localhost").ok());
  // And the established connection goes on.
  client.Send("after the reload");
  Pump(&client, &established);
  EXPECT_EQ(established.TakePlain(), "after the reload");
  established.Send("still here");
  Pump(&client, &established);
  EXPECT_EQ(client.TakePlain(), "still here");

  // A key that does not match: an error, and the current context stays.
  WriteTestFile(dir_, "server.key", ca_->Issue(next).key_pem);
  reloaded = ctx->Reload();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reloaded.status().message()),
              HasSubstr("does not match"));
  EXPECT_EQ(ctx->reloads(), 1u);
  EXPECT_THAT(ctx->Describe(), HasSubstr("CN=server v2"));
  fresh = ctx->NewSession("");
  EXPECT_TRUE(Connect(fresh.get(), "renamed.test").ok());
  // A missing file: the error names it; still the same context.
  ::unlink(config_.cert_file.c_str());
  reloaded = ctx->Reload();
  ASSERT_FALSE(reloaded.ok());
  EXPECT_THAT(std::string(reloaded.status().message()),
              HasSubstr(config_.cert_file));
  fresh = ctx->NewSession("");
  EXPECT_TRUE(Connect(fresh.get(), "renamed.test").ok());
}

}  // namespace
}  // namespace mrpc
