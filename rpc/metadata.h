// Call metadata: ordered key/value pairs that travel beside a request
// (client -> server) and beside a response (server -> client), the way
// HTTP headers and gRPC metadata do. Keys may repeat; values are any bytes.
//
// Public. Value type; not thread-safe (one call's metadata belongs to whoever
// is building or reading that call).
//
// Keys are 1 to 128 bytes of lowercase ASCII letters, digits, '-', '_' and
// '.'. Keys that start with "mrpc-" are reserved for mrpc itself (user code
// may read them but not set them), and "traceparent" carries W3C trace
// context (rpc/trace.h). Limits (ServerOptions / ChannelOptions
// max_metadata_bytes, max_metadata_entries) bound what a peer may send.
//
// Example:
//   ClientContext ctx;
//   CHECK(ctx.AddMetadata("x-user", "ada").ok());
//   ... in the handler:
//   absl::optional<absl::string_view> user = FindMetadata(ctx->metadata(), "x-user");
#ifndef MRPC_RPC_METADATA_H_
#define MRPC_RPC_METADATA_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace mrpc {

using Metadata = std::vector<std::pair<std::string, std::string>>;

// Keys starting with this are mrpc's own.
inline constexpr absl::string_view kReservedMetadataPrefix = "mrpc-";
inline constexpr size_t kMaxMetadataKeySize = 128;
// Defaults for the per-call limits: total key + value bytes (gRPC's default
// header list limit is 8 KiB too), and entries.
inline constexpr size_t kDefaultMaxMetadataBytes = 8 * 1024;
inline constexpr size_t kDefaultMaxMetadataEntries = 64;

// mrpc's own keys.
// On a DEADLINE_EXCEEDED or UNAVAILABLE RESPONSE of a call that reached its
// method: microseconds from the request's arrival to the answer (decimal
// ASCII).
inline constexpr char kServerTimeKey[] = "mrpc-server-us";
// On a RESPONSE to a request the server refused before its method started
// (shutting down, overloaded, over its memory budget or a connection's call
// cap): the method did not run, so the caller may send the call elsewhere,
// idempotent or not. Value: "1".
inline constexpr char kRefusedKey[] = "mrpc-refused";
// W3C trace context (https://www.w3.org/TR/trace-context/).
inline constexpr char kTraceparentKey[] = "traceparent";

// OK if `key` is a well-formed key (any prefix); INVALID_ARGUMENT naming
// the fault otherwise.
absl::Status ValidateMetadataKey(absl::string_view key);
// As above, and the key is not reserved: what user code may set.
absl::Status ValidateUserMetadataKey(absl::string_view key);

// The first value of `key`, if present.
absl::optional<absl::string_view> FindMetadata(const Metadata& metadata,
                                               absl::string_view key);

}  // namespace mrpc

#endif  // MRPC_RPC_METADATA_H_
