#include "rpc/reflection/reflection_client.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/reflection.pb.h"
#include "rpc/channel.h"
#include "rpc/client_context.h"

namespace mrpc {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

namespace {

constexpr char kService[] = "mrpc.reflection.v1.Reflection";

// Collects the first error of a file that does not build.
class FirstError : public DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& filename, const std::string& element_name,
                const google::protobuf::Message*, ErrorLocation,
                const std::string& message) override {
    if (error.empty()) {
      error = absl::StrCat(filename, ": ", element_name, ": ", message);
    }
  }
  std::string error;
};

}  // namespace

ReflectionClient::ReflectionClient(Channel* channel, absl::Duration timeout,
                                   Metadata metadata)
    : channel_(channel),
      timeout_(timeout),
      metadata_(std::move(metadata)),
      pool_(std::make_unique<DescriptorPool>()),
      factory_(std::make_unique<google::protobuf::DynamicMessageFactory>(
          pool_.get())) {}

ReflectionClient::~ReflectionClient() = default;

absl::Status ReflectionClient::Call(absl::string_view method,
                                    const google::protobuf::Message& request,
                                    google::protobuf::Message* response) {
  ClientContext context;
  context.set_timeout(timeout_);
  for (const auto& [key, value] : metadata_) {
    if (absl::Status s = context.AddMetadata(key, value); !s.ok()) return s;
  }
  absl::Status status = channel_->CallMethodBlocking(kService, method, request,
                                                     response, &context);
  if (status.code() == absl::StatusCode::kUnimplemented) {
    return absl::UnimplementedError(absl::StrCat(
        channel_->target(), " does not serve ", kService,
        " (ServerOptions::reflection is false?): ", status.message()));
  }
  return status;
}

absl::StatusOr<std::vector<ReflectedService>> ReflectionClient::ListServices() {
  reflection::v1::ListServicesRequest request;
  reflection::v1::ListServicesResponse response;
  if (absl::Status s = Call("ListServices", request, &response); !s.ok()) {
    return s;
  }
  std::vector<ReflectedService> services;
  for (const auto& service : response.services()) {
    ReflectedService& out = services.emplace_back();
    out.name = service.name();
    for (const auto& method : service.methods()) {
      out.methods.push_back({method.name(), method.request_type(),
                             method.response_type(), method.idempotent()});
    }
  }
  return services;
}

absl::Status ReflectionClient::Load(absl::string_view symbol) {
  const std::string name(symbol);
  if (pool_->FindFileContainingSymbol(name) != nullptr) {
    return absl::OkStatus();
  }
  reflection::v1::GetFilesRequest request;
  request.set_symbol(name);
  for (const std::string& file : files_) request.add_known_files(file);
  reflection::v1::GetFilesResponse response;
  if (absl::Status s = Call("GetFiles", request, &response); !s.ok()) return s;
  for (const FileDescriptorProto& file : response.files()) {
    if (files_.contains(file.name())) continue;
    FirstError errors;
    if (pool_->BuildFileCollectingErrors(file, &errors) == nullptr) {
      return absl::InternalError(
          absl::StrCat("the server's definition of ", file.name(),
                       " does not build: ", errors.error));
    }
    files_.insert(file.name());
  }
  if (pool_->FindFileContainingSymbol(name) == nullptr) {
    return absl::InternalError(absl::StrCat(
        "the server sent files that do not define \"", name, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<const ServiceDescriptor*> ReflectionClient::FindService(
    absl::string_view name) {
  if (absl::Status s = Load(name); !s.ok()) return s;
  const ServiceDescriptor* service =
      pool_->FindServiceByName(std::string(name));
  if (service == nullptr) {
    return absl::NotFoundError(absl::StrCat("\"", name, "\" is not a service"));
  }
  return service;
}

absl::StatusOr<const MethodDescriptor*> ReflectionClient::FindMethod(
    absl::string_view name) {
  size_t split = name.rfind('/');
  if (split == absl::string_view::npos) split = name.rfind('.');
  if (split == absl::string_view::npos || split == 0 ||
      split + 1 == name.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", name, "\" is not a method name (pkg.Service/Method)"));
  }
  absl::StatusOr<const ServiceDescriptor*> service =
      FindService(name.substr(0, split));
  if (!service.ok()) return service.status();
  const MethodDescriptor* method =
      (*service)->FindMethodByName(std::string(name.substr(split + 1)));
  if (method == nullptr) {
    return absl::NotFoundError(absl::StrCat("service ", (*service)->full_name(),
                                            " has no method \"",
                                            name.substr(split + 1), "\""));
  }
  return method;
}

absl::StatusOr<const Descriptor*> ReflectionClient::FindMessage(
    absl::string_view name) {
  if (absl::Status s = Load(name); !s.ok()) return s;
  const Descriptor* message = pool_->FindMessageTypeByName(std::string(name));
  if (message == nullptr) {
    return absl::NotFoundError(absl::StrCat("\"", name, "\" is not a message"));
  }
  return message;
}

absl::StatusOr<const EnumDescriptor*> ReflectionClient::FindEnum(
    absl::string_view name) {
  if (absl::Status s = Load(name); !s.ok()) return s;
  const EnumDescriptor* type = pool_->FindEnumTypeByName(std::string(name));
  if (type == nullptr) {
    return absl::NotFoundError(absl::StrCat("\"", name, "\" is not an enum"));
  }
  return type;
}

std::unique_ptr<google::protobuf::Message> ReflectionClient::NewMessage(
    const Descriptor* type) {
  return std::unique_ptr<google::protobuf::Message>(
      factory_->GetPrototype(type)->New());
}

const DescriptorPool& ReflectionClient::pool() const { return *pool_; }

}  // namespace mrpc
