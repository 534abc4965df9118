#include "net/tls_test_certs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

extern char** environ;

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
using GeneralNamesPtr =
    std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX_free>>;
using StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
// sk_X509_free is a macro; the stack does not own its certificates.
struct X509StackFree {
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

X509Ptr ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  CHECK(cert != nullptr) << pem;
  return cert;
}

KeyPtr ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  CHECK(key != nullptr) << pem;
  return key;
}

// X509_verify_cert's result: X509_V_OK or the X509_V_ERR_* that failed it.
// `untrusted` are chain certificates the peer would send along.
int Verify(const std::string& leaf_pem, const std::vector<std::string>& roots,
           const std::vector<std::string>& untrusted = {},
           int purpose = X509_PURPOSE_SSL_SERVER, int* chain_length = nullptr) {
  StorePtr store(X509_STORE_new());
  for (const std::string& root : roots) {
    CHECK_EQ(X509_STORE_add_cert(store.get(), ParseCert(root).get()), 1);
  }
  std::vector<X509Ptr> owned;
  X509StackPtr chain(sk_X509_new_null());
  for (const std::string& pem : untrusted) {
    owned.push_back(ParseCert(pem));
    CHECK_GT(sk_X509_push(chain.get(), owned.back().get()), 0);
  }
  X509Ptr leaf = ParseCert(leaf_pem);
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  CHECK_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain.get()),
           1);
  CHECK_EQ(X509_STORE_CTX_set_purpose(ctx.get(), purpose), 1);
  const int ok = X509_verify_cert(ctx.get());
  const int error = X509_STORE_CTX_get_error(ctx.get());
  if (chain_length != nullptr) {
    *chain_length = sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get()));
  }
  CHECK_EQ(ok == 1, error == X509_V_OK) << ok << " " << error;
  return error;
}

std::string ErrorName(int error) {
  return X509_verify_cert_error_string(error);
}

struct Sans {
  std::vector<std::string> dns, ip, uri;
  int other = 0;  // any other GENERAL_NAME type
};

// The certificate's subjectAltName entries, in order, IPs as text.
Sans ParseSans(X509* cert, bool* critical = nullptr) {
  Sans sans;
  int crit = -1;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr)));
  if (critical != nullptr) *critical = crit == 1;
  if (names == nullptr) return sans;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const ASN1_STRING* value =
        static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
    const std::string bytes(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
        ASN1_STRING_length(value));
    if (type == GEN_DNS) {
      sans.dns.push_back(bytes);
    } else if (type == GEN_URI) {
      sans.uri.push_back(bytes);
    } else if (type == GEN_IPADD) {
      char text[INET6_ADDRSTRLEN] = "";
      CHECK(bytes.size() == 4 || bytes.size() == 16) << bytes.size();
      CHECK(inet_ntop(bytes.size() == 4 ? AF_INET : AF_INET6, bytes.data(),
                      text, sizeof text) != nullptr);
      sans.ip.push_back(text);
    } else {
      ++sans.other;
    }
  }
  return sans;
}

std::string SubjectEntry(X509* cert, int nid) {
  char text[256] = "";
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), nid,
                                          text, sizeof text);
  return n < 0 ? "" : std::string(text, n);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Runs argv[0] with argv, stdout and stderr into `output`; returns the exit
