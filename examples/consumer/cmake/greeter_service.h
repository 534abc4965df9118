// The Greeter service: the one class a server of your own writes.
#ifndef ACME_GREETER_SERVICE_H_
#define ACME_GREETER_SERVICE_H_

#include "absl/status/status.h"
#include "greeter.mrpc.h"

namespace acme::greeter {

class GreeterImpl final : public Greeter::Service {
 public:
  absl::Status SayHello(mrpc::ServerContext* context,
                        const HelloRequest& request,
                        HelloReply* response) override {
    if (request.name().empty()) {
      return absl::InvalidArgumentError("name is empty");
    }
    response->set_message("hello, " + request.name());
    return absl::OkStatus();
  }
};

}  // namespace acme::greeter

#endif  // ACME_GREETER_SERVICE_H_
