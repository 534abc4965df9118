// mrpc's version, as the server's /status page reports it.
//
// Public (a plain constant). Bumped by hand with each release note.
#ifndef MRPC_RPC_VERSION_H_
#define MRPC_RPC_VERSION_H_

namespace mrpc {

// "major.minor.patch"; minor follows the issue that last changed the wire
// or the public API (issue 13: one port for every client).
inline constexpr char kMrpcVersion[] = "0.13.0";

}  // namespace mrpc

#endif  // MRPC_RPC_VERSION_H_
