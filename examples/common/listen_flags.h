// --host, the address every example server listens on: 127.0.0.1 by
// default, so a server started to try something out serves only this
// machine; --host=0.0.0.0 (or ::) serves other machines too. Each server
// declares its own --port (their defaults differ).
//
// Call from main(), after absl::ParseCommandLine().
#ifndef MRPC_EXAMPLES_COMMON_LISTEN_FLAGS_H_
#define MRPC_EXAMPLES_COMMON_LISTEN_FLAGS_H_

#include <string>

namespace mrpc::examples {

// The address for Server::Start(): --host, then `port` ("127.0.0.1:9000";
// an IPv6 host in brackets, "[::]:9000").
std::string ListenAddress(int port);

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_LISTEN_FLAGS_H_
