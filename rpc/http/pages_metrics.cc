#include "rpc/http/pages_metrics.h"

#include <glog/logging.h>
#include <google/protobuf/stubs/common.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "rpc/http/process_stats.h"
#include "rpc/http/prometheus.h"
#include "rpc/method_stats.h"

namespace mrpc {
namespace {

using Labels = PrometheusWriter::Labels;
constexpr auto kCounter = PrometheusWriter::kCounter;
constexpr auto kGauge = PrometheusWriter::kGauge;

// The latency histogram's exported buckets: Prometheus' usual 1-2.5-5
// bounds from 50 us to 10 s, each one of LatencyBuckets' bounds, so an
// exported bucket is a sum of whole internal buckets.
constexpr int64_t kExportedBoundsUs[] = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

struct ExportedBuckets {
  std::vector<double> bounds_seconds;
  // The last internal bucket each exported bucket takes.
  std::vector<int> last_index;
  ExportedBuckets() {
    int i = 0;
    for (int64_t us : kExportedBoundsUs) {
      while (i < LatencyBuckets::kBounded &&
             LatencyBuckets::UpperBoundUs(i) < us)
        ++i;
      CHECK(i < LatencyBuckets::kBounded &&
            LatencyBuckets::UpperBoundUs(i) == us)
          << us << " us is not a bound of LatencyBuckets";
      bounds_seconds.push_back(static_cast<double>(us) / 1e6);
      last_index.push_back(i);
    }
  }
};

const ExportedBuckets& Exported() {
  static const ExportedBuckets* const buckets = new ExportedBuckets;
  return *buckets;
}

void AddMethods(const std::vector<MethodSnapshot>& methods,
                PrometheusWriter* w) {
  const ExportedBuckets& exported = Exported();
  for (const MethodSnapshot& m : methods) {
    const Labels labels = {{"service", m.service}, {"method", m.method}};
    w->Add("mrpc_server_requests_total", kCounter,
           "Calls of the method answered (any status).", labels,
           static_cast<double>(m.calls()));
    for (int code = 0; code < static_cast<int>(m.codes.size()); ++code) {
      // OK always, so that every method has the family; errors once seen.
      if (code != 0 && m.codes[code] == 0) continue;
      Labels with_code = labels;
      with_code.emplace_back("code", absl::StatusCodeToString(
                                         static_cast<absl::StatusCode>(code)));
      w->Add("mrpc_server_responses_total", kCounter,
             "Calls of the method answered, by status code.", with_code,
             static_cast<double>(m.codes[code]));
    }
    std::vector<uint64_t> counts(exported.bounds_seconds.size() + 1, 0);
    size_t k = 0;
    for (int i = 0; i < LatencyBuckets::kCount; ++i) {
      while (k < exported.last_index.size() && i > exported.last_index[k]) ++k;
      counts[k] += m.buckets[i];
    }
    w->AddHistogram("mrpc_server_request_duration_seconds",
                    "Time from a request's arrival to its answer.", labels,
                    exported.bounds_seconds, counts,
                    static_cast<double>(m.latency_sum_ns) / 1e9);
  }
}

void AddServer(const ServerStats& s, PrometheusWriter* w) {
  struct Counter {
    const char* name;
    const char* help;
    uint64_t value;
  };
  // Help text from ServerStats' comments (rpc/server.h).
  const Counter counters[] = {
      {"mrpc_server_requests_received_total",
       "Requests received (mrpc REQUEST frames and HTTP calls).", s.requests},
      {"mrpc_server_responses_sent_total", "Responses sent (any status).",
       s.responses},
      {"mrpc_server_protocol_errors_total",
       "Connections closed for bad frames.", s.protocol_errors},
      {"mrpc_server_unimplemented_total",
       "Calls of an unknown service or method.", s.unimplemented},
      {"mrpc_server_deadline_exceeded_total",
       "Calls answered DEADLINE_EXCEEDED.", s.deadline_exceeded},
      {"mrpc_server_overloaded_total",
       "Calls answered RESOURCE_EXHAUSTED for the server's own limits (worker "
       "queue, max_calls_per_connection, memory budget, max_frame_size).",
       s.overloaded},
      {"mrpc_server_cancels_total", "CANCEL frames received.", s.cancels},
      {"mrpc_server_pings_total", "PING frames answered.", s.pings},
      {"mrpc_server_frame_timeouts_total",
       "Connections closed: a frame did not arrive within frame_timeout.",
       s.frame_timeouts},
      {"mrpc_server_invalid_metadata_total",
       "Requests refused for their metadata.", s.invalid_metadata},
      {"mrpc_server_oversized_requests_total",
       "Requests over max_frame_size, skipped.", s.oversized_requests},
      {"mrpc_server_oversized_responses_total",
       "Responses over max_frame_size, failed.", s.oversized_responses},
      {"mrpc_server_memory_refusals_total",
       "Requests and responses refused because the memory budget was spent.",
       s.memory_refusals},
      {"mrpc_server_limited_total",
       "Calls refused at arrival: at the method's concurrency limit.",
       s.limited},
      {"mrpc_server_shed_total",
       "Calls refused at arrival: the deadline was shorter than the method's "
       "recent latency.",
       s.shed},
      {"mrpc_server_connection_cap_refusals_total",
       "Requests refused for max_calls_per_connection.",
       s.connection_cap_refusals},
      {"mrpc_server_connections_accepted_total", "Connections accepted.",
       s.connections_accepted},
      {"mrpc_server_http_requests_total", "HTTP requests parsed.",
       s.http_requests},
      {"mrpc_server_http_bad_requests_total",
       "HTTP requests rejected by the parser (answered 4xx, closed).",
       s.http_bad_requests},
      {"mrpc_server_http_timeouts_total",
       "HTTP requests too slow (answered 408, closed).", s.http_timeouts},
  };
  for (const Counter& c : counters) {
    w->Add(c.name, kCounter, c.help, {}, static_cast<double>(c.value));
  }

  const char* const closed = "Connections closed by the server, by reason.";
  const std::pair<const char*, uint64_t> closes[] = {
      {"idle", s.idle_closes},
      {"output_overflow", s.overflow_closes},
      {"output_stalled", s.stall_closes},
      {"error", s.error_closes},
  };
  for (const auto& [reason, n] : closes) {
    w->Add("mrpc_server_connections_closed_total", kCounter, closed,
           {{"reason", reason}}, static_cast<double>(n));
  }
  const char* const rejected =
      "Connections refused at accept: max_connections reached, or the "
      "process out of fds.";
  w->Add("mrpc_server_connections_rejected_total", kCounter, rejected,
         {{"reason", "max_connections"}},
         static_cast<double>(s.rejected_over_cap));
  w->Add("mrpc_server_connections_rejected_total", kCounter, rejected,
         {{"reason", "fd_exhaustion"}},
         static_cast<double>(s.fd_exhaustion_drops));
  const char* const by_protocol =
      "Connections by the protocol their first bytes chose; \"unknown\" ones "
      "(neither, or HTTP with HTTP off) were closed.";
  const std::pair<const char*, uint64_t> protocols[] = {
      {"mrpc", s.mrpc_connections},
      {"http", s.http_connections},
      {"unknown", s.unknown_protocol_closes},
  };
  for (const auto& [protocol, n] : protocols) {
    w->Add("mrpc_server_connections_by_protocol_total", kCounter, by_protocol,
           {{"protocol", protocol}}, static_cast<double>(n));
  }
  const char* const handshakes =
      "TLS handshakes by result: \"failed\" counts bad records, "
      "certificates that did not verify, timeouts and peers that left.";
  w->Add("mrpc_server_tls_handshakes_total", kCounter, handshakes,
         {{"result", "ok"}}, static_cast<double>(s.tls_handshakes));
  w->Add("mrpc_server_tls_handshakes_total", kCounter, handshakes,
         {{"result", "failed"}}, static_cast<double>(s.tls_handshake_failures));
  w->Add("mrpc_server_tls_plaintext_refused_total", kCounter,
         "Plaintext connections closed because the port requires TLS.", {},
         static_cast<double>(s.tls_plaintext_refused));
  w->Add("mrpc_server_tls_reloads_total", kCounter,
         "Certificate and key reloads that changed what new connections get.",
         {}, static_cast<double>(s.tls_reloads));

  struct Gauge {
    const char* name;
    const char* help;
    double value;
  };
  const Gauge gauges[] = {
      {"mrpc_server_connections", "Connections open now.",
       static_cast<double>(s.connections)},
      {"mrpc_server_calls_in_flight", "Calls received and not yet answered.",
       static_cast<double>(s.calls_in_flight)},
      {"mrpc_server_memory_limit_bytes",
       "The memory budget for peers' buffers and requests.",
       static_cast<double>(s.memory_limit)},
      {"mrpc_server_memory_used_bytes",
       "Bytes charged to the memory budget now.",
       static_cast<double>(s.memory_used)},
      {"mrpc_server_memory_peak_bytes",
       "The most bytes ever charged to the memory budget.",
       static_cast<double>(s.memory_peak)},
      {"mrpc_server_worker_queue_calls", "Calls waiting for a worker now.",
       static_cast<double>(s.worker_queue_calls)},
      {"mrpc_server_worker_queue_bytes",
       "Request bytes of the calls waiting for a worker now.",
       static_cast<double>(s.worker_queue_bytes)},
  };
  for (const Gauge& g : gauges) w->Add(g.name, kGauge, g.help, {}, g.value);
}

void AddLoops(const std::vector<LoopView>& loops, PrometheusWriter* w) {
  for (const LoopView& loop : loops) {
    const Labels labels = {{"loop", loop.name}};
    w->Add("mrpc_server_loop_busy_seconds_total", kCounter,
           "Time the event loop spent outside epoll_wait.", labels,
           static_cast<double>(loop.busy_ns) / 1e9);
    w->Add("mrpc_server_loop_iterations_total", kCounter,
           "Event loop iterations.", labels,
           static_cast<double>(loop.iterations));
    w->Add("mrpc_server_loop_stalls_total", kCounter,
           "Event loop iterations past the stall threshold.", labels,
           static_cast<double>(loop.stalls));
    w->Add("mrpc_server_loop_stalled_seconds_total", kCounter,
           "Time of the event loop's stalled iterations.", labels,
           static_cast<double>(loop.stalled_ns) / 1e9);
  }
}

// Prometheus' standard process metrics (client_golang's names); a value
// that could not be read is left out.
void AddProcess(PrometheusWriter* w) {
  const ProcessStats p = ReadProcessStats();
  auto add = [w](const char* name, PrometheusWriter::Type type,
                 const char* help, double value) {
    if (value >= 0) w->Add(name, type, help, {}, value);
  };
  add("process_cpu_seconds_total", kCounter,
      "Total user and system CPU time spent in seconds.", p.cpu_seconds);
  add("process_start_time_seconds", kGauge,
      "Start time of the process since unix epoch in seconds.",
      p.start_time_seconds);
  add("process_resident_memory_bytes", kGauge, "Resident memory size in bytes.",
      static_cast<double>(p.resident_memory_bytes));
  add("process_virtual_memory_bytes", kGauge, "Virtual memory size in bytes.",
      static_cast<double>(p.virtual_memory_bytes));
  add("process_open_fds", kGauge, "Number of open file descriptors.",
      static_cast<double>(p.open_fds));
  add("process_max_fds", kGauge, "Maximum number of open file descriptors.",
      static_cast<double>(p.max_fds));
  add("process_threads", kGauge, "Number of OS threads in the process.",
      static_cast<double>(p.threads));
}

}  // namespace

std::string RenderMetrics(const ServerView& view) {
  PrometheusWriter w;
  AddMethods(view.methods(), &w);
  AddServer(view.stats(), &w);
  AddLoops(view.loops(), &w);
  w.Add("mrpc_server_uptime_seconds", kGauge, "Time since the server started.",
        {}, absl::ToDoubleSeconds(absl::Now() - view.start_time()));
  // mrpc has no release version yet: what it was built with.
#if defined(__clang__)
  const char* const compiler = "clang " __clang_version__;
#else
  const char* const compiler = "gcc " __VERSION__;
#endif
  w.Add("mrpc_build_info", kGauge,
        "Always 1; the labels say what mrpc was built with.",
        {{"compiler", compiler},
         {"protobuf",
          google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION)}},
        1);
  AddProcess(&w);
  return w.Finish();
}

void InstallMetricsPage(std::shared_ptr<ServerView> view,
                        absl::flat_hash_map<std::string, HttpPage>* pages) {
  (*pages)["/metrics"] = [view = std::move(view)](const HttpServerRequest&,
                                                  HttpReply* reply) {
    reply->content_type = kPrometheusContentType;
    reply->body = RenderMetrics(*view);
  };
}

}  // namespace mrpc
