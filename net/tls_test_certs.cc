#include "net/tls_test_certs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

template <auto kFree>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using Asn1IntegerPtr =
    std::unique_ptr<ASN1_INTEGER, OpenSslFree<ASN1_INTEGER_free>>;
using ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using GeneralNamePtr =
    std::unique_ptr<GENERAL_NAME, OpenSslFree<GENERAL_NAME_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;

// Drains OpenSSL's thread-local error queue into one line, for a CHECK
// message.
std::string OpenSslErrors() {
  std::string text;
  char buffer[256];
  while (const unsigned long code = ERR_get_error()) {
    ERR_error_string_n(code, buffer, sizeof buffer);
    absl::StrAppend(&text, text.empty() ? "" : "; ", buffer);
  }
  return text.empty() ? "no OpenSSL error queued" : text;
}

KeyPtr NewP256Key() {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  CHECK(key != nullptr) << "EC P-256 keygen: " << OpenSslErrors();
  return key;
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  CHECK(bio != nullptr) << OpenSslErrors();
  CHECK_EQ(PEM_write_bio_X509(bio.get(), cert), 1)
      << "PEM_write_bio_X509: " << OpenSslErrors();
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size);
}

// PKCS#8, unencrypted: PEM_write_bio_PrivateKey's format in OpenSSL 3.
std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  CHECK(bio != nullptr) << OpenSslErrors();
  CHECK_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                    nullptr, nullptr),
           1)
      << "PEM_write_bio_PrivateKey: " << OpenSslErrors();
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size);
}

X509Ptr CertFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CHECK(bio != nullptr) << OpenSslErrors();
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  CHECK(cert != nullptr) << "PEM_read_bio_X509: " << OpenSslErrors();
  return cert;
}

KeyPtr KeyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CHECK(bio != nullptr) << OpenSslErrors();
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  CHECK(key != nullptr) << "PEM_read_bio_PrivateKey: " << OpenSslErrors();
  return key;
}

// A random 128-bit number: RFC 5280 allows up to 20 octets and wants serials
// unpredictable, and certificates from two runs must not share one (a peer
// may cache by issuer and serial).
void SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  CHECK_EQ(RAND_bytes(bytes, sizeof bytes), 1) << OpenSslErrors();
  bytes[0] |= 0x80;  // Full width, and never zero (RFC 5280 forbids zero).
  BignumPtr number(BN_bin2bn(bytes, sizeof bytes, nullptr));
  CHECK(number != nullptr) << OpenSslErrors();
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(number.get(), nullptr));
  CHECK(serial != nullptr) << OpenSslErrors();
  CHECK_EQ(X509_set_serialNumber(cert, serial.get()), 1) << OpenSslErrors();
}

void AddNameEntry(X509_NAME* name, const char* field,
                  const std::string& value) {
  if (value.empty()) return;
  CHECK_EQ(X509_NAME_add_entry_by_txt(
               name, field, MBSTRING_UTF8,
               reinterpret_cast<const unsigned char*>(value.data()),
               static_cast<int>(value.size()), -1, 0),
           1)
      << field << "=" << value << ": " << OpenSslErrors();
}

// `value` in openssl.cnf syntax, e.g. "critical,CA:TRUE".
void AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  CHECK(extension != nullptr)
      << OBJ_nid2sn(nid) << "=" << value << ": " << OpenSslErrors();
  CHECK_EQ(X509_add_ext(cert, extension.get(), -1), 1)
      << OBJ_nid2sn(nid) << ": " << OpenSslErrors();
}

// Appends a name of `type` whose value is `value`, which it takes.
void PushName(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
  CHECK(value != nullptr) << OpenSslErrors();
  GeneralNamePtr name(GENERAL_NAME_new());
  if (name == nullptr) ASN1_STRING_free(value);
  CHECK(name != nullptr) << OpenSslErrors();
  GENERAL_NAME_set0_value(name.get(), type, value);
  CHECK_GT(sk_GENERAL_NAME_push(names, name.get()), 0) << OpenSslErrors();
  name.release();  // names owns it now
}

// For DNS and URI names.
ASN1_IA5STRING* Ia5String(const std::string& text) {
  ASN1_IA5STRING* value = ASN1_IA5STRING_new();
  CHECK(value != nullptr) << OpenSslErrors();
  CHECK_EQ(ASN1_STRING_set(value, text.data(), static_cast<int>(text.size())),
           1)
      << OpenSslErrors();
  return value;
}

