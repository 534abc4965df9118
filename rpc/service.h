// ServiceBase: what every generated service class derives from; lets a
// Server register all of a service's methods at once and holds per-method
// options (such as "run on the worker pool").
//
// Public. Configure before Server::RegisterService(); the service must
// outlive the server. Handlers may then run on any of the server's threads.
//
// Example (with a generated `Greeter::Service`):
//   class GreeterImpl : public Greeter::Service { ... };
//   GreeterImpl service;
//   MethodOptions blocking;
//   blocking.use_worker_pool = true;
//   service.SetMethodOptions("SlowLookup", blocking);  // one method
//   server.RegisterService(&service);
#ifndef MRPC_RPC_SERVICE_H_
#define MRPC_RPC_SERVICE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rpc/server.h"

namespace google::protobuf {
class ServiceDescriptor;
}  // namespace google::protobuf

namespace mrpc {

class ServiceBase {
 public:
  virtual ~ServiceBase() = default;

  // The full protobuf name, e.g. "mrpc.echo.EchoService".
  virtual const char* service_name() const = 0;
  // The service's definition, which server reflection serves (generated
  // services return the one compiled in). Null: the server looks the name
  // up among the compiled-in .proto files, and failing that describes the
  // registered methods alone.
  virtual const google::protobuf::ServiceDescriptor* service_descriptor()
      const {
    return nullptr;
  }

  // Options for one method, by its .proto name.
  void SetMethodOptions(absl::string_view method,
                        const MethodOptions& options) {
    method_options_[method] = options;
  }
  // Options for every method that has none of its own (e.g. a whole
  // blocking service on the worker pool).
  void SetDefaultMethodOptions(const MethodOptions& options) {
    default_options_ = options;
  }

 protected:
  ServiceBase() = default;
  MethodOptions OptionsFor(absl::string_view method) const {
    auto it = method_options_.find(method);
    return it == method_options_.end() ? default_options_ : it->second;
  }

 private:
  friend class Server;
  // Generated: registers each method's handler on `server`.
  virtual absl::Status RegisterMethods(Server* server) = 0;

  absl::flat_hash_map<std::string, MethodOptions> method_options_;
  MethodOptions default_options_;
};

}  // namespace mrpc

#endif  // MRPC_RPC_SERVICE_H_
