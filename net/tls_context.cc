#include "net/tls_context.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/tls_session.h"

namespace mrpc {
namespace {

// ALPN protocols in wire format: what a client offers, and what a server
// accepts (its preference order).
constexpr unsigned char kAlpn[] = "\x04mrpc\x08http/1.1";

std::string OpenSslError() {
  const unsigned long code = ERR_peek_last_error();  // NOLINT(runtime/int)
  std::string out = code == 0 ? "unknown error"
                    : ERR_reason_error_string(code) != nullptr
                        ? ERR_reason_error_string(code)
                        : absl::StrCat("error ", code);
  ERR_clear_error();
  return out;
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     const char* what) {
  if (path.empty()) return std::string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the TLS ", what, " file ", path));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::Status LoadCertChain(SSL_CTX* ctx, const std::string& pem,
                           const std::string& file) {
  BioPtr bio = MemBio(pem);
  X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM certificate in ", file, ": ", OpenSslError()));
  }
  const int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (ok != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad certificate in ", file, ": ", OpenSslError()));
  }
  while (X509* extra =
             PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return absl::InvalidArgumentError(absl::StrCat(
          "bad chain certificate in ", file, ": ", OpenSslError()));
    }
  }
  ERR_clear_error();  // The loop ends on "no start line".
  return absl::OkStatus();
}

absl::Status LoadKey(SSL_CTX* ctx, const std::string& pem,
                     const std::string& file) {
  BioPtr bio = MemBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM private key in ", file, ": ", OpenSslError()));
  }
  const int ok = SSL_CTX_use_PrivateKey(ctx, key);
  EVP_PKEY_free(key);
  if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the private key in ", file,
                     " does not match the certificate: ", OpenSslError()));
  }
  return absl::OkStatus();
}

absl::Status LoadCas(SSL_CTX* ctx, const std::string& pem,
                     const std::string& file, bool server) {
  BioPtr bio = MemBio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ++count;
    X509_STORE_add_cert(store, ca);
    // A server names the CAs it accepts in its certificate request.
    if (server) SSL_CTX_add_client_CA(ctx, ca);
    X509_free(ca);
  }
  ERR_clear_error();
  if (count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no PEM certificate in the CA file ", file));
  }
  return absl::OkStatus();
}

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len,
               const unsigned char* in, unsigned int in_len, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpn, sizeof kAlpn - 1, in,
                            in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // Go on without ALPN.
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> BuildContext(
    const TlsContext::Config& config, const TlsContext::Material& material) {
  const bool server = config.role == TlsContext::Role::kServer;
  std::shared_ptr<SSL_CTX> ctx(
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()),
      SSL_CTX_free);
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("SSL_CTX_new failed: ", OpenSslError()));
  }
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Idle connections give their record buffers back.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (server && material.cert_pem.empty()) {
    return absl::InvalidArgumentError("a TLS server needs a certificate file");
  }
  if (material.cert_pem.empty() != material.key_pem.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and its private key, or neither");
  }
  if (!material.cert_pem.empty()) {
    absl::Status status = LoadCertChain(c, material.cert_pem, config.cert_file);
    if (status.ok()) status = LoadKey(c, material.key_pem, config.key_file);
    if (!status.ok()) return status;
  }
  if (!material.ca_pem.empty()) {
    absl::Status status = LoadCas(c, material.ca_pem, config.ca_file, server);
    if (!status.ok()) return status;
  } else if (!server && SSL_CTX_set_default_verify_paths(c) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot load the system's trusted CAs: ", OpenSslError()));
  }
  if (server) {
    if (config.require_client_cert && material.ca_pem.empty()) {
      return absl::InvalidArgumentError(
          "require_client_cert needs a CA file to verify clients against");
    }
    int mode = SSL_VERIFY_NONE;
    if (!material.ca_pem.empty()) {
      mode = SSL_VERIFY_PEER;
      if (config.require_client_cert) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(c, mode, nullptr);
    // Resumed sessions keep their verified client; OpenSSL insists on an id.
    static constexpr unsigned char kSessionContext[] = "mrpc";
    SSL_CTX_set_session_id_context(c, kSessionContext,
                                   sizeof kSessionContext - 1);
    SSL_CTX_set_alpn_select_cb(c, SelectAlpn, nullptr);
  } else {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_alpn_protos(c, kAlpn, sizeof kAlpn - 1);
  }
  return ctx;
}

