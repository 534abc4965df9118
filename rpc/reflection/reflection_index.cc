#include "rpc/reflection/reflection_index.h"

#include <glog/logging.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace mrpc {

using google::protobuf::DescriptorPool;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::MethodDescriptor;
using google::protobuf::MethodOptions;
using google::protobuf::ServiceDescriptor;

namespace {

bool Idempotent(const MethodDescriptor* method) {
  const MethodOptions::IdempotencyLevel level =
      method->options().idempotency_level();
  return level == MethodOptions::IDEMPOTENT ||
         level == MethodOptions::NO_SIDE_EFFECTS;
}

// A .proto that declares `service`'s registered methods, importing the
// files of their types.
FileDescriptorProto SynthesizeFile(
    absl::string_view service,
    const std::vector<ReflectionIndex::Method>& methods) {
  FileDescriptorProto file;
  file.set_name(
      absl::StrCat("mrpc/reflection/synthesized/", service, ".proto"));
  file.set_syntax("proto3");
  const size_t dot = service.rfind('.');
  if (dot != absl::string_view::npos) {
    file.set_package(std::string(service.substr(0, dot)));
  }
  auto* proto = file.add_service();
  proto->set_name(std::string(
      dot == absl::string_view::npos ? service : service.substr(dot + 1)));
  absl::flat_hash_set<std::string> imports;
  for (const ReflectionIndex::Method& method : methods) {
    auto* m = proto->add_method();
    m->set_name(method.name);
    m->set_input_type(absl::StrCat(".", method.request->full_name()));
    m->set_output_type(absl::StrCat(".", method.response->full_name()));
    for (const auto* type : {method.request, method.response}) {
      if (imports.insert(type->file()->name()).second) {
        file.add_dependency(type->file()->name());
      }
    }
  }
  return file;
}

}  // namespace

ReflectionIndex::ReflectionIndex()
    : synthesized_(
          std::make_unique<DescriptorPool>(DescriptorPool::generated_pool())) {}

ReflectionIndex::~ReflectionIndex() = default;

void ReflectionIndex::AddService(absl::string_view name,
                                 const ServiceDescriptor* descriptor,
                                 std::vector<Method> methods) {
  services_.push_back({std::string(name), descriptor, std::move(methods)});
}

void ReflectionIndex::Build() {
  std::sort(services_.begin(), services_.end(),
            [](const Service& a, const Service& b) { return a.name < b.name; });
  std::vector<Service> described;
  for (Service& service : services_) {
    if (service.descriptor == nullptr) {
      service.descriptor =
          DescriptorPool::generated_pool()->FindServiceByName(service.name);
    }
    // A compiled-in definition that lacks a registered method (the service
    // was registered by hand, differently) does not describe it.
    for (const Method& method : service.methods) {
      if (service.descriptor == nullptr) break;
      const MethodDescriptor* m =
          service.descriptor->FindMethodByName(method.name);
      if (m == nullptr || m->input_type() != method.request ||
          m->output_type() != method.response) {
        service.descriptor = nullptr;
      }
    }
    if (service.descriptor == nullptr) {
      const FileDescriptorProto proto =
          SynthesizeFile(service.name, service.methods);
      const FileDescriptor* file = synthesized_->BuildFile(proto);
      if (file == nullptr || file->service_count() != 1) {
        LOG(WARNING) << "reflection leaves out service " << service.name
                     << ": no compiled-in definition, and " << proto.name()
                     << " does not build";
        continue;
      }
      service.descriptor = file->service(0);
    }
    AddFile(service.descriptor->file());
    described.push_back(std::move(service));
  }
  services_ = std::move(described);
}

void ReflectionIndex::AddFile(const FileDescriptor* file) {
  if (files_.contains(file->name())) return;
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFile(file->dependency(i));
  }
  files_.emplace(file->name(), file);
}

void ReflectionIndex::ListServices(
    reflection::v1::ListServicesResponse* response) const {
  for (const Service& service : services_) {
    auto* out = response->add_services();
    out->set_name(service.name);
    // The .proto's order where there is one; registration order otherwise
    // (the same for a synthesized definition).
    for (int i = 0; i < service.descriptor->method_count(); ++i) {
      const MethodDescriptor* method = service.descriptor->method(i);
      const bool registered = std::any_of(
          service.methods.begin(), service.methods.end(),
          [&](const Method& m) { return m.name == method->name(); });
      if (!registered) continue;
      auto* m = out->add_methods();
      m->set_name(method->name());
      m->set_request_type(method->input_type()->full_name());
      m->set_response_type(method->output_type()->full_name());
      m->set_idempotent(Idempotent(method));
    }
  }
}

const FileDescriptor* ReflectionIndex::FindSymbolFile(
    absl::string_view symbol) const {
  // The synthesized files' pool finds the generated ones too (its
  // underlay).
  const FileDescriptor* file =
      synthesized_->FindFileContainingSymbol(std::string(symbol));
  if (file == nullptr) return nullptr;
  // Only what a registered service needs.
  auto it = files_.find(file->name());
  return it != files_.end() && it->second == file ? file : nullptr;
}

absl::Status ReflectionIndex::GetFiles(
    const reflection::v1::GetFilesRequest& request,
    reflection::v1::GetFilesResponse* response) const {
  if (request.symbol().empty() == request.filename().empty()) {
    return absl::InvalidArgumentError(
        "GetFiles takes exactly one of symbol and filename");
  }
  const FileDescriptor* file = nullptr;
  if (!request.symbol().empty()) {
    file = FindSymbolFile(request.symbol());
    if (file == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no service of this server defines or uses \"",
                       request.symbol(), "\""));
    }
  } else {
    auto it = files_.find(request.filename());
    if (it == files_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "no service of this server needs file \"", request.filename(), "\""));
    }
    file = it->second;
  }
  // Depth first, imports before importers; a known file is skipped with
  // its imports (the client built it, so it has them).
  absl::flat_hash_set<std::string> done(request.known_files().begin(),
                                        request.known_files().end());
  std::vector<const FileDescriptor*> order;
  std::vector<std::pair<const FileDescriptor*, int>> stack = {{file, 0}};
  if (done.contains(file->name())) return absl::OkStatus();
  done.insert(file->name());
  while (!stack.empty()) {
    auto& [top, next] = stack.back();
    if (next < top->dependency_count()) {
      const FileDescriptor* dep = top->dependency(next++);
      if (done.insert(dep->name()).second) stack.push_back({dep, 0});
      continue;
    }
    order.push_back(top);
    stack.pop_back();
  }
  for (const FileDescriptor* f : order) {
    FileDescriptorProto* proto = response->add_files();
    f->CopyTo(proto);
    f->CopyJsonNameTo(proto);
  }
  return absl::OkStatus();
}

}  // namespace mrpc
