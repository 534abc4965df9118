// Which protocol a server connection speaks, told from its first bytes:
// mrpc's frame magic "MRPC", an HTTP/1.1 request line (a method token and a
// space), a TLS handshake record (0x16 0x03: TLS then carries one of the
// first two), or something else (closed). docs/protocol.md, "One port".
//
// Internal. A plain function, any thread.
#ifndef MRPC_RPC_PROTOCOL_DETECT_H_
#define MRPC_RPC_PROTOCOL_DETECT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace mrpc {

enum class WireProtocol {
  kNeedMore,  // Too few bytes yet: every byte so far fits some protocol.
  kMrpc,
  kHttp,
  kTls,  // A TLS handshake record: what it carries is detected again.
  kUnknown,
};

// The protocol `first_bytes` (the connection's first bytes, however many
// have arrived) begins. For kUnknown, `*reason` says what it looks like
// ("an HTTP/2 connection preface", or the bytes).
WireProtocol DetectProtocol(absl::string_view first_bytes,
                            std::string* reason);

}  // namespace mrpc

#endif  // MRPC_RPC_PROTOCOL_DETECT_H_
