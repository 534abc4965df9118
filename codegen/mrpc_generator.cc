#include "codegen/mrpc_generator.h"

#include <google/protobuf/compiler/cpp/names.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace mrpc::codegen {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using google::protobuf::SourceLocation;
using google::protobuf::io::Printer;
using Vars = std::map<std::string, std::string>;

const std::set<std::string>& CppKeywords() {
  static const auto* keywords = new std::set<std::string>{
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor",
      "bool", "break", "case", "catch", "char", "char8_t", "char16_t",
      "char32_t", "class", "compl", "concept", "const", "consteval",
      "constexpr", "constinit", "const_cast", "continue", "co_await",
      "co_return", "co_yield", "decltype", "default", "delete", "do", "double",
      "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false",
      "float", "for", "friend", "goto", "if", "inline", "int", "long",
      "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr",
      "operator", "or", "or_eq", "private", "protected", "public", "register",
      "reinterpret_cast", "requires", "return", "short", "signed", "sizeof",
      "static", "static_assert", "static_cast", "struct", "switch", "template",
      "this", "thread_local", "throw", "true", "try", "typedef", "typeid",
      "typename", "union", "unsigned", "using", "virtual", "void", "volatile",
      "wchar_t", "while", "xor", "xor_eq",
      // Macros from headers the generated code includes.
      "NULL", "assert", "errno", "EOF"};
  return *keywords;
}

// Members of the generated classes and their bases: a method whose name
// (or name + "Async"/"Future") equals one of these gets a "_" appended.
const std::set<std::string>& ReservedMembers() {
  static const auto* reserved =
      new std::set<std::string>{"Service",
                                "Stub",
                                "StubInterface",
                                "NewStub",
                                "kServiceName",
                                "service_name",
                                "RegisterMethods",
                                "SetMethodOptions",
                                "SetDefaultMethodOptions",
                                "OptionsFor",
                                "channel_"};
  return *reserved;
}

std::string SafeIdentifier(const std::string& name) {
  return CppKeywords().count(name) ? name + "_" : name;
}

// The global protoc's C++ generator declares in foo.pb.h for foo.proto's
// descriptors: "descriptor_table_" and the file's name with every
// character but letters and digits written as "_" and its hex code.
std::string DescriptorTableName(const FileDescriptor* file) {
  std::string name = "::descriptor_table_";
  for (const char c : file->name()) {
    if (absl::ascii_isalnum(c)) {
      name.push_back(c);
    } else {
      absl::StrAppend(&name, "_", absl::Hex(static_cast<unsigned char>(c)));
    }
  }
  return name;
}

std::string FileStem(const FileDescriptor* file) {
  return std::string(absl::StripSuffix(file->name(), ".proto"));
}

std::string HeaderGuard(const FileDescriptor* file, absl::string_view suffix) {
  std::string guard = absl::StrCat("MRPC_GENERATED_", FileStem(file), suffix);
  for (char& c : guard) {
    c = absl::ascii_isalnum(static_cast<unsigned char>(c))
            ? absl::ascii_toupper(static_cast<unsigned char>(c))
            : '_';
  }
  return guard;
}

std::vector<std::string> NamespaceParts(const FileDescriptor* file) {
  if (file->package().empty()) return {};
  return absl::StrSplit(file->package(), '.');
}

void OpenNamespaces(Printer* p, const FileDescriptor* file) {
  for (const std::string& part : NamespaceParts(file)) {
    p->Print("namespace $part$ {\n", "part", part);
  }
  if (!file->package().empty()) p->Print("\n");
}

void CloseNamespaces(Printer* p, const FileDescriptor* file) {
  std::vector<std::string> parts = NamespaceParts(file);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    p->Print("}  // namespace $part$\n", "part", *it);
  }
}

