#include "net/tls_session.h"

#include <arpa/inet.h>
#include <glog/logging.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace mrpc {

// A BIO whose reads come from the session's bio_in_ and whose writes go to
// its bio_out_: OpenSSL's record layer runs on mrpc's buffers.
struct TlsBio {
  static int Read(BIO* bio, char* dst, int len) {
    auto* session = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    Buffer* in = session->bio_in_;
    if (in == nullptr || in->ReadableBytes() == 0) {
      BIO_set_retry_read(bio);  // "No more yet": SSL_ERROR_WANT_READ.
      return -1;
    }
    const size_t n = std::min(static_cast<size_t>(len), in->ReadableBytes());
    std::memcpy(dst, in->Peek(), n);
    in->Retrieve(n);
    return static_cast<int>(n);
  }

  static int Write(BIO* bio, const char* src, int len) {
    auto* session = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (session->bio_out_ == nullptr) return -1;
    session->bio_out_->Append(src, static_cast<size_t>(len));
    return len;
  }

  static long Ctrl(BIO*, int cmd, long, void*) {  // NOLINT(runtime/int)
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }

  static int Create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }

  static const BIO_METHOD* Method() {
    static const BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                   "mrpc buffer");
      CHECK(m != nullptr);
      BIO_meth_set_write(m, &TlsBio::Write);
      BIO_meth_set_read(m, &TlsBio::Read);
      BIO_meth_set_ctrl(m, &TlsBio::Ctrl);
      BIO_meth_set_create(m, &TlsBio::Create);
      return m;
    }();
    return method;
  }
};

namespace {

std::string NameToString(X509_NAME* name) {
  if (name == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int)
  std::string out(data, n > 0 ? static_cast<size_t>(n) : 0);
  BIO_free(bio);
  return out;
}

std::string Asn1String(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

std::string IpToString(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {0};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  if (len == 4) inet_ntop(AF_INET, bytes, text, sizeof text);
  if (len == 16) inet_ntop(AF_INET6, bytes, text, sizeof text);
  return text;
}

}  // namespace

TlsSession::TlsSession(SSL* ssl) : ssl_(ssl) {
  BIO* bio = BIO_new(TlsBio::Method());
  CHECK(bio != nullptr);
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // SSL owns it (one reference for both).
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

absl::Status TlsSession::StartClient(Buffer* wire_out) {
  bio_in_ = nullptr;
  bio_out_ = wire_out;
  absl::Status status = Handshake();
  bio_out_ = nullptr;
  return status;
}

absl::Status TlsSession::Handshake() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    handshake_done_ = true;
    CapturePeer();
    return absl::OkStatus();
  }
  if (SSL_get_error(ssl_, ret) == SSL_ERROR_WANT_READ) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("TLS handshake failed: ", ErrorString(ret)));
}

absl::Status TlsSession::Receive(Buffer* wire_in, Buffer* plain,
                                 Buffer* wire_out, bool* closed) {
  bio_in_ = wire_in;
  bio_out_ = wire_out;
  absl::Status status;
  if (!handshake_done_) status = Handshake();
  while (status.ok() && handshake_done_) {
    // Room for one whole record's plaintext, so each SSL_read takes one.
    plain->EnsureWritable(16 * 1024);
    size_t n = 0;
    ERR_clear_error();
    const int ret =
        SSL_read_ex(ssl_, plain->BeginWrite(), plain->WritableBytes(), &n);
    if (ret == 1) {
      plain->HasWritten(n);
      continue;
    }
    const int err = SSL_get_error(ssl_, ret);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_ZERO_RETURN) {
      *closed = true;
      break;
    }
    status = absl::UnavailableError(ErrorString(ret));
  }
  bio_in_ = nullptr;
  bio_out_ = nullptr;
  return status;
}

absl::Status TlsSession::Send(const char* data, size_t n, Buffer* wire_out) {
  DCHECK(handshake_done_);
  bio_out_ = wire_out;
  absl::Status status;
  while (n > 0) {
    size_t written = 0;
    ERR_clear_error();
    const int ret = SSL_write_ex(ssl_, data, n, &written);
    if (ret != 1) {
      status = absl::UnavailableError(ErrorString(ret));
      break;
    }
    data += written;
    n -= written;
  }
  bio_out_ = nullptr;
  return status;
}

void TlsSession::SendCloseNotify(Buffer* wire_out) {
  if (close_sent_ || !handshake_done_) return;
  close_sent_ = true;
  bio_out_ = wire_out;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // Writes the alert; the peer's reply is not awaited.
  ERR_clear_error();
  bio_out_ = nullptr;
}

void TlsSession::CapturePeer() {
  peer_.protocol = SSL_get_version(ssl_);
  peer_.cipher = SSL_get_cipher_name(ssl_);
  if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name))
    peer_.server_name = sni;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  if (alpn != nullptr)
    peer_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) return;
  peer_.verified = true;
  peer_.subject = NameToString(X509_get_subject_name(cert));
  peer_.issuer = NameToString(X509_get_issuer_name(cert));
  X509_NAME* subject = X509_get_subject_name(cert);
  const int cn = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (cn >= 0) {
    peer_.common_name =
        Asn1String(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, cn)));
  }
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS:
        peer_.dns_names.push_back(Asn1String(name->d.dNSName));
        break;
      case GEN_URI:
        peer_.uris.push_back(Asn1String(name->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD:
        peer_.ip_addresses.push_back(IpToString(name->d.iPAddress));
        break;
      default:
        break;
    }
  }
  GENERAL_NAMES_free(names);
}

std::string TlsSession::ErrorString(int ret) {
  std::string out;
  const int err = SSL_get_error(ssl_, ret);
  // The first error queued is the cause; later ones are its consequences.
  const unsigned long code = ERR_peek_error();  // NOLINT(runtime/int)
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    out = reason != nullptr ? reason : absl::StrCat("error ", code);
  } else if (err == SSL_ERROR_SYSCALL) {
    out = "unexpected end of the TLS stream";
  } else if (err == SSL_ERROR_ZERO_RETURN) {
    // Outside Receive()'s reads (where it sets *closed): mid-handshake.
    out = "the peer closed the TLS session (close_notify)";
  } else {
    out = absl::StrCat("TLS error ", err);
  }
  const long verify = SSL_get_verify_result(ssl_);  // NOLINT(runtime/int)
  if (verify != X509_V_OK) {
    absl::StrAppend(&out, " (", X509_verify_cert_error_string(verify), ")");
  }
  ERR_clear_error();
  return out;
}

}  // namespace mrpc
