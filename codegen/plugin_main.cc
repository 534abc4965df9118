// protoc-gen-mrpc: protoc's plugin protocol in, mrpc stubs out.
//
//   protoc --plugin=protoc-gen-mrpc=path/to/protoc-gen-mrpc
//       --cpp_out=OUT --mrpc_out=OUT foo.proto
// (one command; a line-continuing backslash in a // comment is a -Wcomment
// warning in every build of the plugin, consumers' included).
#include <google/protobuf/compiler/plugin.h>

#include "codegen/mrpc_generator.h"

int main(int argc, char** argv) {
  mrpc::codegen::MrpcGenerator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