// Built from GENERAL_NAMEs rather than the "DNS:a,IP:b" config string, which
// would split a name at a comma and report a bad IP only as a parse error.
void AddSubjectAltNames(X509* cert, const CertSpec& spec, bool critical) {
  if (spec.dns_names.empty() && spec.ip_addresses.empty() &&
      spec.uris.empty()) {
    return;
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  CHECK(names != nullptr) << OpenSslErrors();
  for (const std::string& dns : spec.dns_names) {
    PushName(names.get(), GEN_DNS, Ia5String(dns));
  }
  for (const std::string& ip : spec.ip_addresses) {
    ASN1_OCTET_STRING* address = a2i_IPADDRESS(ip.c_str());
    CHECK(address != nullptr) << "not an IPv4 or IPv6 address: '" << ip << "'";
    PushName(names.get(), GEN_IPADD, address);
  }
  for (const std::string& uri : spec.uris) {
    PushName(names.get(), GEN_URI, Ia5String(uri));
  }
  CHECK_EQ(X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(),
                             critical ? 1 : 0, X509V3_ADD_DEFAULT),
           1)
      << "subjectAltName: " << OpenSslErrors();
}

enum class Kind { kRootCa, kIntermediateCa, kLeaf };

// Makes a certificate of `kind` for `spec` with a fresh key, signed by
// `issuer_key` as `issuer` (both null for a self-signed root).
TestKeyPair MakeCert(Kind kind, const CertSpec& spec, X509* issuer,
                     EVP_PKEY* issuer_key) {
  CHECK_EQ(issuer == nullptr, kind == Kind::kRootCa);
  CHECK_EQ(issuer_key == nullptr, kind == Kind::kRootCa);
  CHECK(spec.not_before < spec.not_after)
      << "not_before " << spec.not_before << " is not before not_after "
      << spec.not_after;
  KeyPtr key = NewP256Key();
  X509Ptr cert(X509_new());
  CHECK(cert != nullptr) << OpenSslErrors();
  CHECK_EQ(X509_set_version(cert.get(), X509_VERSION_3), 1) << OpenSslErrors();
  SetRandomSerial(cert.get());
  CHECK(ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                      absl::ToTimeT(spec.not_before)) != nullptr)
      << "not_before " << spec.not_before << ": " << OpenSslErrors();
  CHECK(ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                      absl::ToTimeT(spec.not_after)) != nullptr)
      << "not_after " << spec.not_after << ": " << OpenSslErrors();
  X509_NAME* subject = X509_get_subject_name(cert.get());
  AddNameEntry(subject, "O", spec.organization);
  AddNameEntry(subject, "CN", spec.common_name);
  CHECK_EQ(X509_set_issuer_name(
               cert.get(),
               X509_get_subject_name(issuer != nullptr ? issuer : cert.get())),
           1)
      << OpenSslErrors();
  CHECK_EQ(X509_set_pubkey(cert.get(), key.get()), 1) << OpenSslErrors();

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert.get(), cert.get(),
                 nullptr, nullptr, 0);
  if (kind == Kind::kLeaf) {
    AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
    AddExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  } else {
    AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(cert.get(), &ctx, NID_key_usage,
                 "critical,keyCertSign,cRLSign");
  }
  AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  // Lets a verifier pick the right issuer among CAs that share a name.
  if (issuer != nullptr) {
    AddExtension(cert.get(), &ctx, NID_authority_key_identifier,
                 "keyid:always");
  }
  // RFC 5280: with an empty subject, the SANs are the identity and critical.
  AddSubjectAltNames(cert.get(), spec,
                     /*critical=*/X509_NAME_entry_count(subject) == 0);

  CHECK_GT(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key.get(),
                     EVP_sha256()),
           0)
      << "X509_sign: " << OpenSslErrors();
  return TestKeyPair{ToPem(cert.get()), ToPem(key.get())};
}

CertSpec CaSpec(const std::string& common_name, absl::Duration validity) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.not_after = spec.not_before + validity;
  return spec;
}

}  // namespace