// status (-1 if it did not exit normally).
int RunCommand(const std::vector<std::string>& args, std::string* output) {
  const std::string out_path = WriteTestFile(MakeTestDir("run"), "output", "");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_TRUNC, 0);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& arg : copy) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CHECK_EQ(spawned, 0) << args[0] << ": " << std::strerror(spawned);
  int status = 0;
  CHECK_EQ(::waitpid(pid, &status, 0), pid);
  *output = ReadFile(out_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

constexpr char kOpenSsl[] = "/usr/bin/openssl";

class TlsTestCertsTest : public ::testing::Test {
 protected:
  // One CA for the tests that need no other: P-256 keys take ~1 ms each, but
  // there is no reason to make more than a test looks at.
  static void SetUpTestSuite() { ca_ = new TestCa(TestCa::Create("test CA")); }
  static void TearDownTestSuite() {
    delete ca_;
    ca_ = nullptr;
  }
  static const TestCa* ca_;
};

const TestCa* TlsTestCertsTest::ca_ = nullptr;

TEST_F(TlsTestCertsTest, CaIsSelfSignedP256CaWithItsKey) {
  X509Ptr cert = ParseCert(ca_->cert_pem());
  KeyPtr key = ParseKey(ca_->key_pem());
  EXPECT_EQ(SubjectEntry(cert.get(), NID_commonName), "test CA");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()),
                          X509_get_issuer_name(cert.get())),
            0);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_NE(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN, 0u);
  EXPECT_NE(X509_get_key_usage(cert.get()) & KU_CRL_SIGN, 0u);
  EXPECT_EQ(X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE, 0u);
  // basicConstraints is critical.
  int critical = -1;
  BASIC_CONSTRAINTS* constraints = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(cert.get(), NID_basic_constraints, &critical, nullptr));
  ASSERT_NE(constraints, nullptr);
  EXPECT_TRUE(constraints->ca);
  EXPECT_EQ(critical, 1);
  BASIC_CONSTRAINTS_free(constraints);
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  char group[64] = "";
  ASSERT_EQ(
      EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                     group, sizeof group, nullptr),
      1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  // A trusted root verifies on its own; valid from an hour ago for 30 days.
  EXPECT_EQ(Verify(ca_->cert_pem(), {ca_->cert_pem()}, {}, X509_PURPOSE_ANY),
            X509_V_OK);
  // keyUsage keeps it from serving TLS itself.
  EXPECT_EQ(Verify(ca_->cert_pem(), {ca_->cert_pem()}),
            X509_V_ERR_INVALID_PURPOSE);
  const time_t now = absl::ToTimeT(absl::Now());
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert.get()), now), -1);
  const time_t early = now - 50 * 60;
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert.get()), early), -1);
  const time_t late = now + 29 * 24 * 3600;
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), late), 1);
  const time_t too_late = now + 31 * 24 * 3600;
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), too_late), -1);
}

TEST_F(TlsTestCertsTest, LeafVerifiesAgainstCaForServerAndClient) {
  CertSpec spec;
  spec.common_name = "server";
  spec.dns_names = {"localhost"};
  const TestKeyPair leaf = ca_->Issue(spec);
  int chain_length = 0;
  EXPECT_EQ(Verify(leaf.cert_pem, {ca_->cert_pem()}, {},
                   X509_PURPOSE_SSL_SERVER, &chain_length),
            X509_V_OK);
  EXPECT_EQ(chain_length, 2);
  EXPECT_EQ(
      Verify(leaf.cert_pem, {ca_->cert_pem()}, {}, X509_PURPOSE_SSL_CLIENT),
      X509_V_OK);
  // Not a CA: it cannot sign for anyone.
  X509Ptr cert = ParseCert(leaf.cert_pem);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_check_issued(ParseCert(ca_->cert_pem()).get(), cert.get()),
            X509_V_OK);
}

TEST_F(TlsTestCertsTest, KeyIsUnencryptedPkcs8AndMatchesCert) {
  const TestKeyPair a = ca_->Issue(CertSpec());
  const TestKeyPair b = ca_->Issue(CertSpec());
  EXPECT_TRUE(absl::StartsWith(a.key_pem, "-----BEGIN PRIVATE KEY-----\n"))
      << a.key_pem;
  EXPECT_TRUE(absl::StartsWith(a.cert_pem, "-----BEGIN CERTIFICATE-----\n"))
      << a.cert_pem;
  X509Ptr a_cert = ParseCert(a.cert_pem);
  EXPECT_EQ(X509_check_private_key(a_cert.get(), ParseKey(a.key_pem).get()), 1);
  // Each leaf has its own key, not the CA's or the last leaf's.
  EXPECT_EQ(X509_check_private_key(a_cert.get(), ParseKey(b.key_pem).get()), 0);
  EXPECT_EQ(
      X509_check_private_key(a_cert.get(), ParseKey(ca_->key_pem()).get()), 0);
  ERR_clear_error();  // X509_check_private_key's mismatch errors
}

