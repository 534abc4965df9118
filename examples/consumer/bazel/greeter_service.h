// The Greeter service (greeter.proto): answers "hello, <name>". Stateless;
// any thread may call it.
#ifndef GREETER_SERVICE_H_
#define GREETER_SERVICE_H_

#include "greeter.mrpc.h"

namespace acme::greeter {

class GreeterImpl : public Greeter::Service {
 public:
  absl::Status SayHello(mrpc::ServerContext*, const HelloRequest& request,
                        HelloReply* reply) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("name is empty");
    }
    reply->set_message("hello, " + request.name());
    return absl::OkStatus();
  }
};

}  // namespace acme::greeter

#endif  // GREETER_SERVICE_H_
