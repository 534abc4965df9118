// mrpc_cli's command line: the subcommand and its arguments, the header and
// verbose flags absl cannot parse (-H 'k: v', -v), and the exit code every
// outcome maps to. Pure functions, no I/O, so they are unit-tested apart
// from a server.
//
// Internal to tools/cli. Thread-compatible (plain functions and values).
#ifndef MRPC_TOOLS_CLI_CLI_ARGS_H_
#define MRPC_TOOLS_CLI_CLI_ARGS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/metadata.h"

namespace mrpc::cli {

// Exit codes, as the usage text documents them.
inline constexpr int kExitOk = 0;
// A local error: bad request JSON, a name the server does not know, an
// unreadable @file.
inline constexpr int kExitLocal = 1;
// Bad arguments, an unknown subcommand.
inline constexpr int kExitUsage = 2;
// The call (or a reflection call) failed: kExitRpcBase + the canonical code,
// e.g. 69 NOT_FOUND, 68 DEADLINE_EXCEEDED, 78 UNAVAILABLE, 80 UNAUTHENTICATED.
inline constexpr int kExitRpcBase = 64;

// A failure and whose it is, which decides the exit code. Value type.
struct Failure {
  enum class Kind { kUsage, kLocal, kRpc };
  Kind kind;
  absl::Status status;
};

Failure UsageError(std::string message);
Failure LocalError(absl::Status status);
Failure RpcError(absl::Status status);

// The one place failures become exit codes.
int ExitCode(const Failure& failure);

enum class CommandKind { kList, kDescribe, kCall };

// A parsed subcommand. Value type.
struct Command {
  CommandKind kind = CommandKind::kList;
  std::string target;
  // ls: the service to list, or empty for all; describe: the symbol;
  // call: the method ("pkg.Service/Method").
  std::string name;
  // call: JSON text, "@path", or "-" for stdin (also when absent).
  std::string request = "-";
};

// `args` are the positional arguments after the program name:
//   ls TARGET [SERVICE] | describe TARGET SYMBOL |
//   call TARGET METHOD [REQUEST]
// INVALID_ARGUMENT saying what is wrong otherwise.
absl::StatusOr<Command> ParseCommand(const std::vector<std::string>& args);

// What PreParse takes out of argv before absl::ParseCommandLine sees it.
struct PreParsed {
  // argv without the header flags, and -v spelled --verbose; the pointers
  // point into the original argv (or at static strings).
  std::vector<char*> argv;
  Metadata headers;
};

// Takes `-H k:v`, `-H=k:v`, `--header k:v` and `--header=k:v` (repeatable,
// which an absl flag cannot be) out of argv, and rewrites `-v` to
// `--verbose` (glog may own `-v`). Stops at "--". INVALID_ARGUMENT for a
// header flag without a value or a malformed header.
absl::StatusOr<PreParsed> PreParse(int argc, char** argv);

// "key: value" (or "key:value") as metadata: the key lowercased (HTTP
// header names are case-insensitive, mrpc keys are lowercase), spaces
// around the value trimmed. INVALID_ARGUMENT for a missing ':' or a key
// mrpc does not allow a caller to set.
absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(
    absl::string_view header);

}  // namespace mrpc::cli

#endif  // MRPC_TOOLS_CLI_CLI_ARGS_H_