TEST_F(TlsTestCertsTest, SerialsAreRandom128Bit) {
  X509Ptr a = ParseCert(ca_->Issue(CertSpec()).cert_pem);
  X509Ptr b = ParseCert(ca_->Issue(CertSpec()).cert_pem);
  BignumPtr a_serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(a.get()), nullptr));
  BignumPtr b_serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(b.get()), nullptr));
  EXPECT_EQ(BN_num_bits(a_serial.get()), 128);
  EXPECT_EQ(BN_num_bits(b_serial.get()), 128);
  EXPECT_FALSE(BN_is_negative(a_serial.get()));
  EXPECT_NE(BN_cmp(a_serial.get(), b_serial.get()), 0);
}

TEST_F(TlsTestCertsTest, HasExactlyTheSubjectAndSansAskedFor) {
  CertSpec spec;
  spec.common_name = "backend-7";
  spec.organization = "mrpc tests";
  spec.dns_names = {"localhost", "*.svc.example", "backend.example"};
  spec.ip_addresses = {"127.0.0.1", "::1", "10.1.2.3", "fd00::17"};
  spec.uris = {"spiffe://example.org/ns/prod/sa/backend"};
  X509Ptr cert = ParseCert(ca_->Issue(spec).cert_pem);
  EXPECT_EQ(SubjectEntry(cert.get(), NID_commonName), "backend-7");
  EXPECT_EQ(SubjectEntry(cert.get(), NID_organizationName), "mrpc tests");
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 2);
  bool critical = true;
  const Sans sans = ParseSans(cert.get(), &critical);
  EXPECT_EQ(sans.dns, spec.dns_names);
  EXPECT_EQ(sans.ip, spec.ip_addresses);
  EXPECT_EQ(sans.uri, spec.uris);
  EXPECT_EQ(sans.other, 0);
  EXPECT_FALSE(critical);  // the subject names it too
  // The names work as a TLS client checks them.
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "a.svc.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "backend-7", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.1.2.3", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.1.2.4", 0), 0);
}

TEST_F(TlsTestCertsTest, NoSansNoExtension) {
  CertSpec spec;
  spec.common_name = "client-a";
  X509Ptr cert = ParseCert(ca_->Issue(spec).cert_pem);
  EXPECT_EQ(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), -1);
  EXPECT_EQ(SubjectEntry(cert.get(), NID_commonName), "client-a");
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 1);
}

TEST_F(TlsTestCertsTest, EmptySubjectMakesSansCritical) {
  CertSpec spec;
  spec.uris = {"spiffe://example.org/a"};
  X509Ptr cert = ParseCert(ca_->Issue(spec).cert_pem);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert.get())), 0);
  bool critical = false;
  EXPECT_EQ(ParseSans(cert.get(), &critical).uri, spec.uris);
  EXPECT_TRUE(critical);
  EXPECT_EQ(Verify(ca_->Issue(spec).cert_pem, {ca_->cert_pem()}), X509_V_OK);
}

TEST_F(TlsTestCertsTest, ValidityIsTheSpecsToTheSecond) {
  CertSpec spec;
  spec.not_before = absl::FromUnixSeconds(1700000000);
  spec.not_after = absl::FromUnixSeconds(4102444800);  // 2100: GeneralizedTime
  X509Ptr cert = ParseCert(ca_->Issue(spec).cert_pem);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert.get()), 1700000000),
            0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), 4102444800),
            0);
}

