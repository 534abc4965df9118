#include "rpc/http/pages.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "rpc/http/pages_status.h"
#include "rpc/http/pages_rpcz.h"
#include "rpc/http/pages_health.h"
#include "rpc/http/pages_metrics.h"

namespace mrpc {

void InstallPages(std::shared_ptr<ServerView> view,
                  absl::flat_hash_map<std::string, HttpPage>* pages) {
  // The index: what this port serves.
  (*pages)["/"] = [view](const HttpServerRequest&, HttpReply* reply) {
    reply->content_type = "text/plain; charset=utf-8";
    reply->body = absl::StrCat(
        "mrpc server on ", view->address(),
        "\n\n"
        "POST /<package.Service>/<Method>  call a method with a JSON body\n");
  };
  InstallStatusPage(view, pages);
  InstallRpczPage(view, pages);
  InstallMetricsPage(view, pages);
  InstallHealthPage(view, pages);
}

}  // namespace mrpc
