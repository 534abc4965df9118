#include "tools/cli/cli_args.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mrpc::cli {

Failure UsageError(std::string message) {
  return {Failure::Kind::kUsage,
          absl::InvalidArgumentError(std::move(message))};
}

Failure LocalError(absl::Status status) {
  return {Failure::Kind::kLocal, std::move(status)};
}

Failure RpcError(absl::Status status) {
  return {Failure::Kind::kRpc, std::move(status)};
}

int ExitCode(const Failure& failure) {
  switch (failure.kind) {
    case Failure::Kind::kUsage:
      return kExitUsage;
    case Failure::Kind::kLocal:
      return kExitLocal;
    case Failure::Kind::kRpc:
      // OK would read as success; a failed call is never OK.
      return failure.status.ok()
                 ? kExitLocal
                 : kExitRpcBase + static_cast<int>(failure.status.code());
  }
  return kExitLocal;
}

absl::StatusOr<Command> ParseCommand(const std::vector<std::string>& args) {
  if (args.empty()) {
    return absl::InvalidArgumentError("no subcommand (ls, describe or call)");
  }
  Command command;
  const std::string& sub = args[0];
  size_t min_args, max_args;
  if (sub == "ls" || sub == "list") {
    command.kind = CommandKind::kList;
    min_args = 2;
    max_args = 3;
  } else if (sub == "describe") {
    command.kind = CommandKind::kDescribe;
    min_args = max_args = 3;
  } else if (sub == "call") {
    command.kind = CommandKind::kCall;
    min_args = 3;
    max_args = 4;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown subcommand \"", sub, "\" (ls, describe or call)"));
  }
  if (args.size() < min_args || args.size() > max_args) {
    static constexpr const char* kForms[] = {
        "ls TARGET [SERVICE]", "describe TARGET SYMBOL",
        "call TARGET pkg.Service/Method [REQUEST]"};
    return absl::InvalidArgumentError(
        absl::StrCat(args.size() < min_args ? "too few" : "too many",
                     " arguments; usage: mrpc_cli ",
                     kForms[static_cast<int>(command.kind)]));
  }
  command.target = args[1];
  if (command.target.empty()) {
    return absl::InvalidArgumentError("empty TARGET");
  }
  if (args.size() > 2) command.name = args[2];
  if (args.size() > 3) command.request = args[3];
  if (command.kind != CommandKind::kList && command.name.empty()) {
    return absl::InvalidArgumentError("empty name");
  }
  return command;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseHeader(
    absl::string_view header) {
  const size_t colon = header.find(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("header \"", header, "\" is not \"key: value\""));
  }
  std::string key = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(header.substr(0, colon)));
  if (absl::Status valid = ValidateUserMetadataKey(key); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("header \"", header, "\": ", valid.message()));
  }
  return std::make_pair(
      std::move(key),
      std::string(absl::StripAsciiWhitespace(header.substr(colon + 1))));
}

absl::StatusOr<PreParsed> PreParse(int argc, char** argv) {
  static char kVerbose[] = "--verbose";
  PreParsed out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (i == 0 || flags_done) {
      out.argv.push_back(argv[i]);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      out.argv.push_back(argv[i]);
      continue;
    }
    if (arg == "-v") {
      out.argv.push_back(kVerbose);
      continue;
    }
    absl::string_view value;
    if (arg == "-H" || arg == "--header" || arg == "-header") {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat(arg, " needs a value: -H 'key: value'"));
      }
      value = argv[++i];
    } else if (absl::ConsumePrefix(&arg, "-H=") ||
               absl::ConsumePrefix(&arg, "--header=") ||
               absl::ConsumePrefix(&arg, "-header=")) {
      value = arg;
    } else {
      out.argv.push_back(argv[i]);
      continue;
    }
    absl::StatusOr<std::pair<std::string, std::string>> header =
        ParseHeader(value);
    if (!header.ok()) return header.status();
    out.headers.push_back(*std::move(header));
  }
  return out;
}

}  // namespace mrpc::cli
