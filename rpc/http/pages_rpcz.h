// /rpcz: the last slow or failed calls (rpc/rpcz.h), newest first, as an
// HTML table or, with ?format=json, JSON (docs/guide.md, "/rpcz").
//
// Internal to the server; installed by InstallPages (rpc/http/pages.cc).
// The page runs on connection loops and reads ServerShared::rpcz.
#ifndef MRPC_RPC_HTTP_PAGES_RPCZ_H_
#define MRPC_RPC_HTTP_PAGES_RPCZ_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"

namespace mrpc {

// Adds "/rpcz" to `pages`.
void InstallRpczPage(std::shared_ptr<ServerView> view,
                     absl::flat_hash_map<std::string, HttpPage>* pages);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_RPCZ_H_
