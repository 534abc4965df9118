// ProcessStats: this process's resources as Prometheus' standard process_*
// metrics name them (/metrics), read from /proc/self. tools/proc_stat.h
// reads another process's CPU and RSS for the load testers; this reads
// more, of this process only.
//
// Internal to mrpc. Stateless, thread-safe.
#ifndef MRPC_RPC_HTTP_PROCESS_STATS_H_
#define MRPC_RPC_HTTP_PROCESS_STATS_H_

#include <cstdint>

namespace mrpc {

// Each field is -1 when it could not be read.
struct ProcessStats {
  double cpu_seconds = -1;         // utime + stime.
  double start_time_seconds = -1;  // Since the Unix epoch.
  int64_t resident_memory_bytes = -1;
  int64_t virtual_memory_bytes = -1;
  int64_t open_fds = -1;
  int64_t max_fds = -1;  // RLIMIT_NOFILE's soft limit.
  int64_t threads = -1;
};

ProcessStats ReadProcessStats();

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PROCESS_STATS_H_
