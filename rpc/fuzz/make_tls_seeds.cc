// Writes tls_server_fuzzer's seed corpus (rpc/fuzz/corpus/tls_server/):
// real client handshake bytes, recorded from client TlsSessions (and bare
// OpenSSL clients, for what TlsContext does not offer) talking to a server
// session in memory, plus a few broken inputs. Also writes tls_seed_ca.h,
// the certificate (public; its key is dropped) of the CA that issued the
// seeds' client certificates, so the fuzzer's server can verify them.
// Handshake bytes are public: no key is written anywhere. The output
// differs on every run (fresh keys and randoms), so this is a separate
// program from make_seeds, whose output is stable. Run once; the output is
// checked in:
//
//   bazel run //rpc/fuzz:make_tls_seeds -- $PWD/rpc/fuzz
//
// Each seed starts with the fuzzer's two piece-size bytes.
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/buffer.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "net/tls_test_certs.h"

namespace {

using mrpc::Buffer;
using mrpc::TlsContext;
using mrpc::TlsSession;

// Long enough that the seeds' client certificates stay valid for years.
constexpr absl::Duration kSeedValidity = absl::Hours(24 * 365 * 20);

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "make_tls_seeds: %s\n", what);
    std::exit(1);
  }
}

void Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  Check(static_cast<bool>(out), "cannot write a seed file");
}

// Two piece-size bytes (0, 0: all at once) and the stream.
std::string Seed(const std::string& stream, char first = 0, char second = 0) {
  return std::string{first, second} + stream;
}

std::shared_ptr<TlsContext> Context(const TlsContext::Config& config,
                                    const TlsContext::Material& material) {
  auto ctx = TlsContext::CreateFromPem(config, material);
  Check(ctx.ok(), "cannot build a TLS context");
  return *std::move(ctx);
}

// A bare OpenSSL client: versions, SNI, ALPN and a certificate as given.
struct RawClient {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string sni;
  std::string alpn;  // Wire format.
  const mrpc::TestKeyPair* cert = nullptr;

  std::unique_ptr<TlsSession> Session(SSL_CTX** ctx_out) const {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, min_version);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    if (max_version < TLS1_2_VERSION) {
      SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    if (cert != nullptr) {
      BIO* bio = BIO_new_mem_buf(cert->cert_pem.data(),
                                 static_cast<int>(cert->cert_pem.size()));
      X509* x509 = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      bio = BIO_new_mem_buf(cert->key_pem.data(),
                            static_cast<int>(cert->key_pem.size()));
      EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      Check(x509 != nullptr && key != nullptr, "bad client certificate");
      Check(SSL_CTX_use_certificate(ctx, x509) == 1 &&
                SSL_CTX_use_PrivateKey(ctx, key) == 1,
            "cannot use the client certificate");
      X509_free(x509);
      EVP_PKEY_free(key);
    }
    if (!alpn.empty()) {
      SSL_CTX_set_alpn_protos(
          ctx, reinterpret_cast<const unsigned char*>(alpn.data()),
          static_cast<unsigned int>(alpn.size()));
    }
    SSL* ssl = SSL_new(ctx);
    SSL_set_connect_state(ssl);
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl, sni.c_str());
    *ctx_out = ctx;  // The caller frees it after the session.
    return std::make_unique<TlsSession>(ssl);
  }
};

