// /health: 200 {"status":"SERVING"} while the server (or, with
// ?service=<name>, that service) serves; 503 {"status":"NOT_SERVING"} while
// it drains or the application marked it not serving
// (Server::SetServingStatus); 404 {"status":"SERVICE_UNKNOWN"} for a
// service the server does not know. For load balancers and orchestrators.
//
// Internal to the server. The page runs on connection loops.
#ifndef MRPC_RPC_HTTP_PAGES_HEALTH_H_
#define MRPC_RPC_HTTP_PAGES_HEALTH_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"

namespace mrpc {

void InstallHealthPage(std::shared_ptr<ServerView> view,
                       absl::flat_hash_map<std::string, HttpPage>* pages);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_HEALTH_H_