TEST_F(TlsTestCertsTest, ExpiredLeafFailsVerification) {
  CertSpec spec;
  spec.common_name = "expired";
  spec.not_before = absl::Now() - absl::Hours(48);
  spec.not_after = absl::Now() - absl::Hours(24);
  const int error = Verify(ca_->Issue(spec).cert_pem, {ca_->cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_CERT_HAS_EXPIRED) << ErrorName(error);
}

TEST_F(TlsTestCertsTest, NotYetValidLeafFailsVerification) {
  CertSpec spec;
  spec.not_before = absl::Now() + absl::Hours(1);
  spec.not_after = absl::Now() + absl::Hours(2);
  const int error = Verify(ca_->Issue(spec).cert_pem, {ca_->cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_CERT_NOT_YET_VALID) << ErrorName(error);
}

TEST_F(TlsTestCertsTest, ExpiredCaFailsVerification) {
  const TestCa old = TestCa::Create("old CA", absl::Minutes(30));
  const int error = Verify(old.Issue(CertSpec()).cert_pem, {old.cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_CERT_HAS_EXPIRED) << ErrorName(error);
}

TEST_F(TlsTestCertsTest, LeafOfAnotherCaFailsVerification) {
  const TestCa other = TestCa::Create("other CA");
  const TestKeyPair leaf = other.Issue(CertSpec());
  int error = Verify(leaf.cert_pem, {ca_->cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << ErrorName(error);
  EXPECT_EQ(Verify(leaf.cert_pem, {other.cert_pem()}), X509_V_OK);
  // A CA that only shares the name is no issuer either.
  const TestCa impostor = TestCa::Create("test CA");
  error = Verify(impostor.Issue(CertSpec()).cert_pem, {ca_->cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << ErrorName(error);
  error = Verify(ca_->Issue(CertSpec()).cert_pem, {impostor.cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << ErrorName(error);
}

TEST_F(TlsTestCertsTest, IntermediateChainVerifiesWithIntermediateAsUntrusted) {
  const TestCa intermediate = ca_->IssueIntermediate("test intermediate");
  X509Ptr intermediate_cert = ParseCert(intermediate.cert_pem());
  EXPECT_EQ(X509_check_ca(intermediate_cert.get()), 1);
  EXPECT_EQ(SubjectEntry(intermediate_cert.get(), NID_commonName),
            "test intermediate");
  EXPECT_EQ(X509_check_private_key(intermediate_cert.get(),
                                   ParseKey(intermediate.key_pem()).get()),
            1);
  EXPECT_EQ(
      Verify(intermediate.cert_pem(), {ca_->cert_pem()}, {}, X509_PURPOSE_ANY),
      X509_V_OK);

  CertSpec spec;
  spec.dns_names = {"deep.example"};
  const TestKeyPair leaf = intermediate.Issue(spec);
  int chain_length = 0;
  EXPECT_EQ(Verify(leaf.cert_pem, {ca_->cert_pem()}, {intermediate.cert_pem()},
                   X509_PURPOSE_SSL_SERVER, &chain_length),
            X509_V_OK);
  EXPECT_EQ(chain_length, 3);
  EXPECT_EQ(Verify(leaf.cert_pem, {ca_->cert_pem()}, {intermediate.cert_pem()},
                   X509_PURPOSE_SSL_CLIENT),
            X509_V_OK);
  // Without the intermediate the root alone cannot vouch for the leaf.
  const int error = Verify(leaf.cert_pem, {ca_->cert_pem()});
  EXPECT_EQ(error, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
      << ErrorName(error);
  EXPECT_EQ(X509_check_private_key(ParseCert(leaf.cert_pem).get(),
                                   ParseKey(leaf.key_pem).get()),
            1);
}

TEST_F(TlsTestCertsTest, FromPemIssuesUnderTheSameCa) {
  const TestCa again = TestCa::FromPem(ca_->cert_pem(), ca_->key_pem());
  EXPECT_EQ(again.cert_pem(), ca_->cert_pem());
  CertSpec spec;
  spec.dns_names = {"renamed.test"};
  EXPECT_EQ(Verify(again.Issue(spec).cert_pem, {ca_->cert_pem()}), X509_V_OK);
}

TEST_F(TlsTestCertsTest, FromPemChecksTheKeyAndTheCa) {
  const TestCa other = TestCa::Create("other CA");
  EXPECT_DEATH(TestCa::FromPem(ca_->cert_pem(), other.key_pem()),
               "not the CA certificate's key");
  const TestKeyPair leaf = ca_->Issue(CertSpec());
  EXPECT_DEATH(TestCa::FromPem(leaf.cert_pem, leaf.key_pem),
               "not a CA certificate");
}

TEST_F(TlsTestCertsTest, BadIpAddressIsACheckFailure) {
  CertSpec spec;
  spec.ip_addresses = {"localhost"};
  EXPECT_DEATH(ca_->Issue(spec), "not an IPv4 or IPv6 address: 'localhost'");
}

TEST(WriteTestFileTest, WritesMode0600AndReplaces) {
  const std::string dir = MakeTestDir("write");
  const std::string path = WriteTestFile(dir, "f.txt", "first, longer");
  EXPECT_EQ(path, dir + "/f.txt");
  EXPECT_EQ(ReadFile(path), "first, longer");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(WriteTestFile(dir, "f.txt", "second"), path);
  EXPECT_EQ(ReadFile(path), "second");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(MakeTestDirTest, FreshPrivateDirectoryUnderTestTmpdir) {
  const std::string a = MakeTestDir("certs");
  const std::string b = MakeTestDir("certs");
  EXPECT_NE(a, b);
  const char* tmp = std::getenv("TEST_TMPDIR");
  ASSERT_NE(tmp, nullptr);
  EXPECT_TRUE(absl::StartsWith(a, absl::StrCat(tmp, "/certs."))) << a;
  struct stat st;
  ASSERT_EQ(::stat(a.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

// The files benchmark scripts use, checked by the real openssl CLI.
TEST(MakeTestCertsTest, OpensslCliVerifiesWhatTheToolWrites) {
  ASSERT_EQ(::access(kOpenSsl, X_OK), 0)
      << kOpenSsl << " is missing: run tools/setup.sh";
  const char* srcdir = std::getenv("TEST_SRCDIR");
  ASSERT_NE(srcdir, nullptr);
  const std::string tool = absl::StrCat(srcdir, "/mrpc/net/make_test_certs");
  const std::string dir = MakeTestDir("tool") + "/certs";  // the tool makes it
  std::string output;
  ASSERT_EQ(
      RunCommand({tool, "--dir=" + dir, "--server_names=localhost,127.0.0.1",
                  "--client_name=client-a"},
                 &output),
      0)
      << output;
  for (const char* name : {"ca.pem", "server.pem", "server.key", "client.pem",
                           "client.key", "ca.key"}) {
    const std::string path = absl::StrCat(dir, "/", name);
    EXPECT_TRUE(absl::StrContains(output, path + "\n")) << output;
    struct stat st;
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
  const std::string ca = dir + "/ca.pem";
  const std::string server = dir + "/server.pem";
  const std::string client = dir + "/client.pem";

  EXPECT_EQ(RunCommand({kOpenSsl, "verify", "-CAfile", ca, server}, &output), 0)
      << output;
  EXPECT_EQ(RunCommand({kOpenSsl, "verify", "-CAfile", ca, "-purpose",
                        "sslserver", "-verify_hostname", "localhost",
                        "-verify_ip", "127.0.0.1", server},
                       &output),
            0)
      << output;
  EXPECT_EQ(RunCommand({kOpenSsl, "verify", "-CAfile", ca, "-purpose",
                        "sslclient", client},
                       &output),
            0)
      << output;
  // A check that can fail does: the wrong name, or no CA to trust.
  EXPECT_NE(RunCommand({kOpenSsl, "verify", "-CAfile", ca, "-verify_hostname",
                        "elsewhere.example", server},
                       &output),
            0)
      << output;
  EXPECT_NE(
      RunCommand({kOpenSsl, "verify", "-CAfile", server, server}, &output), 0)
      << output;

  // The keys are the certificates' keys, as the library itself sees them.
  X509Ptr server_cert = ParseCert(ReadFile(server));
  EXPECT_EQ(
      X509_check_private_key(server_cert.get(),
                             ParseKey(ReadFile(dir + "/server.key")).get()),
      1);
  EXPECT_EQ(
      X509_check_private_key(ParseCert(ReadFile(client)).get(),
                             ParseKey(ReadFile(dir + "/client.key")).get()),
      1);
  EXPECT_EQ(X509_check_private_key(ParseCert(ReadFile(ca)).get(),
                                   ParseKey(ReadFile(dir + "/ca.key")).get()),
            1);
  const Sans sans = ParseSans(server_cert.get());
  EXPECT_EQ(sans.dns, std::vector<std::string>{"localhost"});
  EXPECT_EQ(sans.ip, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(SubjectEntry(ParseCert(ReadFile(client)).get(), NID_commonName),
            "client-a");
}

// --ca_dir: a second server certificate under the first run's CA, as a
// certificate rotation needs (examples/kv/kv_tls_test.sh).
TEST(MakeTestCertsTest, CaDirIssuesUnderTheEarlierRunsCa) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  ASSERT_NE(srcdir, nullptr);
  const std::string tool = absl::StrCat(srcdir, "/mrpc/net/make_test_certs");
  const std::string first = MakeTestDir("first");
  const std::string second = MakeTestDir("second");
  std::string output;
  ASSERT_EQ(RunCommand({tool, "--dir=" + first}, &output), 0) << output;
  ASSERT_EQ(RunCommand({tool, "--dir=" + second, "--ca_dir=" + first,
                        "--server_names=renamed.test,127.0.0.1"},
                       &output),
            0)
      << output;
  EXPECT_EQ(ReadFile(second + "/ca.pem"), ReadFile(first + "/ca.pem"));
  EXPECT_EQ(ReadFile(second + "/ca.key"), ReadFile(first + "/ca.key"));
  EXPECT_NE(ReadFile(second + "/server.pem"), ReadFile(first + "/server.pem"));
  const std::string server = second + "/server.pem";
  EXPECT_EQ(RunCommand({kOpenSsl, "verify", "-CAfile", first + "/ca.pem",
                        "-purpose", "sslserver", "-verify_hostname",
                        "renamed.test", "-verify_ip", "127.0.0.1", server},
                       &output),
            0)
      << output;
  EXPECT_NE(RunCommand({kOpenSsl, "verify", "-CAfile", first + "/ca.pem",
                        "-verify_hostname", "localhost", server},
                       &output),
            0)
      << output;
  const Sans sans = ParseSans(ParseCert(ReadFile(server)).get());
  EXPECT_EQ(sans.dns, std::vector<std::string>{"renamed.test"});
  EXPECT_EQ(sans.ip, std::vector<std::string>{"127.0.0.1"});

  // A directory without a CA is an error, not a fresh CA.
  EXPECT_EQ(RunCommand({tool, "--dir=" + second, "--ca_dir=" + second + "/no"},
                       &output),
            1)
      << output;
  EXPECT_TRUE(absl::StrContains(output, "cannot read")) << output;
}

TEST(MakeTestCertsTest, UsageErrorWithoutDir) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  ASSERT_NE(srcdir, nullptr);
  std::string output;
  EXPECT_EQ(
      RunCommand({absl::StrCat(srcdir, "/mrpc/net/make_test_certs")}, &output),
      2)
      << output;
  EXPECT_TRUE(absl::StrContains(output, "usage:")) << output;
}

}  // namespace
}  // namespace mrpc
