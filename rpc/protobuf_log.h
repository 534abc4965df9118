// Routes protobuf's own log output (e.g. "String field 'x' contains invalid
// UTF-8 data when parsing a protocol buffer") into glog through the peer log
// limiter (net/log_limiter.h), so that bytes from a peer cannot make protobuf
// write one line per request.
//
// Internal to mrpc. Server::Start() and Channel::Create() call
// InstallProtobufLogHandler(); the handler is process-wide (protobuf has one).
// Each protobuf logging statement (file:line) is its own reason; the peer is
// the ScopedLogPeer set around the parse (ServerCall sets the client, the
// channel the server), else none and only the per-reason cap applies.
// Levels map INFO/WARNING/ERROR to glog's; FATAL is logged as ERROR, never
// limited, and protobuf aborts after it as it always does.
#ifndef MRPC_RPC_PROTOBUF_LOG_H_
#define MRPC_RPC_PROTOBUF_LOG_H_

namespace mrpc {

// Installs the handler, once per process; later calls do nothing.
// Thread-safe. protobuf's SetLogHandler is not safe against a protobuf line
// logged at the same moment, so this runs when servers and channels are
// made, not per call. A program with its own protobuf log handler should
// set it again after creating its first Server or Channel.
void InstallProtobufLogHandler();

}  // namespace mrpc

#endif  // MRPC_RPC_PROTOBUF_LOG_H_