absl::StatusOr<TlsContext::Material> ReadMaterial(
    const TlsContext::Config& config) {
  TlsContext::Material material;
  absl::StatusOr<std::string> cert = ReadFile(config.cert_file, "certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(config.key_file, "key");
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> ca = ReadFile(config.ca_file, "CA");
  if (!ca.ok()) return ca.status();
  material.cert_pem = *std::move(cert);
  material.key_pem = *std::move(key);
  material.ca_pem = *std::move(ca);
  return material;
}

bool IsIpLiteral(absl::string_view name) {
  const std::string text(name);
  unsigned char bytes[16];
  return inet_pton(AF_INET, text.c_str(), bytes) == 1 ||
         inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

}  // namespace

TlsContext::TlsContext(const Config& config, const Material& material,
                       std::shared_ptr<SSL_CTX> ctx, bool from_files)
    : config_(config),
      from_files_(from_files),
      material_(material),
      ctx_(std::move(ctx)) {}

TlsContext::~TlsContext() = default;

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(
    const Config& config) {
  absl::StatusOr<Material> material = ReadMaterial(config);
  if (!material.ok()) return material.status();
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx =
      BuildContext(config, *material);
  if (!ctx.ok()) return ctx.status();
  return std::shared_ptr<TlsContext>(
      new TlsContext(config, *material, *std::move(ctx), true));
}

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::CreateFromPem(
    const Config& config, const Material& material) {
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx = BuildContext(config, material);
  if (!ctx.ok()) return ctx.status();
  return std::shared_ptr<TlsContext>(
      new TlsContext(config, material, *std::move(ctx), false));
}

std::unique_ptr<TlsSession> TlsContext::NewSession(
    absl::string_view server_name) const {
  std::shared_ptr<SSL_CTX> ctx;
  {
    MutexLock lock(&mutex_);
    ctx = ctx_;
  }
  SSL* ssl = SSL_new(ctx.get());  // Holds its own reference to ctx.
  CHECK(ssl != nullptr) << "SSL_new: " << OpenSslError();
  if (config_.role == Role::kServer) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    if (!server_name.empty()) {
      const std::string name(server_name);
      if (IsIpLiteral(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
      } else {
        SSL_set_tlsext_host_name(ssl, name.c_str());
        SSL_set1_host(ssl, name.c_str());
      }
    }
  }
  return std::make_unique<TlsSession>(ssl);
}

absl::StatusOr<bool> TlsContext::Reload() {
  if (!from_files_) return false;
  absl::StatusOr<Material> material = ReadMaterial(config_);
  if (!material.ok()) return material.status();
  {
    MutexLock lock(&mutex_);
    if (*material == material_) return false;
  }
  absl::StatusOr<std::shared_ptr<SSL_CTX>> ctx =
      BuildContext(config_, *material);
  if (!ctx.ok()) return ctx.status();
  MutexLock lock(&mutex_);
  material_ = *std::move(material);
  ctx_ = *std::move(ctx);
  ++reloads_;
  return true;
}

uint64_t TlsContext::reloads() const {
  MutexLock lock(&mutex_);
  return reloads_;
}

std::string TlsContext::Describe() const {
  std::shared_ptr<SSL_CTX> ctx;
  {
    MutexLock lock(&mutex_);
    ctx = ctx_;
  }
  X509* cert = SSL_CTX_get0_certificate(ctx.get());
  if (cert == nullptr) return "no certificate";
  char subject[256] = {0};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
  BIO* bio = BIO_new(BIO_s_mem());
  ASN1_TIME_print(bio, X509_get0_notAfter(cert));
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string expires(data, n > 0 ? static_cast<size_t>(n) : 0);
  BIO_free(bio);
  return absl::StrCat("certificate ", subject, ", expires ", expires);
}

}  // namespace mrpc
