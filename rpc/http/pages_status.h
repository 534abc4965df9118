// /status: the server at a glance, for a person (HTML) or a program
// (/status?format=json): build, uptime, each method's calls, QPS, errors
// and latency percentiles over the last minute (rpc/http/pages_window.h),
// connections, loops, memory, the worker queue and overload counters.
// docs/guide.md ("### /status") lists the JSON fields.
//
// Internal to the server. The page runs on a connection's loop and reads
// the server only through its ServerView.
#ifndef MRPC_RPC_HTTP_PAGES_STATUS_H_
#define MRPC_RPC_HTTP_PAGES_STATUS_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"

namespace mrpc {

// Adds "/status" to `pages`.
void InstallStatusPage(std::shared_ptr<ServerView> view,
                       absl::flat_hash_map<std::string, HttpPage>* pages);

// The page's two forms for `view` as of `now`.
std::string StatusHtml(const ServerView& view, absl::Time now);
std::string StatusJson(const ServerView& view, absl::Time now);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_STATUS_H_
