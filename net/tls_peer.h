// TlsPeer: what a TLS handshake established about a connection's peer: the
// protocol version and cipher, the server name the client asked for, and,
// when the peer presented a certificate that verified against the trusted
// CAs, its identity (subject and subjectAltNames).
//
// Public (ServerContext::tls() hands it to handlers and interceptors). A
// plain value: no OpenSSL types; immutable once the handshake is done, so
// any thread may read it.
#ifndef MRPC_NET_TLS_PEER_H_
#define MRPC_NET_TLS_PEER_H_

#include <string>
#include <vector>

namespace mrpc {

struct TlsPeer {
  std::string protocol;     // "TLSv1.3"
  std::string cipher;       // "TLS_AES_256_GCM_SHA384"
  std::string server_name;  // The SNI the client sent (empty if none).
  std::string alpn;         // The negotiated ALPN protocol (empty if none).
  // True when the peer presented a certificate chain that verified against
  // the trusted CAs; the fields below are empty otherwise.
  bool verified = false;
  std::string subject;                    // RFC 2253: "CN=client-a,O=Example"
  std::string common_name;                // "client-a"
  std::string issuer;                     // RFC 2253, the certificate's issuer.
  std::vector<std::string> dns_names;     // subjectAltName DNS entries.
  std::vector<std::string> uris;          // URI entries: "spiffe://..."
  std::vector<std::string> ip_addresses;  // IP entries: "127.0.0.1", "::1"
};

}  // namespace mrpc

#endif  // MRPC_NET_TLS_PEER_H_
