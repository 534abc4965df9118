// tls_handshake_bench: TLS handshakes per second against any TLS server
// (mrpc's echo_server, grpc_echo_server, ...), with OpenSSL directly, so the
// client side is the same whatever the server.
//
//   bazel-bin/tools/tls_handshake_bench --target=127.0.0.1:9000
//       --tls_ca=ca.pem [--tls_server_name=localhost] [--alpn=h2]
//       [--seconds=5 --warmup=1] [--connections_parallel=4] [--resume]
//       [--server_pid=PID]                               (one command line)
//
// Each of --connections_parallel threads loops: TCP connect, a TLS handshake
// (blocking SSL_connect; the server verified against --tls_ca and the name
// --tls_server_name, default the target's host), then close_notify, FIN, and
// reading until the server closes. Every handshake is full (no session is
// offered) unless --resume, which offers the session (TLS 1.3 ticket) of the
// thread's previous connection. --alpn=h2 offers ALPN "h2" and requires the
// server to select it; gRPC's server drops a connection without it.
//
// Prints one JSON line:
//   {"handshakes":N,"seconds":S,"rate":R,"p50_us":..,"p99_us":..,
//    "failures":F,"resumed":M,"connections_parallel":K,
//    "server_cpu_us_per_handshake":C,"client_cpu_us_per_handshake":D}
// handshakes: those completed within the measured window (after --warmup);
// rate: handshakes / seconds (whole connect-handshake-close cycles, so at
// one connection it is bounded by the round trips, not by the server);
// p50/p99: connect() to SSL_connect() done; failures: over the whole run,
// warm-up included (connect, handshake, ALPN, or the close: an alert or a
// server that does not close within 5 s); resumed: how many of the
// handshakes the server resumed; server_cpu_us_per_handshake: the
// --server_pid process's CPU time over the window / handshakes (-1 without
// --server_pid); client_cpu_us_per_handshake: this process's, likewise
// (near 1e6 / rate: the client's core is the bottleneck). Exits 1 if
// failures > 0 or no handshake completed.
//
// Not seen as a failure: under TLS 1.3 the client finishes its handshake
// before the server has checked the client's certificate, so a server that
// then rejects it and closes without an alert (gRPC's does) looks like a
// clean close.
//
// Tool-only. Threads: main (setup, the measured window, the report) and the
// workers, which share only the SSL_CTX (thread-safe once set up) and the
// failure log's counter.
#include <arpa/inet.h>
#include <glog/logging.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tools/histogram.h"
#include "tools/proc_stat.h"

ABSL_FLAG(std::string, target, "127.0.0.1:9000", "server host:port");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates to verify the server with (default: the "
          "system's roots)");
ABSL_FLAG(std::string, tls_server_name, "",
          "name the server's certificate must hold, also sent as SNI "
          "(default: the target's host; no SNI for an IP address)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate chain (with --tls_key), for servers that "
          "require one");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, alpn, "",
          "ALPN protocols to offer, comma-separated (e.g. h2, which gRPC "
          "requires); the server must select one. Default: no ALPN");
ABSL_FLAG(std::string, groups, "",
          "key exchange groups to offer, in order (SSL_CTX_set1_groups_list, "
          "e.g. P-256); the first gets the key share. Default: OpenSSL's "
          "(X25519 first; gRPC's server, P-256 only, then asks again: a "
          "HelloRetryRequest, one more round trip)");
ABSL_FLAG(double, seconds, 5, "seconds measured (after the warm-up)");
ABSL_FLAG(double, warmup, 1, "seconds of handshakes before measuring");
ABSL_FLAG(int, connections_parallel, 1,
          "threads, each with one connection at a time");
ABSL_FLAG(bool, resume, false,
          "offer the previous connection's session: measure resumed "
          "handshakes (default: every handshake is full)");
ABSL_FLAG(int, server_pid, 0,
          "server process to charge CPU time to over the window (0: none)");

namespace mrpc {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking call that takes longer than this is a failure, not a hang.
constexpr int kSocketTimeoutSeconds = 5;
// Failures logged in full; the rest are only counted.
constexpr int kFailuresLogged = 5;
// --resume: how long to wait for the server's session ticket after a
// handshake before concluding that it sends none.
constexpr int kTicketWaitMs = 200;

// This process's CPU time (all threads), in seconds.
double SelfCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The first error on this thread's OpenSSL error queue (and clears it).
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no OpenSSL error queued";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

struct Target {
  std::string host;  // Without brackets.
  sockaddr_storage addr = {};
  socklen_t addr_len = 0;
};

// "host:port" or "[v6]:port", resolved once (the first address).
absl::StatusOr<Target> Resolve(const std::string& target) {
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--target wants host:port, not ", target));
  }
  Target t;
  t.host = target.substr(0, colon);
  if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']') {
    t.host = t.host.substr(1, t.host.size() - 2);
  }
  const std::string port = target.substr(colon + 1);
  addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(t.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve ", target, ": ", gai_strerror(rc)));
  }
  std::memcpy(&t.addr, result->ai_addr, result->ai_addrlen);
  t.addr_len = result->ai_addrlen;
  freeaddrinfo(result);
  return t;
}

