// mrpc_cli's output: what a server offers and what its types look like, for
// people (aligned text, .proto definitions) and for programs (--json). Pure
// functions of reflection results and descriptors, unit-tested with compiled-in
// descriptors.
//
// Internal to tools/cli. Thread-compatible.
#ifndef MRPC_TOOLS_CLI_CLI_FORMAT_H_
#define MRPC_TOOLS_CLI_CLI_FORMAT_H_

#include <google/protobuf/descriptor.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rpc/reflection/reflection_client.h"

namespace mrpc::cli {

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

// {"code":"NOT_FOUND","code_number":5,"message":"..."}
std::string StatusToJson(const absl::Status& status);

// One block per service: its name, then its methods indented, the
// "returns" aligned, idempotent ones marked:
//   mrpc.examples.kv.KvService
//     Get(mrpc.examples.kv.GetRequest) returns (mrpc.examples.kv.GetResponse)
//     [idempotent]
std::string FormatServices(const std::vector<ReflectedService>& services);

// {"services":[{"name":...,"methods":[{"name":"Get","requestType":...,
// "responseType":...,"idempotent":true}]}]}, the field names as
// ListServices' own JSON has them.
std::string ServicesToJson(const std::vector<ReflectedService>& services);

// What `describe` found: exactly one of the pointers is set.
struct Symbol {
  const google::protobuf::ServiceDescriptor* service = nullptr;
  const google::protobuf::MethodDescriptor* method = nullptr;
  const google::protobuf::Descriptor* message = nullptr;
  const google::protobuf::EnumDescriptor* enum_type = nullptr;
};

// A comment naming the symbol and its file, then its .proto definition; for
// a method also its request and response messages and the message and enum
// types their fields use (transitively), so a reader sees what to send.
std::string DescribeText(const Symbol& symbol);

// {"symbol":...,"kind":"service"|"method"|"message"|"enum","file":...,
//  "descriptor":{the ...DescriptorProto as JSON}}, and for a method
//  "request" and "response" with the DescriptorProtos of its messages.
absl::StatusOr<std::string> DescribeJson(const Symbol& symbol);

}  // namespace mrpc::cli

#endif  // MRPC_TOOLS_CLI_CLI_FORMAT_H_
