// ClientTlsOptions: TLS for the connections this process makes (a
// Channel's servers, the etcd endpoints of an etcd:// target or of a
// server's registration), given as PEM files (docs/guide.md, "TLS").
//
// Public. A value type.
#ifndef MRPC_RPC_TLS_OPTIONS_H_
#define MRPC_RPC_TLS_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace mrpc {

// The server's certificate must chain to a trusted CA and carry the
// server's name. A handshake that fails counts as a failed connect attempt
// (backoff), with the reason ("certificate verify failed (hostname
// mismatch)") in the errors of the calls that waited for it.
struct ClientTlsOptions {
  // Use TLS. Default: false.
  bool enabled = false;
  // PEM: the CAs the server's certificate must chain to. Empty: the
  // system's trust store. Default: empty.
  std::string ca_file;
  // PEM: this client's certificate chain and key, for servers that ask for
  // one (mutual TLS). Empty: none. Default: empty.
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must carry: a DNS name (also sent
  // as SNI) or an IP address. Empty: for a Channel, the host of a
  // "host:port" or "dns:///host:port" target, and for list:// and etcd://
  // targets each server's IP address; for etcd, each endpoint's IP.
  // Default: empty.
  std::string server_name;
  // A handshake must finish within this long. Default: 10 s.
  absl::Duration handshake_timeout = absl::Seconds(10);
};

}  // namespace mrpc

#endif  // MRPC_RPC_TLS_OPTIONS_H_
