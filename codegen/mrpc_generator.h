// MrpcGenerator: the protoc plugin's code generator. For foo.proto it writes
// foo.mrpc.h / foo.mrpc.cc (per service: a server base class, a client stub
// and the interface the stub implements) and foo.mrpc.mock.h (a gmock of
// that interface), beside protobuf's foo.pb.h.
//
// Internal to codegen/. Run by protoc, once per file; no shared state.
#ifndef MRPC_CODEGEN_MRPC_GENERATOR_H_
#define MRPC_CODEGEN_MRPC_GENERATOR_H_

#include <google/protobuf/compiler/code_generator.h>

#include <string>

namespace mrpc::codegen {

class MrpcGenerator : public google::protobuf::compiler::CodeGenerator {
 public:
  bool Generate(const google::protobuf::FileDescriptor* file,
                const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;

  uint64_t GetSupportedFeatures() const override {
    return FEATURE_PROTO3_OPTIONAL;
  }
};

}  // namespace mrpc::codegen

#endif  // MRPC_CODEGEN_MRPC_GENERATOR_H_