// Runs `client` against a fresh session of `server` and returns every byte
// the client sent, up to the end of its handshake (or to a failure).
// `first_flight_only`: just the ClientHello.
std::string Record(TlsSession* client, const TlsContext& server,
                   bool first_flight_only = false) {
  std::unique_ptr<TlsSession> peer = server.NewSession("");
  Buffer to_server, to_client, client_in, server_in, plain;
  bool closed = false;
  Check(client->StartClient(&to_server).ok(), "StartClient failed");
  std::string sent;
  for (int round = 0; round < 10 && to_server.ReadableBytes() > 0; ++round) {
    const std::string bytes = to_server.RetrieveAllAsString();
    sent += bytes;
    if (first_flight_only) break;
    server_in.Append(bytes);
    if (!peer->Receive(&server_in, &plain, &to_client, &closed).ok()) break;
    client_in.Append(to_client.RetrieveAllAsString());
    if (!client->Receive(&client_in, &plain, &to_server, &closed).ok()) {
      sent += to_server.RetrieveAllAsString();  // Its alert.
      break;
    }
  }
  return sent;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_tls_seeds <rpc/fuzz directory>\n");
    return 2;
  }
  const std::string root = argv[1];
  const std::string dir = root + "/corpus/tls_server";

  const mrpc::TestCa ca =
      mrpc::TestCa::Create("mrpc fuzz seed CA", kSeedValidity);
  const mrpc::TestCa stranger_ca = mrpc::TestCa::Create("stranger CA");
  mrpc::CertSpec server_spec;
  server_spec.common_name = "server";
  server_spec.dns_names = {"localhost", "echo.test"};
  server_spec.ip_addresses = {"127.0.0.1"};
  const mrpc::TestKeyPair server_pair = ca.Issue(server_spec);
  mrpc::CertSpec client_spec;
  client_spec.common_name = "client-a";
  client_spec.organization = "Example";
  client_spec.dns_names = {"client-a.test"};
  client_spec.uris = {"spiffe://test/ns/a/sa/client"};
  client_spec.ip_addresses = {"10.1.2.3"};
  client_spec.not_after = absl::Now() + kSeedValidity;
  const mrpc::TestKeyPair client_pair = ca.Issue(client_spec);
  const mrpc::TestKeyPair stranger_pair = stranger_ca.Issue(client_spec);

  TlsContext::Config server_config;
  server_config.role = TlsContext::Role::kServer;
  // Like the fuzzer's server: client certificates asked for, from `ca`.
  const std::shared_ptr<TlsContext> server =
      Context(server_config,
              {server_pair.cert_pem, server_pair.key_pem, ca.cert_pem()});
  TlsContext::Config client_config;
  client_config.role = TlsContext::Role::kClient;
  const std::shared_ptr<TlsContext> client =
      Context(client_config, {"", "", ca.cert_pem()});
  const std::shared_ptr<TlsContext> client_with_cert =
      Context(client_config,
              {client_pair.cert_pem, client_pair.key_pem, ca.cert_pem()});

  // mrpc's own client: TLS 1.2-1.3, SNI, ALPN "mrpc" and "http/1.1".
  const std::string hello13 =
      Record(client->NewSession("localhost").get(), *server, true);
  Write(dir + "/tls13_hello_sni_alpn", Seed(hello13));
  Write(dir + "/tls13_hello_pieces", Seed(hello13, 1, 7));
  // An IP literal: no SNI.
  Write(dir + "/tls13_hello_ip",
        Seed(Record(client->NewSession("127.0.0.1").get(), *server, true)));
  // mrpc's client with a certificate: its whole flight (TLS 1.3: encrypted
  // after the ClientHello).
  Write(dir + "/tls13_client_cert_flight",
        Seed(Record(client_with_cert->NewSession("localhost").get(), *server)));

  struct RawSeed {
    const char* name;
    RawClient client;
    bool whole_flight;
    char first, second;
  };
  const RawSeed raw_seeds[] = {
      {"tls12_only_hello",
       {TLS1_2_VERSION, TLS1_2_VERSION, "localhost", "", nullptr},
       false,
       0,
       0},
      {"tls13_only_hello_bare",
       {TLS1_3_VERSION, TLS1_3_VERSION, "", "", nullptr},
       false,
       0,
       0},
      {"alpn_h2_http11",
       {TLS1_2_VERSION, TLS1_3_VERSION, "echo.test",
        std::string("\x02h2\x08http/1.1", 12), nullptr},
       false,
       0,
       0},
      {"alpn_unknown_only",
       {TLS1_2_VERSION, TLS1_3_VERSION, "echo.test", std::string("\x02h2", 3),
        nullptr},
       false,
       0,
       0},
      // TLS 1.2 with a certificate: Certificate, ClientKeyExchange and
      // CertificateVerify travel in the clear, so the server parses and
      // verifies the chain.
      {"tls12_client_cert_flight",
       {TLS1_2_VERSION, TLS1_2_VERSION, "localhost", "", &client_pair},
       true,
       0,
       0},
      {"tls12_client_cert_flight_pieces",
       {TLS1_2_VERSION, TLS1_2_VERSION, "localhost", "", &client_pair},
       true,
       '\x0d',
       '\x40'},
      {"tls12_stranger_cert_flight",
       {TLS1_2_VERSION, TLS1_2_VERSION, "localhost", "", &stranger_pair},
       true,
       0,
       0},
      {"tls13_client_cert_flight_raw",
       {TLS1_3_VERSION, TLS1_3_VERSION, "", "", &client_pair},
       true,
       0,
       0},
      // Refused by the server: below TLS 1.2.
      {"tls11_hello",
       {TLS1_1_VERSION, TLS1_1_VERSION, "localhost", "", nullptr},
       false,
       0,
       0},
  };
  for (const RawSeed& seed : raw_seeds) {
    SSL_CTX* ctx = nullptr;
    std::unique_ptr<TlsSession> session = seed.client.Session(&ctx);
    const std::string bytes =
        Record(session.get(), *server, !seed.whole_flight);
    session.reset();
    SSL_CTX_free(ctx);
    Write(dir + "/" + seed.name, Seed(bytes, seed.first, seed.second));
  }

  // Broken ones.
  Write(dir + "/record_header_too_long",
        Seed(std::string("\x16\x03\x01\xff\xff", 5)));
  Write(
      dir + "/record_header_16k_stalled",
      Seed(std::string("\x16\x03\x01\x40\x00", 5) + std::string(100, '\x01')));
  Write(dir + "/hello_cut_short", Seed(hello13.substr(0, hello13.size() / 2)));
  Write(dir + "/hello_then_garbage",
        Seed(hello13 + std::string("\x17\x03\x03\x00\x20", 5) +
             std::string(32, '\xa5')));
  Write(dir + "/close_notify_first",
        Seed(std::string("\x15\x03\x01\x00\x02\x01\x00", 7)));
  Write(dir + "/fatal_alert_first",
        Seed(std::string("\x15\x03\x01\x00\x02\x02\x28", 7)));
  Write(dir + "/ccs_first", Seed(std::string("\x14\x03\x03\x00\x01\x01", 6)));

  // The seed CA's certificate, for the fuzzer's trust store.
  std::string header =
      "// Generated by make_tls_seeds (rpc/fuzz/make_tls_seeds.cc); do not "
      "edit.\n"
      "// The certificate of the CA that issued the client certificates in\n"
      "// corpus/tls_server/*_flight*: public, its key was never written.\n"
      "#ifndef MRPC_RPC_FUZZ_TLS_SEED_CA_H_\n"
      "#define MRPC_RPC_FUZZ_TLS_SEED_CA_H_\n\n"
      "namespace mrpc {\nnamespace fuzz {\n\n"
      "inline constexpr char kTlsSeedCaPem[] = R\"pem(";
  absl::StrAppend(&header, ca.cert_pem(),
                  ")pem\";\n\n}  // namespace fuzz\n}  // namespace mrpc\n\n"
                  "#endif  // MRPC_RPC_FUZZ_TLS_SEED_CA_H_\n");
  Write(root + "/tls_seed_ca.h", header);
  std::printf("TLS seeds written under %s, CA in %s/tls_seed_ca.h\n",
              dir.c_str(), root.c_str());
  return 0;
}
