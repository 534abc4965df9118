// Throwaway X.509 certificates for mrpc's TLS tests, fuzzer and benchmarks,
// made at run time with OpenSSL so that no private key is ever committed:
// a self-signed CA, intermediates, and leaf certificates with the SANs a
// test asks for. Keys are EC P-256 (fast to generate), signatures SHA-256.
//
//   TestCa ca = TestCa::Create("mrpc test CA");
//   CertSpec spec;
//   spec.common_name = "server";
//   spec.dns_names = {"localhost"};
//   spec.ip_addresses = {"127.0.0.1", "::1"};
//   TestKeyPair server = ca.Issue(spec);
//   // Trust ca.cert_pem(); serve server.cert_pem with server.key_pem.
//
// For test and tool use only (also behind //net:make_test_certs): every
// OpenSSL error is a CHECK failure. Any thread may call these functions; each
// object is used by one thread at a time.
#ifndef MRPC_NET_TLS_TEST_CERTS_H_
#define MRPC_NET_TLS_TEST_CERTS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace mrpc {

// How long a CA from TestCa::Create or IssueIntermediate stays valid unless
// told otherwise: longer than a leaf's default, so leaves expire first.
inline constexpr absl::Duration kTestCaValidity = absl::Hours(24 * 30);

// What a leaf certificate says. Every list may be empty; with all three empty
// the certificate has no subjectAltName extension.
struct CertSpec {
  // Subject CN. Empty: no CN. Default: empty.
  std::string common_name;
  // subjectAltName DNS: entries, in order. Default: none.
  std::vector<std::string> dns_names;
  // subjectAltName IP: entries, IPv4 or IPv6 text ("127.0.0.1", "::1");
  // anything else CHECK-fails. Default: none.
  std::vector<std::string> ip_addresses;
  // subjectAltName URI: entries (e.g. "spiffe://example.org/ns/a/sa/b").
  // Default: none.
  std::vector<std::string> uris;
  // Subject O. Empty: no O. Default: empty.
  std::string organization;
  // Validity, to the second (X.509 keeps no fraction). A not_after in the
  // past makes an expired certificate. Default: an hour ago.
  absl::Time not_before = absl::Now() - absl::Hours(1);
  // Default: a day from now.
  absl::Time not_after = absl::Now() + absl::Hours(24);
};

// A certificate and its private key, both PEM. The key is unencrypted PKCS#8
// ("BEGIN PRIVATE KEY"). For a leaf issued by an intermediate, a server sends
// cert_pem followed by the intermediate's cert_pem as its chain.
struct TestKeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A certificate authority whose key lives in memory. A value type: copies
// issue certificates under the same CA.
class TestCa {
 public:
  // A self-signed root CA: EC P-256 key, subject CN=`common_name`,
  // basicConstraints CA:TRUE (critical), keyUsage keyCertSign|cRLSign
  // (critical), a random 128-bit serial; valid from an hour ago for
  // `validity`.
  static TestCa Create(const std::string& common_name,
                       absl::Duration validity = kTestCaValidity);

  // An existing CA from its certificate and private key (PEM, as cert_pem()
  // and key_pem() give them; e.g. make_test_certs' ca.pem and ca.key), to
  // issue more leaves under it in another run. CHECK-fails if either does
  // not parse, the certificate is not a CA or the key is not its key.
  static TestCa FromPem(std::string cert_pem, std::string key_pem);

  // This CA's certificate (PEM): what a peer trusts.
  const std::string& cert_pem() const { return cert_pem_; }
  // This CA's private key (PEM, unencrypted PKCS#8).
  const std::string& key_pem() const { return key_pem_; }

  // A leaf certificate signed by this CA: a fresh EC P-256 key, a random
  // 128-bit serial, basicConstraints CA:FALSE, keyUsage digitalSignature,
  // extendedKeyUsage serverAuth+clientAuth, the subject, SANs and validity
  // of `spec`, signed with SHA-256.
  TestKeyPair Issue(const CertSpec& spec) const;

  // An intermediate CA signed by this CA, made like Create's root but for its
  // issuer (for chain tests). Issue on it works the same; its leaves verify
  // against the root when the intermediate's cert_pem() is in the chain.
  TestCa IssueIntermediate(const std::string& common_name,
                           absl::Duration validity = kTestCaValidity) const;

 private:
  TestCa(std::string cert_pem, std::string key_pem)
      : cert_pem_(std::move(cert_pem)), key_pem_(std::move(key_pem)) {}

  // PEM rather than parsed OpenSSL objects: the class stays a plain copyable
  // value, and parsing per Issue costs microseconds next to key generation.
  std::string cert_pem_;
  std::string key_pem_;
};

// Writes `content` to dir/name (mode 0600, replacing any file there) and
// returns that path. CHECK-fails on error.
std::string WriteTestFile(const std::string& dir, const std::string& name,
                          const std::string& content);

// Makes a fresh directory (mode 0700) under $TEST_TMPDIR, or /tmp outside a
// test, named `prefix` plus a random suffix, and returns its path. `prefix`
// holds no '/'. CHECK-fails on error.
std::string MakeTestDir(const std::string& prefix);

// Paths of the files WriteTestCerts writes.
struct TestCertFiles {
  std::string ca_cert;      // dir/ca.pem
  std::string ca_key;       // dir/ca.key
  std::string server_cert;  // dir/server.pem
  std::string server_key;   // dir/server.key
  std::string client_cert;  // dir/client.pem
  std::string client_key;   // dir/client.key
};

// Writes a fresh CA and two leaves it signed into `dir`, which must exist:
// ca.pem and ca.key (the CA's key, to issue more under it later:
// TestCa::FromPem); server.pem and server.key, with CN the first of
// `server_names` and each name a SAN (IP if it parses as an IPv4 or IPv6
// address, else DNS); client.pem and client.key, with CN `client_name` and no
// SAN. Leaves are valid from an hour ago for `valid_for`, as is the CA. What
// make_test_certs writes. CHECK-fails on error.
TestCertFiles WriteTestCerts(const std::string& dir,
                             const std::vector<std::string>& server_names,
                             const std::string& client_name,
                             absl::Duration valid_for = absl::Hours(24));

// The same, but the leaves are issued by `ca` (whose ca.pem and ca.key are
// written too, so `dir` is complete): a second server certificate under the
// CA clients already trust, for a certificate rotation
// (make_test_certs --ca_dir).
TestCertFiles WriteTestCerts(const std::string& dir, const TestCa& ca,
                             const std::vector<std::string>& server_names,
                             const std::string& client_name,
                             absl::Duration valid_for = absl::Hours(24));

}  // namespace mrpc

#endif  // MRPC_NET_TLS_TEST_CERTS_H_
