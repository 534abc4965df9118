#include "rpc/http/pages.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/http/pages_health.h"
#include "rpc/http/pages_metrics.h"
#include "rpc/http/pages_rpcz.h"
#include "rpc/http/pages_status.h"

namespace mrpc {

void InstallPages(std::shared_ptr<ServerView> view,
                  absl::flat_hash_map<std::string, HttpPage>* pages) {
  // The index: what this port serves.
  (*pages)["/"] = [view](const HttpServerRequest&, HttpReply* reply) {
    reply->content_type = "text/plain; charset=utf-8";
    reply->body = absl::StrCat(
        "mrpc server on ", view->address(),
        "\n\n"
        "POST /<package.Service>/<Method>  call a method (JSON or protobuf "
        "body)\n"
        "GET  /metrics                     Prometheus text format\n"
        "GET  /status                      the server at a glance "
        "(?format=json)\n"
        "GET  /health                      200 while serving, else 503 "
        "(?service=)\n"
        "GET  /rpcz                        the last slow or failed calls "
        "(?format=json)\n");
  };
  InstallStatusPage(view, pages);
  InstallRpczPage(view, pages);
  InstallMetricsPage(view, pages);
  InstallHealthPage(view, pages);
}

}  // namespace mrpc