TestCa TestCa::Create(const std::string& common_name, absl::Duration validity) {
  TestKeyPair pair =
      MakeCert(Kind::kRootCa, CaSpec(common_name, validity), nullptr, nullptr);
  return TestCa(std::move(pair.cert_pem), std::move(pair.key_pem));
}

TestCa TestCa::FromPem(std::string cert_pem, std::string key_pem) {
  X509Ptr cert = CertFromPem(cert_pem);
  KeyPtr key = KeyFromPem(key_pem);
  CHECK_EQ(X509_check_ca(cert.get()), 1) << "not a CA certificate";
  CHECK_EQ(X509_check_private_key(cert.get(), key.get()), 1)
      << "the key is not the CA certificate's key: " << OpenSslErrors();
  return TestCa(std::move(cert_pem), std::move(key_pem));
}

TestKeyPair TestCa::Issue(const CertSpec& spec) const {
  X509Ptr cert = CertFromPem(cert_pem_);
  KeyPtr key = KeyFromPem(key_pem_);
  return MakeCert(Kind::kLeaf, spec, cert.get(), key.get());
}

TestCa TestCa::IssueIntermediate(const std::string& common_name,
                                 absl::Duration validity) const {
  X509Ptr cert = CertFromPem(cert_pem_);
  KeyPtr key = KeyFromPem(key_pem_);
  TestKeyPair pair =
      MakeCert(Kind::kIntermediateCa, CaSpec(common_name, validity), cert.get(),
               key.get());
  return TestCa(std::move(pair.cert_pem), std::move(pair.key_pem));
}

std::string WriteTestFile(const std::string& dir, const std::string& name,
                          const std::string& content) {
  const std::string path = absl::StrCat(dir, "/", name);
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  PCHECK(fd >= 0) << "open " << path;
  // O_CREAT's mode applies only to a new file; a key must not stay readable.
  PCHECK(::fchmod(fd, 0600) == 0) << "chmod " << path;
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    PCHECK(n > 0) << "write " << path;
    written += static_cast<size_t>(n);
  }
  PCHECK(::close(fd) == 0) << "close " << path;
  return path;
}

std::string MakeTestDir(const std::string& prefix) {
  CHECK(prefix.find('/') == std::string::npos) << prefix;
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(
      tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/", prefix, ".XXXXXX");
  PCHECK(::mkdtemp(pattern.data()) != nullptr) << "mkdtemp " << pattern;
  return pattern;
}

TestCertFiles WriteTestCerts(const std::string& dir,
                             const std::vector<std::string>& server_names,
                             const std::string& client_name,
                             absl::Duration valid_for) {
  return WriteTestCerts(dir, TestCa::Create("mrpc test CA", valid_for),
                        server_names, client_name, valid_for);
}

TestCertFiles WriteTestCerts(const std::string& dir, const TestCa& ca,
                             const std::vector<std::string>& server_names,
                             const std::string& client_name,
                             absl::Duration valid_for) {
  CHECK(!server_names.empty()) << "no server names";
  CHECK(!client_name.empty()) << "no client name";

  CertSpec server;
  server.common_name = server_names.front();
  server.not_after = server.not_before + valid_for;
  for (const std::string& name : server_names) {
    unsigned char address[sizeof(in6_addr)];
    const bool is_ip = ::inet_pton(AF_INET, name.c_str(), address) == 1 ||
                       ::inet_pton(AF_INET6, name.c_str(), address) == 1;
    (is_ip ? server.ip_addresses : server.dns_names).push_back(name);
  }
  const TestKeyPair server_pair = ca.Issue(server);

  CertSpec client;
  client.common_name = client_name;
  client.not_after = client.not_before + valid_for;
  const TestKeyPair client_pair = ca.Issue(client);

  TestCertFiles files;
  files.ca_cert = WriteTestFile(dir, "ca.pem", ca.cert_pem());
  files.ca_key = WriteTestFile(dir, "ca.key", ca.key_pem());
  files.server_cert = WriteTestFile(dir, "server.pem", server_pair.cert_pem);
  files.server_key = WriteTestFile(dir, "server.key", server_pair.key_pem);
  files.client_cert = WriteTestFile(dir, "client.pem", client_pair.cert_pem);
  files.client_key = WriteTestFile(dir, "client.key", client_pair.key_pem);
  return files;
}

}  // namespace mrpc
