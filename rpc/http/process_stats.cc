#include "rpc/http/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace mrpc {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// The boot time in seconds since the epoch ("btime" in /proc/stat), or -1.
int64_t BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    long long btime = 0;
    if (std::sscanf(line.c_str(), "btime %lld", &btime) == 1) return btime;
  }
  return -1;
}

int64_t CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  // Less the descriptor opendir() held while listing.
  return n - 1;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats stats;
  const std::string stat = ReadFile("/proc/self/stat");
  // The command name (field 2) may hold spaces and parentheses: parse
  // after its last ")". From field 3 (state) on, proc(5) numbering.
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && paren + 2 < stat.size()) {
    unsigned long long utime = 0, stime = 0, start_ticks = 0, vsize = 0;
    long long threads = 0, rss_pages = 0;
    // Fields 14, 15 (utime, stime), 20 (num_threads), 22 (starttime),
    // 23 (vsize), 24 (rss).
    if (std::sscanf(stat.c_str() + paren + 2,
                    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                    "%*d %*d %*d %*d %lld %*d %llu %llu %lld",
                    &utime, &stime, &threads, &start_ticks, &vsize,
                    &rss_pages) == 6) {
      const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
      stats.cpu_seconds = static_cast<double>(utime + stime) / hz;
      stats.threads = threads;
      stats.virtual_memory_bytes = static_cast<int64_t>(vsize);
      stats.resident_memory_bytes = rss_pages * ::sysconf(_SC_PAGESIZE);
      const int64_t boot = BootTimeSeconds();
      if (boot >= 0) {
        stats.start_time_seconds =
            static_cast<double>(boot) + static_cast<double>(start_ticks) / hz;
      }
    }
  }
  stats.open_fds = CountOpenFds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats.max_fds = limit.rlim_cur == RLIM_INFINITY
                        ? INT64_MAX
                        : static_cast<int64_t>(limit.rlim_cur);
  }
  return stats;
}

}  // namespace mrpc
