// TlsContext: one side's TLS configuration (certificate chain, private key,
// trusted CAs, verification policy) as an OpenSSL SSL_CTX, and the factory
// of per-connection TlsSessions. Reload() re-reads the files and swaps in a
// new SSL_CTX for new connections; established ones keep the one they
// started with, so a certificate rotation drops no connection.
//
// Internal (rpc/ builds ServerOptions::tls and ChannelOptions::tls on it).
// Thread-safe: NewSession() runs on every loop, Reload() on any thread.
//
// Policy, both roles: TLS 1.2 and 1.3 only, renegotiation refused, ALPN
// "mrpc" and "http/1.1" offered or accepted (optional: a peer offering
// neither is served without ALPN). A server asks for client certificates
// only with a CA file; require_client_cert then refuses a client without
// one. A client always verifies the server's chain (against ca_file, or
// the system's trust store when it is empty) and its name (the session's
// server_name: a DNS name, also sent as SNI, or an IP literal).
#ifndef MRPC_NET_TLS_CONTEXT_H_
#define MRPC_NET_TLS_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "net/sync.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace mrpc {

class TlsSession;

class TlsContext {
 public:
  enum class Role { kServer, kClient };

  struct Config {
    Role role = Role::kServer;
    // PEM files: the certificate chain (leaf first) and its private key.
    // Required for a server; optional for a client (its certificate for
    // mutual TLS).
    std::string cert_file;
    std::string key_file;
    // PEM file of trusted CAs. Server: the CAs client certificates must
    // chain to (empty: no client certificates asked for). Client: the CAs
    // the server's must chain to (empty: the system's trust store).
    std::string ca_file;
    // Server: refuse a client that presents no certificate (needs ca_file).
    bool require_client_cert = false;
  };

  // The PEM contents a context is built from; what the files hold.
  struct Material {
    std::string cert_pem;
    std::string key_pem;
    std::string ca_pem;
    bool operator==(const Material& other) const {
      return cert_pem == other.cert_pem && key_pem == other.key_pem &&
             ca_pem == other.ca_pem;
    }
  };

  // Reads the files and builds the context; an error names the file and
  // what is wrong with it.
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(
      const Config& config);
  // From PEM held in memory (tests, fuzzers); Reload() is then a no-op.
  static absl::StatusOr<std::shared_ptr<TlsContext>> CreateFromPem(
      const Config& config, const Material& material);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A session for one new connection, on the current SSL_CTX. For a
  // client, `server_name` is the name its certificate must carry (a DNS
  // name, sent as SNI too, or an IP address); ignored for a server.
  std::unique_ptr<TlsSession> NewSession(absl::string_view server_name) const;

  // Re-reads the files; if their contents changed, builds and installs a
  // new SSL_CTX (new connections use it) and returns true. False if
  // nothing changed. An error (unreadable file, key not matching the
  // certificate, ...) leaves the current context in place.
  absl::StatusOr<bool> Reload();

  Role role() const { return config_.role; }
  const Config& config() const { return config_; }
  // Successful reloads so far.
  uint64_t reloads() const;
  // The leaf certificate in use: "subject ..., expires ...", for logs.
  std::string Describe() const;

 private:
  TlsContext(const Config& config, const Material& material,
             std::shared_ptr<SSL_CTX> ctx, bool from_files);

  const Config config_;
  const bool from_files_;
  mutable Mutex mutex_;
  Material material_ ABSL_GUARDED_BY(mutex_);
  std::shared_ptr<SSL_CTX> ctx_ ABSL_GUARDED_BY(mutex_);
  uint64_t reloads_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace mrpc

#endif  // MRPC_NET_TLS_CONTEXT_H_
