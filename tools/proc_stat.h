// Reads a process's CPU time and memory from /proc: what the load testers
// charge to the server under test.
//
// Tool-only. Stateless, thread-safe.
#ifndef MRPC_TOOLS_PROC_STAT_H_
#define MRPC_TOOLS_PROC_STAT_H_

#include <sys/types.h>

namespace mrpc {

// utime + stime of `pid` in seconds (from /proc/PID/stat), or -1.
double ProcessCpuSeconds(pid_t pid);
// Resident set size of `pid` in bytes (VmRSS in /proc/PID/status), or -1.
long long ProcessRssBytes(pid_t pid);

}  // namespace mrpc

#endif  // MRPC_TOOLS_PROC_STAT_H_
