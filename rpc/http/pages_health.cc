#include "rpc/http/pages_health.h"

#include <optional>
#include <utility>

#include "rpc/health.h"
#include "rpc/server_shared.h"

namespace mrpc {

void InstallHealthPage(std::shared_ptr<ServerView> view,
                       absl::flat_hash_map<std::string, HttpPage>* pages) {
  (*pages)["/health"] = [view = std::move(view)](
                            const HttpServerRequest& request,
                            HttpReply* reply) {
    const std::optional<std::string> service = request.QueryParam("service");
    const HealthStatus::State state =
        view->shared().health.Get(service.value_or(""));
    reply->content_type = "application/json";
    // A probe must see the status now, not a cache's copy.
    reply->headers.emplace_back("Cache-Control", "no-store");
    if (state == HealthStatus::State::kUnknown) {
      reply->status = 404;
      reply->body = "{\"status\":\"SERVICE_UNKNOWN\"}\n";
    } else if (state == HealthStatus::State::kServing && !view->draining()) {
      reply->body = "{\"status\":\"SERVING\"}\n";
    } else {
      reply->status = 503;
      reply->body = "{\"status\":\"NOT_SERVING\"}\n";
    }
  };
}

}  // namespace mrpc
