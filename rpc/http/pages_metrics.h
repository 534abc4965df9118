// /metrics: the server's counters, per-method statistics, loops and
// process in Prometheus' text format 0.0.4 (docs/guide.md, "/metrics").
//
// Internal to the server. The page runs on connection loops.
#ifndef MRPC_RPC_HTTP_PAGES_METRICS_H_
#define MRPC_RPC_HTTP_PAGES_METRICS_H_

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "rpc/server_shared.h"
#include "rpc/server_view.h"

namespace mrpc {

// The page's text. Thread-safe.
std::string RenderMetrics(const ServerView& view);

void InstallMetricsPage(std::shared_ptr<ServerView> view,
                        absl::flat_hash_map<std::string, HttpPage>* pages);

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_METRICS_H_
