// mrpc_cli: lists, describes and calls any method of any mrpc server, with
// JSON in and out, using the server's reflection service
// (mrpc.reflection.v1.Reflection, proto/reflection.proto): no .proto needed.
//
//   mrpc_cli ls TARGET [SERVICE]
//   mrpc_cli describe TARGET SYMBOL
//   mrpc_cli call TARGET pkg.Service/Method [REQUEST]
//
// TARGET is any channel target (127.0.0.1:9001, list://a:1,b:2,
// dns:///host:9001, etcd://127.0.0.1:2379/services/kv). REQUEST is JSON
// text, @FILE, or - (stdin, also when absent). Flags: -H 'key: value'
// (repeatable request metadata), --timeout (each call, reflection's
// included), --json, -v/--verbose, --emit_defaults, --lb and the TLS
// flags (--tls, --tls_ca, --tls_cert, --tls_key, --tls_server_name).
//
// Exit codes: 0 OK; 1 a local error (bad request JSON, a name the server
// does not know, an unreadable @FILE); 2 bad usage; 64 + the canonical code
// when the call or a reflection call fails (69 NOT_FOUND, 68
// DEADLINE_EXCEEDED, 78 UNAVAILABLE, 80 UNAUTHENTICATED, ...).
//
// Threads: main() does everything, blocking on each call; the channel runs
// its own loop thread, which mrpc_cli never touches.
#include <glog/logging.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "examples/common/channel_flags.h"
#include "examples/common/tls_client_flags.h"
#include "rpc/channel.h"
#include "rpc/client_context.h"
#include "rpc/reflection/reflection_client.h"
#include "tools/cli/cli_args.h"
#include "tools/cli/cli_format.h"

ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "deadline of each call to the server, reflection calls included");
ABSL_FLAG(bool, json, false,
          "machine-readable output: one JSON document on stdout, errors "
          "included ({\"code\":...,\"code_number\":...,\"message\":...})");
ABSL_FLAG(bool, verbose, false,
          "(-v) print the call's peer and response metadata on stderr, and "
          "the channel's log");
ABSL_FLAG(bool, emit_defaults, false,
          "call: print fields that hold their default value too");

namespace mrpc::cli {
namespace {

namespace pb = google::protobuf;

constexpr char kUsage[] =
    R"(lists, describes and calls the methods of an mrpc server, with JSON, by server reflection.

