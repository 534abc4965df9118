// The server's built-in HTTP pages, served on its own port beside its
// methods (docs/guide.md, "HTTP, metrics and status pages").
//
// Internal to the server. InstallPages runs once, at Start(); the pages it
// adds run on connection loops and read the server through `view`.
#ifndef MRPC_RPC_HTTP_PAGES_H_
#define MRPC_RPC_HTTP_PAGES_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"

namespace mrpc {

void InstallPages(std::shared_ptr<ServerView> view,
                  absl::flat_hash_map<std::string, HttpPage>* pages);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_H_