// The .proto comments in front of `descriptor`, as C++ comment lines.
// protobuf keeps the text after "//" as written (usually with its leading
// space), so each line maps back unchanged.
template <typename Descriptor>
std::string Comments(const Descriptor* descriptor, absl::string_view indent) {
  SourceLocation location;
  if (!descriptor->GetSourceLocation(&location)) return "";
  absl::string_view text =
      absl::StripTrailingAsciiWhitespace(location.leading_comments);
  if (text.empty()) return "";
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(&out, indent, "//",
                    absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

// The identifiers generated for one method.
struct MethodNames {
  const MethodDescriptor* method;
  std::string sync;    // Server sync form; stub blocking form.
  std::string async;   // Server async form; stub callback form.
  std::string future;  // Stub future form.
  std::string request;
  std::string response;
};

std::vector<MethodNames> NameMethods(const ServiceDescriptor* service) {
  std::set<std::string> used = ReservedMembers();
  std::vector<MethodNames> names;
  for (int i = 0; i < service->method_count(); ++i) {
    const MethodDescriptor* method = service->method(i);
    std::string base = SafeIdentifier(method->name());
    while (used.count(base) || used.count(base + "Async") ||
           used.count(base + "Future")) {
      base += "_";
    }
    used.insert({base, base + "Async", base + "Future"});
    names.push_back({method, base, base + "Async", base + "Future",
                     google::protobuf::compiler::cpp::QualifiedClassName(
                         method->input_type()),
                     google::protobuf::compiler::cpp::QualifiedClassName(
                         method->output_type())});
  }
  return names;
}

Vars MethodVars(const ServiceDescriptor* service, const MethodNames& m) {
  return {{"Service", SafeIdentifier(service->name())},
          {"full_name", service->full_name()},
          {"proto_method", m.method->name()},
          {"Sync", m.sync},
          {"Async", m.async},
          {"Future", m.future},
          {"Request", m.request},
          {"Response", m.response}};
}

void PrintHeaderService(Printer* p, const ServiceDescriptor* service) {
  const std::string name = SafeIdentifier(service->name());
  const std::vector<MethodNames> methods = NameMethods(service);
  Vars vars = {{"Service", name}, {"full_name", service->full_name()}};
  p->PrintRaw(Comments(service, ""));
  p->Print(
      vars,
      "class $Service$ final {\n"
      " public:\n"
      "  static constexpr char kServiceName[] = \"$full_name$\";\n"
      "\n"
      "  // The client interface; Stub implements it, and Mock$Service$Stub\n"
      "  // (in the .mrpc.mock.h header) mocks it for tests of calling code.\n"
      "  class StubInterface {\n"
      "   public:\n"
      "    virtual ~StubInterface() = default;\n");
  for (const MethodNames& m : methods) {
    Vars mv = MethodVars(service, m);
    p->Print("\n");
    p->PrintRaw(Comments(m.method, "    "));
    p->Print(
        mv,
        "    // Blocking call.\n"
        "    virtual absl::StatusOr<$Response$> $Sync$(\n"
        "        const $Request$& request,\n"
        "        const ::mrpc::CallOptions& options = {}) = 0;\n"
        "    // Blocking call with a context: deadline, metadata and parent\n"
        "    // in; status, peer and response metadata out.\n"
        "    virtual absl::StatusOr<$Response$> $Sync$(\n"
        "        ::mrpc::ClientContext* context, const $Request$& request) = "
        "0;\n"
        "    // Asynchronous call: `done` runs on the channel's loop; "
        "`context`\n"
        "    // may be null.\n"
        "    virtual void $Async$(\n"
        "        const $Request$& request, ::mrpc::ClientContext* context,\n"
        "        ::mrpc::StubCallback<$Response$> done) = 0;\n"
        "    // Future-style call.\n"
        "    virtual std::future<absl::StatusOr<$Response$>> $Future$(\n"
        "        const $Request$& request,\n"
        "        const ::mrpc::CallOptions& options = {}) = 0;\n");
  }
  p->Print(
      vars,
      "  };\n"
      "\n"
      "  // Calls $full_name$ over a Channel. Thread-safe.\n"
      "  class Stub final : public StubInterface {\n"
      "   public:\n"
      "    // `channel` is not owned and must outlive the stub.\n"
      "    explicit Stub(::mrpc::Channel* channel) : channel_(channel) {}\n");
  for (const MethodNames& m : methods) {
    p->Print(
        MethodVars(service, m),
        "    absl::StatusOr<$Response$> $Sync$(\n"
        "        const $Request$& request,\n"
        "        const ::mrpc::CallOptions& options = {}) override;\n"
        "    absl::StatusOr<$Response$> $Sync$(\n"
        "        ::mrpc::ClientContext* context, const $Request$& request) "
        "override;\n"
        "    void $Async$(\n"
        "        const $Request$& request, ::mrpc::ClientContext* context,\n"
        "        ::mrpc::StubCallback<$Response$> done) override;\n"
        "    std::future<absl::StatusOr<$Response$>> $Future$(\n"
        "        const $Request$& request,\n"
        "        const ::mrpc::CallOptions& options = {}) override;\n");
  }
  p->Print(
      vars,
      "\n"
      "   private:\n"
      "    ::mrpc::Channel* const channel_;\n"
      "  };\n"
      "\n"
      "  static std::unique_ptr<Stub> NewStub(::mrpc::Channel* channel) {\n"
      "    return std::make_unique<Stub>(channel);\n"
      "  }\n"
      "\n"
      "  // The server side: derive, override the synchronous or the\n"
      "  // asynchronous form of each method, then Server::RegisterService().\n"
      "  // The asynchronous form's default calls the synchronous one, whose\n"
      "  // default returns UNIMPLEMENTED. Both run on the connection's loop\n"
      "  // (or the worker pool: ServiceBase::SetMethodOptions); never block "
      "there.\n"
      "  class Service : public ::mrpc::ServiceBase {\n"
      "   public:\n"
      "    Service();\n"
      "    ~Service() override;\n"
      "    const char* service_name() const override { return kServiceName; "
      "}\n"
      "    // From the .proto compiled in, for server reflection.\n"
      "    const ::google::protobuf::ServiceDescriptor* service_descriptor()\n"
      "        const override;\n");
  for (const MethodNames& m : methods) {
    Vars mv = MethodVars(service, m);
    p->Print("\n");
    p->PrintRaw(Comments(m.method, "    "));
    p->Print(
        mv,
        "    // Synchronous form: fill `response`, return the status.\n"
        "    virtual absl::Status $Sync$(\n"
        "        ::mrpc::ServerContext* context, const $Request$& request,\n"
        "        $Response$* response);\n"
        "    // Asynchronous form: fill `response`, then call `done` exactly\n"
        "    // once, from any thread.\n"
        "    virtual void $Async$(\n"
        "        ::mrpc::ServerContext* context, const $Request$& request,\n"
        "        $Response$* response, ::mrpc::RpcDone done);\n");
  }
  p->Print(
      vars,
      "\n"
      "   private:\n"
      "    absl::Status RegisterMethods(::mrpc::Server* server) override;\n"
      "  };\n"
      "};\n"
      "\n");
}

void PrintSourceService(Printer* p, const ServiceDescriptor* service) {
  const std::vector<MethodNames> methods = NameMethods(service);
  Vars vars = {{"Service", SafeIdentifier(service->name())},
               {"full_name", service->full_name()}};
  // Each method's name as a constant: the channel keeps these views
  // instead of copying or interning the names per call.
  p->Print("namespace {\n");
  // Views with explicit lengths: constant expressions under every
  // sanitizer (the const char* constructor's null check is not, under
  // UBSan).
  for (const MethodNames& m : methods) {
    Vars mv = MethodVars(service, m);
    mv["method_size"] = std::to_string(m.method->name().size());
    // The .proto's idempotency_level: a channel may retry such a method
    // after UNAVAILABLE and send it twice (backup requests).
    const auto level = m.method->options().idempotency_level();
    mv["idempotent"] =
        level == google::protobuf::MethodOptions::IDEMPOTENT ||
                level == google::protobuf::MethodOptions::NO_SIDE_EFFECTS
            ? ",\n    /*idempotent=*/true"
            : "";
    p->Print(mv,
             "constexpr ::mrpc::MethodName k$Service$_$proto_method$ = {\n"
             "    ::absl::string_view($Service$::kServiceName,\n"
             "                        sizeof($Service$::kServiceName) - 1),\n"
             "    ::absl::string_view(\"$proto_method$\", $method_size$)"
             "$idempotent$};\n");
  }
  p->Print("}  // namespace\n\n");
  for (const MethodNames& m : methods) {
    p->Print(
        MethodVars(service, m),
        "absl::StatusOr<$Response$> $Service$::Stub::$Sync$(\n"
        "    const $Request$& request, const ::mrpc::CallOptions& options) {\n"
        "  return ::mrpc::BlockingCall<$Response$>(\n"
        "      channel_, k$Service$_$proto_method$, request, options);\n"
        "}\n"
        "\n"
        "absl::StatusOr<$Response$> $Service$::Stub::$Sync$(\n"
        "    ::mrpc::ClientContext* context, const $Request$& request) {\n"
        "  return ::mrpc::BlockingCall<$Response$>(\n"
        "      channel_, k$Service$_$proto_method$, request, context);\n"
        "}\n"
        "\n"
        "void $Service$::Stub::$Async$(\n"
        "    const $Request$& request, ::mrpc::ClientContext* context,\n"
        "    ::mrpc::StubCallback<$Response$> done) {\n"
        "  ::mrpc::AsyncCall<$Response$>(\n"
        "      channel_, k$Service$_$proto_method$, request, context,\n"
        "      std::move(done));\n"
        "}\n"
        "\n"
        "std::future<absl::StatusOr<$Response$>> $Service$::Stub::$Future$(\n"
        "    const $Request$& request, const ::mrpc::CallOptions& options) {\n"
        "  return ::mrpc::FutureCall<$Response$>(\n"
        "      channel_, k$Service$_$proto_method$, request, options);\n"
        "}\n"
        "\n");
  }
  p->Print(vars,
           "$Service$::Service::Service() = default;\n"
           "$Service$::Service::~Service() = default;\n"
           "\n");
  // Reading the file's descriptor table (declared in the .pb.h) links in
  // the .pb.cc that adds the file to protobuf's generated pool, even when
  // no handler uses a message of this file.
  vars["table"] = DescriptorTableName(service->file());
  vars["name"] = service->name();
  p->Print(vars,
           "const ::google::protobuf::ServiceDescriptor*\n"
           "$Service$::Service::service_descriptor() const {\n"
           "  const ::google::protobuf::FileDescriptor* file =\n"
           "      ::google::protobuf::DescriptorPool::generated_pool()\n"
           "          ->FindFileByName($table$.filename);\n"
           "  return file == nullptr ? nullptr\n"
           "                         : file->FindServiceByName(\"$name$\");\n"
           "}\n"
           "\n");
  for (const MethodNames& m : methods) {
    p->Print(MethodVars(service, m),
             "absl::Status $Service$::Service::$Sync$(\n"
             "    ::mrpc::ServerContext*, const $Request$&, $Response$*) {\n"
             "  return absl::UnimplementedError(\n"
             "      \"$full_name$.$proto_method$ is not implemented\");\n"
             "}\n"
             "\n"
             "void $Service$::Service::$Async$(\n"
             "    ::mrpc::ServerContext* context, const $Request$& request,\n"
             "    $Response$* response, ::mrpc::RpcDone done) {\n"
             "  done($Sync$(context, request, response));\n"
             "}\n"
             "\n");
  }
  p->Print(vars,
           "absl::Status $Service$::Service::RegisterMethods(::mrpc::Server* "
           "server) {\n");
  for (const MethodNames& m : methods) {
    p->Print(
        MethodVars(service, m),
        "  if (absl::Status status = server->RegisterMethod<$Request$, "
        "$Response$>(\n"
        "          kServiceName, \"$proto_method$\",\n"
        "          [this](::mrpc::ServerContext* context, const $Request$& "
        "request,\n"
        "                 $Response$* response, ::mrpc::RpcDone&& done) {\n"
        "            $Async$(context, request, response, std::move(done));\n"
        "          },\n"
        "          OptionsFor(\"$proto_method$\"));\n"
        "      !status.ok()) {\n"
        "    return status;\n"
        "  }\n");
  }
  p->Print(
      "  return absl::OkStatus();\n"
      "}\n"
      "\n");
}

void PrintMockService(Printer* p, const ServiceDescriptor* service) {
  Vars vars = {{"Service", SafeIdentifier(service->name())},
               {"full_name", service->full_name()}};
  p->Print(
      vars,
      "// A gmock of $Service$::StubInterface, for tests of code that calls\n"
      "// $full_name$ without a server.\n"
      "class Mock$Service$Stub : public $Service$::StubInterface {\n"
      " public:\n");
  for (const MethodNames& m : NameMethods(service)) {
    p->Print(
        MethodVars(service, m),
        "  MOCK_METHOD((absl::StatusOr<$Response$>), $Sync$,\n"
        "              (const $Request$& request, const ::mrpc::CallOptions& "
        "options),\n"
        "              (override));\n"
        "  MOCK_METHOD((absl::StatusOr<$Response$>), $Sync$,\n"
        "              (::mrpc::ClientContext* context, const $Request$& "
        "request),\n"
        "              (override));\n"
        "  MOCK_METHOD(void, $Async$,\n"
        "              (const $Request$& request, ::mrpc::ClientContext* "
        "context,\n"
        "               ::mrpc::StubCallback<$Response$> done),\n"
        "              (override));\n"
        "  MOCK_METHOD((std::future<absl::StatusOr<$Response$>>), $Future$,\n"
        "              (const $Request$& request, const ::mrpc::CallOptions& "
        "options),\n"
        "              (override));\n");
  }
  p->Print("};\n\n");
}

}  // namespace

bool MrpcGenerator::Generate(
    const FileDescriptor* file, const std::string& parameter,
    google::protobuf::compiler::GeneratorContext* context,
    std::string* error) const {
  if (!parameter.empty()) {
    *error = "protoc-gen-mrpc takes no options (got \"" + parameter + "\")";
    return false;
  }
  for (int i = 0; i < file->service_count(); ++i) {
    const ServiceDescriptor* service = file->service(i);
    for (int j = 0; j < service->method_count(); ++j) {
      const MethodDescriptor* method = service->method(j);
      if (method->client_streaming() || method->server_streaming()) {
        *error = absl::StrCat("method ", method->full_name(),
                              ": streaming RPCs are not supported by "
                              "protoc-gen-mrpc yet (only unary "
                              "request/response methods)");
        return false;
      }
    }
  }
  const std::string stem = FileStem(file);
  const std::string banner =
      absl::StrCat("// Generated by protoc-gen-mrpc from ", file->name(),
                   ". DO NOT EDIT.\n");

  {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(stem + ".mrpc.h"));
    Printer p(out.get(), '$');
    const std::string guard = HeaderGuard(file, "_MRPC_H_");
    p.PrintRaw(banner);
    p.Print(
        "#ifndef $guard$\n"
        "#define $guard$\n"
        "\n"
        "#include <future>\n"
        "#include <memory>\n"
        "\n"
        "#include \"$stem$.pb.h\"\n"
        "#include \"absl/status/status.h\"\n"
        "#include \"absl/status/statusor.h\"\n"
        "#include \"rpc/channel.h\"\n"
        "#include \"rpc/client_context.h\"\n"
        "#include \"rpc/server.h\"\n"
        "#include \"rpc/server_context.h\"\n"
        "#include \"rpc/service.h\"\n"
        "#include \"rpc/stub.h\"\n"
        "\n",
        "guard", guard, "stem", stem);
    OpenNamespaces(&p, file);
    for (int i = 0; i < file->service_count(); ++i)
      PrintHeaderService(&p, file->service(i));
    CloseNamespaces(&p, file);
    p.Print("\n#endif  // $guard$\n", "guard", guard);
  }
  {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(stem + ".mrpc.cc"));
    Printer p(out.get(), '$');
    p.PrintRaw(banner);
    p.Print(
        "#include \"$stem$.mrpc.h\"\n"
        "\n"
        "#include <google/protobuf/descriptor.h>\n"
        "\n"
        "#include <utility>\n"
        "\n",
        "stem", stem);
    OpenNamespaces(&p, file);
    for (int i = 0; i < file->service_count(); ++i)
      PrintSourceService(&p, file->service(i));
    CloseNamespaces(&p, file);
  }
  {
    std::unique_ptr<google::protobuf::io::ZeroCopyOutputStream> out(
        context->Open(stem + ".mrpc.mock.h"));
    Printer p(out.get(), '$');
    const std::string guard = HeaderGuard(file, "_MRPC_MOCK_H_");
    p.PrintRaw(banner);
    p.Print(
        "#ifndef $guard$\n"
        "#define $guard$\n"
        "\n"
        "#include <gmock/gmock.h>\n"
        "\n"
        "#include \"$stem$.mrpc.h\"\n"
        "\n",
        "guard", guard, "stem", stem);
    OpenNamespaces(&p, file);
    for (int i = 0; i < file->service_count(); ++i)
      PrintMockService(&p, file->service(i));
    CloseNamespaces(&p, file);
    p.Print("\n#endif  // $guard$\n", "guard", guard);
  }
  return true;
}

}  // namespace mrpc::codegen
