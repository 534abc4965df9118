// How an RPC's canonical status appears over HTTP: the HTTP status code
// (the table of google.rpc.Code, which gRPC's HTTP/JSON transcoding uses)
// and the JSON error body.
//
// Internal. Plain functions, any thread.
#ifndef MRPC_RPC_HTTP_HTTP_STATUS_H_
#define MRPC_RPC_HTTP_HTTP_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mrpc {

// OK 200, CANCELLED 499, UNKNOWN 500, INVALID_ARGUMENT 400,
// DEADLINE_EXCEEDED 504, NOT_FOUND 404, ALREADY_EXISTS 409,
// PERMISSION_DENIED 403, RESOURCE_EXHAUSTED 429, FAILED_PRECONDITION 400,
// ABORTED 409, OUT_OF_RANGE 400, UNIMPLEMENTED 501, INTERNAL 500,
// UNAVAILABLE 503, DATA_LOSS 500, UNAUTHENTICATED 401.
int HttpStatusFromCode(absl::StatusCode code);

// "NOT_FOUND" for absl::StatusCode::kNotFound, and so on.
absl::string_view CodeName(absl::StatusCode code);

// {"code":5,"status":"NOT_FOUND","message":"..."} and a newline: the code
// as its number (as gRPC's JSON error has it) and as its name.
std::string JsonErrorBody(const absl::Status& status);

// `text` as a JSON string literal, quotes included; bytes that are not
// UTF-8 become U+FFFD.
std::string JsonQuote(absl::string_view text);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_HTTP_STATUS_H_