  mrpc_cli [flags] ls TARGET [SERVICE]       services and their methods
  mrpc_cli [flags] describe TARGET SYMBOL    a service, method (pkg.Svc/Method),
                                             message or enum as .proto text
  mrpc_cli [flags] call TARGET pkg.Service/Method [REQUEST]
                                             calls it; REQUEST is JSON text,
                                             @FILE, or - (stdin, also if absent)

TARGET: host:port, list://h1:p1,h2:p2, dns:///host:port, etcd://host:port/prefix.

Flags (flags go before or after the arguments):
  -H 'key: value'    request metadata, repeatable (also --header=...), e.g.
                     -H 'authorization: Bearer TOKEN'; keys are lowercased
  --timeout=10s      deadline of each call, reflection calls included
  --json             JSON on stdout for everything, errors included
  -v, --verbose      the call's peer and response metadata on stderr
  --emit_defaults    call: print fields holding default values too
  --lb=round_robin   load balancing over a target's servers (p2c, ...)
  --tls --tls_ca=PEM --tls_cert=PEM --tls_key=PEM --tls_server_name=NAME
                     TLS, as every mrpc client (--helpfull lists all flags)

Exit codes:
  0    OK
  1    local error: bad request JSON, a service, method or symbol the server
       does not know, an unreadable @FILE
  2    usage error: bad arguments, unknown subcommand
  64+N the call (or a reflection call) failed with canonical code N:
       68 DEADLINE_EXCEEDED, 69 NOT_FOUND, 71 PERMISSION_DENIED,
       76 UNIMPLEMENTED, 78 UNAVAILABLE, 80 UNAUTHENTICATED, ...)";

// Everything a command needs: the parsed command and the connection.
struct Context {
  Command command;
  Metadata headers;
  bool json = false;
  bool verbose = false;
  absl::Duration timeout;
  Channel* channel = nullptr;              // Not owned.
  ReflectionClient* reflection = nullptr;  // Not owned.
};

// What the server offers near `name`, for a NOT_FOUND: the methods of its
// service if that exists, else the services.
std::string Offered(const Context& ctx, absl::string_view name) {
  absl::StatusOr<std::vector<ReflectedService>> services =
      ctx.reflection->ListServices();
  if (!services.ok()) return "";
  std::vector<std::string> service_names;
  for (const ReflectedService& service : *services) {
    service_names.push_back(service.name);
    // "pkg.Svc/Method", "pkg.Svc.Method" or "pkg.Svc".
    if (absl::StartsWith(name, service.name) &&
        name.size() > service.name.size() &&
        (name[service.name.size()] == '/' ||
         name[service.name.size()] == '.')) {
      std::vector<std::string> methods;
      for (const ReflectedMethod& m : service.methods) {
        methods.push_back(m.name);
      }
      return absl::StrCat("; ", service.name, " has ",
                          absl::StrJoin(methods, ", "));
    }
  }
  return absl::StrCat("; the server offers ",
                      absl::StrJoin(service_names, ", "));
}

// NOT_FOUND from a Find* is the user's name (exit 1); anything else is the
// reflection call's failure.
Failure FindFailure(const Context& ctx, const absl::Status& status,
                    absl::string_view what) {
  if (status.code() != absl::StatusCode::kNotFound &&
      status.code() != absl::StatusCode::kInvalidArgument) {
    // UNIMPLEMENTED already says reflection is off (ReflectionClient).
    return RpcError(status);
  }
  return LocalError(absl::Status(
      status.code(),
      absl::StrCat("the server has no ", what, " \"", ctx.command.name, "\" (",
                   status.message(), ")", Offered(ctx, ctx.command.name))));
}

void PrintResult(const std::string& text) {
  fwrite(text.data(), 1, text.size(), stdout);
  if (text.empty() || text.back() != '\n') fputc('\n', stdout);
}

absl::optional<Failure> RunList(const Context& ctx) {
  absl::StatusOr<std::vector<ReflectedService>> services =
      ctx.reflection->ListServices();
  if (!services.ok()) return RpcError(services.status());
  if (!ctx.command.name.empty()) {
    std::vector<ReflectedService> one;
    std::vector<std::string> names;
    for (ReflectedService& service : *services) {
      names.push_back(service.name);
      if (service.name == ctx.command.name) one.push_back(std::move(service));
    }
    if (one.empty()) {
      return LocalError(absl::NotFoundError(
          absl::StrCat("the server has no service \"", ctx.command.name,
                       "\"; it offers ", absl::StrJoin(names, ", "))));
    }
    *services = std::move(one);
  }
  PrintResult(ctx.json ? ServicesToJson(*services) : FormatServices(*services));
  return absl::nullopt;
}

// A service, method, message or enum, in that order of likelihood.
absl::StatusOr<Symbol> FindSymbol(const Context& ctx) {
  const std::string& name = ctx.command.name;
  Symbol symbol;
  if (absl::StrContains(name, '/')) {
    absl::StatusOr<const pb::MethodDescriptor*> m =
        ctx.reflection->FindMethod(name);
    if (!m.ok()) return m.status();
    symbol.method = *m;
    return symbol;
  }
  absl::StatusOr<const pb::ServiceDescriptor*> s =
      ctx.reflection->FindService(name);
  if (s.ok()) {
    symbol.service = *s;
    return symbol;
  }
  if (s.status().code() != absl::StatusCode::kNotFound) return s.status();
  absl::StatusOr<const pb::Descriptor*> m = ctx.reflection->FindMessage(name);
  if (m.ok()) {
    symbol.message = *m;
    return symbol;
  }
  if (m.status().code() != absl::StatusCode::kNotFound) return m.status();
  absl::StatusOr<const pb::EnumDescriptor*> e = ctx.reflection->FindEnum(name);
  if (e.ok()) {
    symbol.enum_type = *e;
    return symbol;
  }
  if (e.status().code() != absl::StatusCode::kNotFound) return e.status();
  absl::StatusOr<const pb::MethodDescriptor*> method =
      ctx.reflection->FindMethod(name);
  if (!method.ok()) {
    // "Nope" is not a method name either; the service's NOT_FOUND says more.
    return method.status().code() == absl::StatusCode::kInvalidArgument
               ? s.status()
               : method.status();
  }
  symbol.method = *method;
  return symbol;
}

absl::optional<Failure> RunDescribe(const Context& ctx) {
  absl::StatusOr<Symbol> symbol = FindSymbol(ctx);
  if (!symbol.ok()) {
    return FindFailure(ctx, symbol.status(),
                       "service, method, message or enum");
  }
  if (!ctx.json) {
    PrintResult(DescribeText(*symbol));
    return absl::nullopt;
  }
  absl::StatusOr<std::string> json = DescribeJson(*symbol);
  if (!json.ok()) return LocalError(json.status());
  PrintResult(*json);
  return absl::nullopt;
}

// The request text: `source` itself, or a file's or stdin's contents.
absl::StatusOr<std::string> ReadRequest(const std::string& source) {
  if (source != "-" && !absl::StartsWith(source, "@")) return source;
  if (source == "-") {
    if (isatty(STDIN_FILENO)) {
      fprintf(stderr, "reading the request JSON from stdin (end with ^D)\n");
    }
    return std::string(std::istreambuf_iterator<char>(std::cin),
                       std::istreambuf_iterator<char>());
  }
  const std::string path = source.substr(1);
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  if (file) contents << file.rdbuf();
  if (!file || file.bad()) {
    return absl::NotFoundError(absl::StrCat("cannot read the request from ",
                                            path, ": ", strerror(errno)));
  }
  return contents.str();
}

void PrintResponseMetadata(const ClientContext& call) {
  fprintf(stderr, "peer: %s\n",
          call.peer().empty() ? "(none)" : call.peer().c_str());
  if (call.response_metadata().empty()) {
    fprintf(stderr, "response metadata: (none)\n");
  }
  for (const auto& [key, value] : call.response_metadata()) {
    fprintf(stderr, "< %s: %s\n", key.c_str(), value.c_str());
  }
}

absl::optional<Failure> RunCall(const Context& ctx) {
  absl::StatusOr<const pb::MethodDescriptor*> method =
      ctx.reflection->FindMethod(ctx.command.name);
  if (!method.ok()) return FindFailure(ctx, method.status(), "method");
  absl::StatusOr<std::string> text = ReadRequest(ctx.command.request);
  if (!text.ok()) return LocalError(text.status());

  std::unique_ptr<pb::Message> request =
      ctx.reflection->NewMessage((*method)->input_type());
  std::unique_ptr<pb::Message> response =
      ctx.reflection->NewMessage((*method)->output_type());
  pb::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;  // A typo must not be sent as {}.
  if (auto parsed = pb::util::JsonStringToMessage(*text, request.get(), parse);
      !parsed.ok()) {
    return LocalError(absl::InvalidArgumentError(absl::StrCat(
        "cannot parse the request as ", (*method)->input_type()->full_name(),
        ": ", parsed.message().as_string())));
  }

  ClientContext call;
  call.set_timeout(ctx.timeout);
  call.set_idempotent((*method)->options().idempotency_level() !=
                      pb::MethodOptions::IDEMPOTENCY_UNKNOWN);
  for (const auto& [key, value] : ctx.headers) {
    // PreParse checked the keys already.
    CHECK(call.AddMetadata(key, value).ok()) << key;
  }
  absl::Status status = ctx.channel->CallMethodBlocking(
      (*method)->service()->full_name(), (*method)->name(), *request,
      response.get(), &call);
  if (ctx.verbose) PrintResponseMetadata(call);
  if (!status.ok()) return RpcError(status);

  pb::util::JsonPrintOptions print;
  print.add_whitespace = !ctx.json;
  print.always_print_primitive_fields = absl::GetFlag(FLAGS_emit_defaults);
  std::string json;
  if (auto printed = pb::util::MessageToJsonString(*response, &json, print);
      !printed.ok()) {
    return LocalError(absl::InternalError(absl::StrCat(
        "cannot print the response as JSON: ", printed.message().as_string())));
  }
  PrintResult(json);
  return absl::nullopt;
}

absl::optional<Failure> Run(const Context& ctx) {
  switch (ctx.command.kind) {
    case CommandKind::kList:
      return RunList(ctx);
    case CommandKind::kDescribe:
      return RunDescribe(ctx);
    case CommandKind::kCall:
      return RunCall(ctx);
  }
  return absl::nullopt;
}

int Report(const Failure& failure, bool json) {
  if (json) {
    PrintResult(StatusToJson(failure.status));
  } else {
    fprintf(stderr, "ERROR: %s: %s\n",
            absl::StatusCodeToString(failure.status.code()).c_str(),
            std::string(failure.status.message()).c_str());
    if (failure.kind == Failure::Kind::kUsage) {
      fprintf(stderr, "(mrpc_cli --help for usage)\n");
    }
  }
  return ExitCode(failure);
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  absl::StatusOr<PreParsed> pre = PreParse(argc, argv);
  if (!pre.ok())
    return Report(UsageError(std::string(pre.status().message())), false);
  std::vector<char*> positional = absl::ParseCommandLine(
      static_cast<int>(pre->argv.size()), pre->argv.data());
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  Context ctx;
  ctx.json = absl::GetFlag(FLAGS_json);
  ctx.verbose = absl::GetFlag(FLAGS_verbose);
  ctx.timeout = absl::GetFlag(FLAGS_timeout);
  ctx.headers = std::move(pre->headers);
  // The channel logs reconnects as warnings: noise for a one-shot tool.
  if (!ctx.verbose) FLAGS_minloglevel = google::GLOG_ERROR;

  absl::StatusOr<Command> command = ParseCommand(
      std::vector<std::string>(positional.begin() + 1, positional.end()));
  if (!command.ok()) {
    return Report(UsageError(std::string(command.status().message())),
                  ctx.json);
  }
  ctx.command = *std::move(command);
  if (ctx.timeout <= absl::ZeroDuration()) {
    return Report(UsageError("--timeout must be positive"), ctx.json);
  }

  ChannelOptions options = examples::ChannelOptionsFromFlags();
  examples::ApplyClientTlsFlags(&options);
  absl::StatusOr<std::unique_ptr<Channel>> channel =
      Channel::Create(ctx.command.target, options);
  if (!channel.ok()) {
    const absl::Status& s = channel.status();
    return Report(s.code() == absl::StatusCode::kInvalidArgument
                      ? UsageError(std::string(s.message()))
                      : LocalError(s),
                  ctx.json);
  }
  // Declared after the channel: the client (and its messages) must go first.
  ReflectionClient reflection(channel->get(), ctx.timeout, ctx.headers);
  ctx.channel = channel->get();
  ctx.reflection = &reflection;
  absl::optional<Failure> failure = Run(ctx);
  fflush(stdout);
  return failure ? Report(*failure, ctx.json) : kExitOk;
}

}  // namespace
}  // namespace mrpc::cli

int main(int argc, char** argv) { return mrpc::cli::Main(argc, argv); }
