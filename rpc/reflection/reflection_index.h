// ReflectionIndex: what a server's reflection service answers
// (proto/reflection.proto): its services and methods, and the .proto files
// that define them with their imports, as FileDescriptorProtos.
//
// The definitions come from protobuf's generated pool, that is, from the
// .pb.cc files linked into the server (a generated service's
// service_descriptor() keeps its file linked). A service registered method
// by method with no compiled-in definition gets a synthesized file,
// "mrpc/reflection/synthesized/<service>.proto", that declares the methods
// over the request and response types' own files.
//
// Internal to the server. Add services, then Build(), before Start(); after
// that it is read-only and any thread may call the const methods.
#ifndef MRPC_RPC_REFLECTION_REFLECTION_INDEX_H_
#define MRPC_RPC_REFLECTION_REFLECTION_INDEX_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/reflection.pb.h"

namespace google::protobuf {
class Descriptor;
class DescriptorPool;
class FileDescriptor;
class ServiceDescriptor;
}  // namespace google::protobuf

namespace mrpc {

class ReflectionIndex {
 public:
  struct Method {
    std::string name;
    const google::protobuf::Descriptor* request;
    const google::protobuf::Descriptor* response;
  };

  ReflectionIndex();
  ~ReflectionIndex();
  ReflectionIndex(const ReflectionIndex&) = delete;
  ReflectionIndex& operator=(const ReflectionIndex&) = delete;

  // A service and its registered methods (in registration order).
  // `descriptor` may be null: Build() then looks the name up in the
  // generated pool, and failing that synthesizes a definition.
  void AddService(absl::string_view name,
                  const google::protobuf::ServiceDescriptor* descriptor,
                  std::vector<Method> methods);
  // Resolves every service's definition and indexes the files. A service
  // whose synthesized file does not build (a name that clashes) is left
  // out, with a warning.
  void Build();

  void ListServices(reflection::v1::ListServicesResponse* response) const;
  // NOT_FOUND for a symbol or file no registered service needs;
  // INVALID_ARGUMENT unless exactly one of symbol and filename is set.
  absl::Status GetFiles(const reflection::v1::GetFilesRequest& request,
                        reflection::v1::GetFilesResponse* response) const;

 private:
  struct Service {
    std::string name;
    const google::protobuf::ServiceDescriptor* descriptor;
    std::vector<Method> methods;
  };
  // Adds `file` and its imports to files_ (imports first).
  void AddFile(const google::protobuf::FileDescriptor* file);
  const google::protobuf::FileDescriptor* FindSymbolFile(
      absl::string_view symbol) const;

  std::vector<Service> services_;
  // Holds the synthesized files, over the generated pool.
  std::unique_ptr<google::protobuf::DescriptorPool> synthesized_;
  // Every file a service needs, by name.
  absl::flat_hash_map<std::string, const google::protobuf::FileDescriptor*>
      files_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_REFLECTION_REFLECTION_INDEX_H_