bool IsIpAddress(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// What every worker shares. Read-only once the workers start.
struct Config {
  Target target;
  std::string verify_name;  // Checked in the server's certificate.
  bool sni = false;         // Send verify_name as SNI (never an IP).
  bool alpn = false;        // ALPN offered: the server must select one.
  bool resume = false;
  SSL_CTX* ctx = nullptr;  // Not owned.
};

// Owns an SSL_CTX. Thread-safe once made (OpenSSL's contexts are).
using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

// The session callback keeps each worker's newest session (see Worker).
int OnNewSession(SSL* ssl, SSL_SESSION* session);

absl::StatusOr<SslCtxPtr> MakeContext(bool resume) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (ctx == nullptr) return absl::InternalError(OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // A server that closes without close_notify is not a failure here.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  const std::string ca = absl::GetFlag(FLAGS_tls_ca);
  if (ca.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) != 1
                 : SSL_CTX_load_verify_locations(ctx.get(), ca.c_str(),
                                                 nullptr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load CA ", ca, ": ", OpenSslError()));
  }
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (!cert.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) !=
           1 ||
       SSL_CTX_check_private_key(ctx.get()) != 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use ", cert, " and ", key, ": ", OpenSslError()));
  }
  const std::string groups = absl::GetFlag(FLAGS_groups);
  if (!groups.empty() &&
      SSL_CTX_set1_groups_list(ctx.get(), groups.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad --groups ", groups, ": ", OpenSslError()));
  }
  const std::string alpn = absl::GetFlag(FLAGS_alpn);
  if (!alpn.empty()) {
    std::string wire;  // Length-prefixed protocol names.
    for (absl::string_view p : absl::StrSplit(alpn, ',')) {
      if (p.empty() || p.size() > 255) {
        return absl::InvalidArgumentError(absl::StrCat("bad --alpn ", alpn));
      }
      wire.push_back(static_cast<char>(p.size()));
      wire.append(p.data(), p.size());
    }
    // Returns 0 on success, unlike the rest of OpenSSL.
    if (SSL_CTX_set_alpn_protos(
            ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
            wire.size()) != 0) {
      return absl::InternalError(OpenSslError());
    }
  }
  if (resume) {
    // Sessions (TLS 1.3 tickets arrive after the handshake) go to the
    // callback, which keeps them per worker; no shared cache.
    SSL_CTX_set_session_cache_mode(
        ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx.get(), OnNewSession);
  }
  return ctx;
}

std::atomic<int> failures_logged{0};

// One thread's loop of connections, and what it measured.
class Worker {
 public:
  explicit Worker(const Config* config) : config_(config) {}
  ~Worker() {
    if (session_ != nullptr) SSL_SESSION_free(session_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Handshakes until `end`; those completed from `measure_start` on count.
  void Run(Clock::time_point measure_start, Clock::time_point end) {
    while (Clock::now() < end) {
      const Clock::time_point start = Clock::now();
      bool resumed = false;
      Clock::time_point done;
      absl::Status status = Once(&resumed, &done);
      if (!status.ok()) {
        ++failures_;
        if (failures_logged.fetch_add(1) < kFailuresLogged) {
          LOG(WARNING) << "tls_handshake_bench: " << status;
        }
        continue;
      }
      if (done < measure_start || done >= end) continue;
      ++handshakes_;
      if (resumed) ++resumed_;
      latency_ns_.Record(
          std::chrono::duration_cast<std::chrono::nanoseconds>(done - start)
              .count());
    }
  }

  // Takes ownership of `session` (OpenSSL's new-session callback).
  void KeepSession(SSL_SESSION* session) {
    if (session_ != nullptr) SSL_SESSION_free(session_);
    session_ = session;
    got_session_ = true;
  }

  const Histogram& latency_ns() const { return latency_ns_; }
  uint64_t handshakes() const { return handshakes_; }
  uint64_t resumed() const { return resumed_; }
  uint64_t failures() const { return failures_; }

 private:
  // One connection: connect, handshake (sets `*done` when it completes),
  // close. Error: what failed.
  absl::Status Once(bool* resumed, Clock::time_point* done) {
    ERR_clear_error();
    const int fd =
        socket(config_->target.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return absl::ResourceExhaustedError(
          absl::StrCat("socket: ", std::strerror(errno)));
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(config_->ctx),
                                                  &SSL_free);
    absl::Status status = ssl == nullptr
                              ? absl::InternalError(OpenSslError())
                              : Handshake(fd, ssl.get(), resumed, done);
    if (status.ok()) status = CloseAndDrain(fd, ssl.get());
    ssl.reset();
    close(fd);
    return status;
  }

  absl::Status Handshake(int fd, SSL* ssl, bool* resumed,
                         Clock::time_point* done) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const timeval timeout = {kSocketTimeoutSeconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    if (connect(fd, reinterpret_cast<const sockaddr*>(&config_->target.addr),
                config_->target.addr_len) != 0) {
      return absl::UnavailableError(
          absl::StrCat("connect: ", std::strerror(errno)));
    }
    SSL_set_fd(ssl, fd);
    SSL_set_app_data(ssl, this);
    if (config_->sni) {
      SSL_set_tlsext_host_name(ssl, config_->verify_name.c_str());
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    const bool ip = IsIpAddress(config_->verify_name);
    if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(param, config_->verify_name.c_str())
            : X509_VERIFY_PARAM_set1_host(param, config_->verify_name.c_str(),
                                          0)) != 1) {
      return absl::InternalError(OpenSslError());
    }
    if (config_->resume && session_ != nullptr) {
      SSL_set_session(ssl, session_);
    }
    got_session_ = false;
    if (SSL_connect(ssl) != 1) {
      const long verify = SSL_get_verify_result(ssl);
      return absl::UnavailableError(absl::StrCat(
          "handshake: ", OpenSslError(),
          verify == X509_V_OK
              ? ""
              : absl::StrCat(" (certificate: ",
                             X509_verify_cert_error_string(verify), ")")));
    }
    *done = Clock::now();
    *resumed = SSL_session_reused(ssl) == 1;
    if (config_->alpn) {
      const unsigned char* selected = nullptr;
      unsigned int length = 0;
      SSL_get0_alpn_selected(ssl, &selected, &length);
      if (length == 0) {
        return absl::FailedPreconditionError(
            "the server selected no ALPN protocol");
      }
    }
    if (config_->resume) WaitForSession(fd, ssl);
    return absl::OkStatus();
  }

  // --resume: a TLS 1.3 server sends its tickets after the handshake, and
  // OpenSSL drops any that arrive once we have sent close_notify, so read
  // them first. Without SSL_MODE_AUTO_RETRY, SSL_read returns after each
  // ticket even on a blocking socket.
  void WaitForSession(int fd, SSL* ssl) {
    if (got_session_ || no_tickets_) return;  // E.g. TLS 1.2: got it already.
    SSL_clear_mode(ssl, SSL_MODE_AUTO_RETRY);
    char buf[4096];
    while (!got_session_) {
      pollfd p = {fd, POLLIN, 0};
      if (!SSL_has_pending(ssl) && poll(&p, 1, kTicketWaitMs) <= 0) {
        no_tickets_ = true;
        LOG(WARNING) << "tls_handshake_bench: --resume, but no session "
                        "ticket within "
                     << kTicketWaitMs
                     << " ms of a handshake; not waiting again";
        break;
      }
      const int n = SSL_read(ssl, buf, sizeof(buf));
      if (n <= 0 && SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ) break;
    }
    ERR_clear_error();
    SSL_set_mode(ssl, SSL_MODE_AUTO_RETRY);
  }

  // close_notify and FIN, then reads until the server closes: that reads
  // the TLS 1.3 tickets (the server sends them after the handshake, and
  // --resume needs them), sees an alert if the server rejected the
  // handshake after our side completed (TLS 1.3 client auth, ALPN), and
  // never leaves unread bytes that would turn close() into a reset.
  absl::Status CloseAndDrain(int fd, SSL* ssl) {
    ERR_clear_error();
    SSL_shutdown(ssl);
    shutdown(fd, SHUT_WR);
    char buf[4096];
    for (;;) {
      errno = 0;
      const int n = SSL_read(ssl, buf, sizeof(buf));
      if (n > 0) continue;  // E.g. gRPC's HTTP/2 SETTINGS: not ours to read.
      switch (SSL_get_error(ssl, n)) {
        case SSL_ERROR_ZERO_RETURN:  // close_notify, or EOF (see MakeContext).
          MarkClosedCleanly(ssl);
          return absl::OkStatus();
        case SSL_ERROR_SYSCALL:
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return absl::DeadlineExceededError(
                absl::StrCat("the server did not close within ",
                             kSocketTimeoutSeconds, " s"));
          }
          if (errno == 0) {  // EOF.
            MarkClosedCleanly(ssl);
            return absl::OkStatus();
          }
          return absl::UnavailableError(
              absl::StrCat("closing: ", std::strerror(errno)));
        default:
          return absl::UnavailableError(
              absl::StrCat("closing: ", OpenSslError()));
      }
    }
  }

  // An EOF after our close_notify is a clean close here (gRPC's server
  // closes without its own close_notify), but OpenSSL then forgets that it
  // sent one, and SSL_free would mark the session not resumable.
  static void MarkClosedCleanly(SSL* ssl) {
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }

  const Config* const config_;
  SSL_SESSION* session_ = nullptr;  // Owned; the newest, for --resume.
  bool got_session_ = false;        // A session arrived on this connection.
  bool no_tickets_ = false;         // The server sent none once: stop waiting.
  Histogram latency_ns_;
  uint64_t handshakes_ = 0;
  uint64_t resumed_ = 0;
  uint64_t failures_ = 0;
};

int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  static_cast<Worker*>(SSL_get_app_data(ssl))->KeepSession(session);
  return 1;  // We keep the reference.
}

