// ReflectionClient: asks a server what it offers (the
// mrpc.reflection.v1.Reflection service every server runs by default,
// proto/reflection.proto) and rebuilds its types from the descriptors it
// sends, so a tool with no .proto on hand can list services, print their
// definitions, and build requests and read responses as dynamic messages
// (with protobuf's JSON mapping, for example).
//
// Public. Not thread-safe: one thread at a time, and never a channel loop's
// own thread (the calls block). Descriptors and messages it returns live
// as long as the client.
//
// Example:
//   ReflectionClient reflection(channel.get());
//   absl::StatusOr<const google::protobuf::MethodDescriptor*> method =
//       reflection.FindMethod("mrpc.examples.kv.KvService/Get");
//   std::unique_ptr<google::protobuf::Message> request =
//       reflection.NewMessage((*method)->input_type());
#ifndef MRPC_RPC_REFLECTION_REFLECTION_CLIENT_H_
#define MRPC_RPC_REFLECTION_REFLECTION_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "rpc/metadata.h"

namespace google::protobuf {
class Descriptor;
class DescriptorPool;
class DynamicMessageFactory;
class EnumDescriptor;
class FileDescriptor;
class Message;
class MethodDescriptor;
class ServiceDescriptor;
}  // namespace google::protobuf

namespace mrpc {

class Channel;

// One method of a server, as ListServices reports it.
struct ReflectedMethod {
  std::string name;           // "Get"
  std::string request_type;   // "mrpc.examples.kv.GetRequest"
  std::string response_type;  // "mrpc.examples.kv.GetResponse"
  bool idempotent = false;    // IDEMPOTENT or NO_SIDE_EFFECTS
};

struct ReflectedService {
  std::string name;  // "mrpc.examples.kv.KvService"
  std::vector<ReflectedMethod> methods;
};

class ReflectionClient {
 public:
  // `channel` is not owned and must outlive the client. Each call to the
  // server has `timeout` and carries `metadata` (for example an
  // "authorization" header).
  explicit ReflectionClient(Channel* channel,
                            absl::Duration timeout = absl::Seconds(10),
                            Metadata metadata = {});
  ~ReflectionClient();
  ReflectionClient(const ReflectionClient&) = delete;
  ReflectionClient& operator=(const ReflectionClient&) = delete;

  // The server's services, sorted by name, with their methods. A server
  // with reflection turned off answers UNIMPLEMENTED; the error says so.
  absl::StatusOr<std::vector<ReflectedService>> ListServices();

  // A service, method or type by its fully qualified name, its file and
  // imports fetched from the server the first time. A method is
  // "pkg.Service/Method" or "pkg.Service.Method". NOT_FOUND when the server
  // does not know the name; errors of the call otherwise.
  absl::StatusOr<const google::protobuf::ServiceDescriptor*> FindService(
      absl::string_view name);
  absl::StatusOr<const google::protobuf::MethodDescriptor*> FindMethod(
      absl::string_view name);
  absl::StatusOr<const google::protobuf::Descriptor*> FindMessage(
      absl::string_view name);
  absl::StatusOr<const google::protobuf::EnumDescriptor*> FindEnum(
      absl::string_view name);

  // An empty message of `type` (a descriptor from this client), to fill
  // (or parse JSON into) and pass to Channel::CallMethod. It must not
  // outlive the client.
  std::unique_ptr<google::protobuf::Message> NewMessage(
      const google::protobuf::Descriptor* type);

  // The pool every descriptor above comes from.
  const google::protobuf::DescriptorPool& pool() const;

 private:
  // Fetches the file that defines `symbol` (and its imports) into the pool
  // unless the pool has the symbol already.
  absl::Status Load(absl::string_view symbol);
  absl::Status Call(absl::string_view method,
                    const google::protobuf::Message& request,
                    google::protobuf::Message* response);

  Channel* const channel_;
  const absl::Duration timeout_;
  const Metadata metadata_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  absl::flat_hash_set<std::string> files_;  // Names of files in pool_.
};

}  // namespace mrpc

#endif  // MRPC_RPC_REFLECTION_REFLECTION_CLIENT_H_