int Main() {
  // A write to a connection the server has reset is an error, not a signal.
  signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<Target> target = Resolve(absl::GetFlag(FLAGS_target));
  if (!target.ok()) {
    LOG(ERROR) << "tls_handshake_bench: " << target.status();
    return 2;
  }
  const bool resume = absl::GetFlag(FLAGS_resume);
  absl::StatusOr<SslCtxPtr> ctx = MakeContext(resume);
  if (!ctx.ok()) {
    LOG(ERROR) << "tls_handshake_bench: " << ctx.status();
    return 2;
  }
  Config config;
  config.target = *std::move(target);
  config.verify_name = absl::GetFlag(FLAGS_tls_server_name);
  if (config.verify_name.empty()) config.verify_name = config.target.host;
  config.sni = !IsIpAddress(config.verify_name);  // RFC 6066: no IP in SNI.
  config.alpn = !absl::GetFlag(FLAGS_alpn).empty();
  config.resume = resume;
  config.ctx = ctx->get();

  const auto seconds = std::chrono::duration<double>(
      std::max(0.1, absl::GetFlag(FLAGS_seconds)));
  const auto warmup =
      std::chrono::duration<double>(std::max(0.0, absl::GetFlag(FLAGS_warmup)));
  const Clock::time_point measure_start =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(warmup);
  const Clock::time_point end =
      measure_start + std::chrono::duration_cast<Clock::duration>(seconds);

  const int parallel = std::max(1, absl::GetFlag(FLAGS_connections_parallel));
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  for (int i = 0; i < parallel; ++i) {
    workers.push_back(std::make_unique<Worker>(&config));
  }
  for (auto& w : workers) {
    threads.emplace_back(
        [w = w.get(), measure_start, end] { w->Run(measure_start, end); });
  }

  const int server_pid = absl::GetFlag(FLAGS_server_pid);
  std::this_thread::sleep_until(measure_start);
  const double cpu_before = server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
  const double self_before = SelfCpuSeconds();
  std::this_thread::sleep_until(end);
  const double cpu_after = server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
  const double self_after = SelfCpuSeconds();
  for (std::thread& t : threads) t.join();

  Histogram latency_ns;
  uint64_t handshakes = 0, resumed = 0, failures = 0;
  for (const auto& w : workers) {
    latency_ns.Merge(w->latency_ns());
    handshakes += w->handshakes();
    resumed += w->resumed();
    failures += w->failures();
  }
  const double window = seconds.count();
  const double server_cpu_us =
      cpu_before >= 0 && cpu_after >= 0 && handshakes > 0
          ? (cpu_after - cpu_before) * 1e6 / handshakes
          : -1;
  std::printf(
      "{\"handshakes\": %llu, \"seconds\": %.3f, \"rate\": %.1f, "
      "\"p50_us\": %.1f, \"p99_us\": %.1f, \"failures\": %llu, "
      "\"resumed\": %llu, \"connections_parallel\": %d, "
      "\"server_cpu_us_per_handshake\": %.1f, "
      "\"client_cpu_us_per_handshake\": %.1f}\n",
      static_cast<unsigned long long>(handshakes), window, handshakes / window,
      latency_ns.Percentile(50) / 1e3, latency_ns.Percentile(99) / 1e3,
      static_cast<unsigned long long>(failures),
      static_cast<unsigned long long>(resumed), parallel, server_cpu_us,
      handshakes > 0 ? (self_after - self_before) * 1e6 / handshakes : -1);
  std::fflush(stdout);
  // Each thread's first handshake is full.
  if (resume && resumed + parallel < handshakes) {
    LOG(WARNING) << "tls_handshake_bench: --resume, but the server resumed "
                 << resumed << " of " << handshakes << " handshakes";
  }
  return failures > 0 || handshakes == 0 ? 1 : 0;
}

}  // namespace
}  // namespace mrpc

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return mrpc::Main();
}
