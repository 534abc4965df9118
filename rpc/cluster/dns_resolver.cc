#include "rpc/cluster/dns_resolver.h"

#include <errno.h>
#include <glog/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/io_channel.h"
#include "net/log_limiter.h"
#include "net/socket.h"
#include "rpc/cluster/dns_message.h"
#include "rpc/cluster/system_lookup.h"

namespace mrpc {
namespace {

using Backends = absl::StatusOr<std::vector<InetAddress>>;

absl::Status BadTarget(absl::string_view target, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bad dns target '", target, "': ", why,
      " (want dns:[//dns-server-ip[:port]/]host:port, e.g. "
      "dns:///kv.internal:9001)"));
}

InetAddress WithPort(const InetAddress& address, uint16_t port) {
  if (address.is_ipv6()) {
    struct sockaddr_in6 a;
    std::memcpy(&a, address.sockaddr(), sizeof a);
    a.sin6_port = htons(port);
    return InetAddress(a);
  }
  struct sockaddr_in a;
  std::memcpy(&a, address.sockaddr(), sizeof a);
  a.sin_port = htons(port);
  return InetAddress(a);
}

// IPv4 before IPv6, then by address bytes, then port: an order that does
// not depend on how the server rotates its records.
bool AddressLess(const InetAddress& a, const InetAddress& b) {
  if (a.family() != b.family()) return a.family() == AF_INET;
  if (a.is_ipv6()) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(a.sockaddr());
    const auto* y = reinterpret_cast<const sockaddr_in6*>(b.sockaddr());
    const int c = std::memcmp(&x->sin6_addr, &y->sin6_addr, 16);
    if (c != 0) return c < 0;
  } else {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a.sockaddr());
    const auto* y = reinterpret_cast<const sockaddr_in*>(b.sockaddr());
    const int c = std::memcmp(&x->sin_addr, &y->sin_addr, 4);
    if (c != 0) return c < 0;
  }
  return a.port() < b.port();
}

void Normalize(std::vector<InetAddress>* addresses) {
  std::sort(addresses->begin(), addresses->end(), AddressLess);
  addresses->erase(std::unique(addresses->begin(), addresses->end()),
                   addresses->end());
}

// "10.0.0.53", "10.0.0.53:5353", "[fd00::53]", "[fd00::53]:5353".
absl::StatusOr<InetAddress> ParseAuthority(absl::string_view target,
                                           absl::string_view authority) {
  absl::StatusOr<InetAddress> with_port = InetAddress::Parse(authority);
  if (with_port.ok()) return with_port;
  absl::string_view ip = authority;
  if (absl::StartsWith(ip, "[") && absl::EndsWith(ip, "]")) {
    ip = ip.substr(1, ip.size() - 2);
  }
  absl::StatusOr<InetAddress> bare = InetAddress::FromIpPort(ip, 53);
  if (bare.ok()) return bare;
  return BadTarget(target, absl::StrCat("the DNS server '", authority,
                                        "' is not a numeric IP address"
                                        " (optionally with :port)"));
}

}  // namespace

absl::StatusOr<DnsTarget> ParseDnsTarget(absl::string_view target) {
  absl::string_view rest = target;
  if (!absl::ConsumePrefix(&rest, "dns:")) {
    return BadTarget(target, "it does not start with 'dns:'");
  }
  DnsTarget parsed;
  if (absl::ConsumePrefix(&rest, "//")) {
    const size_t slash = rest.find('/');
    if (slash == absl::string_view::npos) {
      return BadTarget(target, "no '/' after the authority");
    }
    const absl::string_view authority = rest.substr(0, slash);
    rest = rest.substr(slash + 1);
    if (!authority.empty()) {
      absl::StatusOr<InetAddress> server = ParseAuthority(target, authority);
      if (!server.ok()) return server.status();
      parsed.authority = *server;
    }
  }
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) {
      return BadTarget(target, "no ']' after the IPv6 address");
    }
    host = rest.substr(1, close - 1);
    if (close + 1 >= rest.size() || rest[close + 1] != ':') {
      return BadTarget(target, "no port (a service port has no default)");
    }
    port = rest.substr(close + 2);
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) {
      return BadTarget(target, "no port (a service port has no default)");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return BadTarget(target, "put an IPv6 address in brackets");
    }
  }
  uint32_t port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number == 0 ||
      port_number > 65535) {
    return BadTarget(target, absl::StrCat("bad port '", port, "' (1-65535)"));
  }
  parsed.port = static_cast<uint16_t>(port_number);
  parsed.host = std::string(host);
  absl::StatusOr<InetAddress> literal =
      InetAddress::FromIpPort(host, parsed.port);
  if (literal.ok()) {
    parsed.literal = *literal;
    return parsed;
  }
  if (absl::StartsWith(rest, "[")) {
    return BadTarget(target, absl::StrCat("'", host, "' is not an IPv6 address"));
  }
  if (absl::Status valid = dns::ValidateHostName(host); !valid.ok()) {
    return BadTarget(target, valid.message());
  }
  return parsed;
}

namespace {

// Everything of one resolver; shared so that timers, the socket's channel
// and the lookup thread's answers can hold it weakly. Loop only.
class DnsResolverCore : public std::enable_shared_from_this<DnsResolverCore> {
 public:
  DnsResolverCore(EventLoop* loop, std::string target, DnsTarget dns,
                  const DnsResolverOptions& options)
      : loop_(loop),
        target_(std::move(target)),
        dns_(std::move(dns)),
        options_(options),
        mailbox_(std::make_shared<LoopMailbox>(loop)) {}

  void Start(ResolverListener listener);
  void Reresolve();
  // Stops everything; no listener call after. Idempotent.
  void Shutdown();

 private:
  // One UDP query of a resolution.
  struct Query {
    dns::RecordType type;
    uint16_t id = 0;
    std::string packet;
    int sends = 0;
    bool done = false;
    absl::StatusOr<dns::Answer> result = absl::UnknownError("no answer yet");
    TimerId timer;
  };

  // Upper bound on datagrams read per wake-up, so that a flood cannot
  // hold the loop; the rest wait for the next (level-triggered) wake-up.
  static constexpr int kMaxDatagramsPerEvent = 64;
  // Answers longer than this are dropped (no EDNS is sent, so a server
  // may send 512 bytes; allow generous slack).
  static constexpr size_t kMaxAnswerSize = 4096;

  std::weak_ptr<DnsResolverCore> weak() { return weak_from_this(); }
  int64_t NowMs() const { return MonotonicMillis(); }

  void ScheduleResolve(int64_t delay_ms);
  void OnResolveTimer();
  void BeginResolve();
  void BeginUdp();
  void SendQuery(size_t index);
  void OnQueryTimeout(uint64_t generation, size_t index);
  void HandleRead();
  void FailPendingQueries(const absl::Status& status);
  // Finishes the resolution if every query is done; returns whether it did.
  bool MaybeFinishUdp();
  void CloseSocket();
  void BeginSystemLookup();
  void OnSystemResult(uint64_t generation, Backends result);
  // Ends the resolution: schedules the next one and reports (last: the
  // listener may destroy the resolver).
  void Finish(Backends result, uint32_t min_ttl);
  void Deliver(Backends result);

  EventLoop* const loop_;
  const std::string target_;
  const DnsTarget dns_;
  const DnsResolverOptions options_;
  const std::shared_ptr<LoopMailbox> mailbox_;
  ResolverListener listener_;
  bool started_ = false;
  bool shut_down_ = false;
  bool resolving_ = false;
  // Bumped at each resolution's start and end and at shutdown: a timer or
  // an answer of another generation is stale and ignored.
  uint64_t generation_ = 0;
  int64_t last_begin_ms_ = std::numeric_limits<int64_t>::min() / 2;
  TimerId resolve_timer_;
  int64_t resolve_due_ms_ = 0;
  TimerId lookup_timer_;
  int64_t backoff_ms_ = 0;
  bool have_set_ = false;
  std::vector<InetAddress> last_set_;
  // The resolution in flight, with an authority.
  Socket socket_;
  std::unique_ptr<IoChannel> channel_;
  std::vector<Query> queries_;
  std::string buffer_;
  absl::BitGen rng_;
};

void DnsResolverCore::Start(ResolverListener listener) {
  loop_->AssertInLoopThread();
  CHECK(!started_) << "Start() called twice on the resolver for " << target_;
  started_ = true;
  listener_ = std::move(listener);
  // Queued, so the listener never runs inside Start().
  loop_->QueueInLoop([weak = weak()] {
    std::shared_ptr<DnsResolverCore> self = weak.lock();
    if (self == nullptr || self->shut_down_) return;
    if (self->dns_.literal.has_value()) {
      self->have_set_ = true;
      self->last_set_ = {*self->dns_.literal};
      self->Deliver(self->last_set_);
      return;
    }
    self->BeginResolve();
  });
}

void DnsResolverCore::Reresolve() {
  loop_->AssertInLoopThread();
  if (!started_ || shut_down_ || resolving_ || dns_.literal.has_value()) return;
  const int64_t now = NowMs();
  const int64_t earliest =
      last_begin_ms_ + absl::ToInt64Milliseconds(options_.min_reresolve_interval);
  const int64_t delay = std::max<int64_t>(0, earliest - now);
  if (resolve_timer_.valid() && resolve_due_ms_ <= now + delay) return;
  ScheduleResolve(delay);  // Even at 0: never resolve inside Reresolve().
}

void DnsResolverCore::Shutdown() {
  loop_->AssertInLoopThread();
  if (shut_down_) return;
  shut_down_ = true;
  ++generation_;
  loop_->Cancel(resolve_timer_);
  loop_->Cancel(lookup_timer_);
  CloseSocket();
  mailbox_->Close();
  listener_ = nullptr;
}

void DnsResolverCore::ScheduleResolve(int64_t delay_ms) {
  loop_->Cancel(resolve_timer_);
  resolve_due_ms_ = NowMs() + delay_ms;
  resolve_timer_ =
      loop_->RunAfter(absl::Milliseconds(delay_ms), [weak = weak()] {
        if (std::shared_ptr<DnsResolverCore> self = weak.lock()) {
          self->OnResolveTimer();
        }
      });
}

void DnsResolverCore::OnResolveTimer() {
  resolve_timer_ = TimerId();
  if (shut_down_ || resolving_) return;
  BeginResolve();
}

void DnsResolverCore::BeginResolve() {
  resolving_ = true;
  ++generation_;
  last_begin_ms_ = NowMs();
  if (dns_.authority.has_value()) {
    BeginUdp();
  } else {
    BeginSystemLookup();
  }
}

// ---- With an authority: UDP. ----

void DnsResolverCore::BeginUdp() {
  const InetAddress& server = *dns_.authority;
  const int fd = ::socket(server.family(),
                          SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd < 0) {
    Finish(absl::ErrnoToStatus(errno, "DNS resolver: socket(SOCK_DGRAM)"), 0);
    return;
  }
  socket_ = Socket(fd);
  // Connected: the kernel drops datagrams from any other address or port,
  // and an ICMP "port unreachable" fails the next read at once
  // (ECONNREFUSED) instead of after every timeout.
  if (::connect(fd, server.sockaddr(), server.sockaddr_length()) != 0) {
    const int err = errno;
    CloseSocket();
    Finish(absl::ErrnoToStatus(
               err, absl::StrCat("DNS resolver: connect ", server.ToString())),
           0);
    return;
  }
  channel_ = std::make_unique<IoChannel>(loop_, fd);
  channel_->Tie(shared_from_this());
  channel_->SetReadCallback([this] { HandleRead(); });
  channel_->EnableReading();

  queries_.clear();
  std::vector<dns::RecordType> types = {dns::RecordType::kA};
  if (options_.ipv6) types.push_back(dns::RecordType::kAaaa);
  for (dns::RecordType type : types) {
    Query q;
    q.type = type;
    do {
      q.id = absl::Uniform<uint16_t>(rng_);
    } while (!queries_.empty() && queries_[0].id == q.id);
    absl::StatusOr<std::string> packet = dns::BuildQuery(q.id, dns_.host, type);
    CHECK(packet.ok()) << packet.status();  // The host was validated.
    q.packet = *std::move(packet);
    queries_.push_back(std::move(q));
  }
  for (size_t i = 0; i < queries_.size() && socket_.valid(); ++i) SendQuery(i);
  if (!socket_.valid()) return;  // A send failed and finished it.
}

void DnsResolverCore::SendQuery(size_t index) {
  Query& q = queries_[index];
  ++q.sends;
  const uint64_t generation = generation_;
  q.timer = loop_->RunAfter(options_.query_timeout,
                            [weak = weak(), generation, index] {
                              if (auto self = weak.lock()) {
                                self->OnQueryTimeout(generation, index);
                              }
                            });
  const ssize_t n = ::send(socket_.fd(), q.packet.data(), q.packet.size(), 0);
  const int err = errno;
  if (n >= 0 || err == EAGAIN || err == EWOULDBLOCK || err == EINTR) {
    return;  // Sent, or lost like any datagram: the timer sends it again.
  }
  FailPendingQueries(absl::ErrnoToStatus(
      err, absl::StrCat("DNS resolver: send to ", dns_.authority->ToString())));
  MaybeFinishUdp();
}

void DnsResolverCore::OnQueryTimeout(uint64_t generation, size_t index) {
  if (generation != generation_ || index >= queries_.size()) return;
  Query& q = queries_[index];
  if (q.done) return;
  if (q.sends <= options_.query_retries) {
    SendQuery(index);
    return;
  }
  q.done = true;
  q.result = absl::UnavailableError(absl::StrCat(
      "no answer from DNS server ", dns_.authority->ToString(), " for '",
      dns_.host, "' ", dns::RecordTypeName(static_cast<uint16_t>(q.type)),
      " after ", q.sends, " tries of ",
      absl::FormatDuration(options_.query_timeout)));
  MaybeFinishUdp();
}

void DnsResolverCore::HandleRead() {
  const InetAddress& server = *dns_.authority;
  buffer_.resize(kMaxAnswerSize);
  for (int i = 0; i < kMaxDatagramsPerEvent && socket_.valid(); ++i) {
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    // MSG_TRUNC: the datagram's real length, to tell an oversized one.
    const ssize_t n =
        ::recvfrom(socket_.fd(), buffer_.data(), buffer_.size(), MSG_TRUNC,
                   reinterpret_cast<struct sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      const int err = errno;
      FailPendingQueries(
          err == ECONNREFUSED
              ? absl::UnavailableError(absl::StrCat(
                    "DNS server ", server.ToString(),
                    " refused the query (ICMP port unreachable: nothing "
                    "listens there)"))
              : absl::ErrnoToStatus(
                    err, absl::StrCat("DNS resolver: recvfrom ",
                                      server.ToString())));
      MaybeFinishUdp();
      return;
    }
    absl::StatusOr<InetAddress> source = InetAddress::FromSockaddr(
        reinterpret_cast<struct sockaddr*>(&from), from_len);
    if (!source.ok() || *source != server) {
      // The socket is connected, so this is defence in depth.
      MRPC_PEER_LOG(WARNING, "dns answer ignored",
                    source.ok() ? LogPeer(*source) : LogPeer())
          << "DNS resolver for " << target_ << ": dropped a datagram from "
          << (source.ok() ? source->ToString() : "an unknown address")
          << ", not the server " << server.ToString();
      continue;
    }
    if (static_cast<size_t>(n) > buffer_.size()) {
      MRPC_PEER_LOG(WARNING, "dns answer ignored", server)
          << "DNS resolver for " << target_ << ": dropped a " << n
          << "-byte datagram from " << server.ToString() << " (limit "
          << kMaxAnswerSize << ")";
      continue;
    }
    const absl::string_view packet(buffer_.data(), n);
    const int id = dns::PeekId(packet);
    Query* query = nullptr;
    for (Query& q : queries_) {
      if (!q.done && static_cast<int>(q.id) == id) query = &q;
    }
    if (query == nullptr) {
      MRPC_PEER_LOG(WARNING, "dns answer ignored", server)
          << "DNS resolver for " << target_ << ": dropped a " << n
          << "-byte datagram from " << server.ToString()
          << " that answers no pending query (id " << id << ")";
      continue;
    }
    query->done = true;
    loop_->Cancel(query->timer);
    query->result = dns::ParseAnswer(packet, query->id, dns_.host, query->type);
    if (MaybeFinishUdp()) return;  // The resolver may be gone now.
  }
}

void DnsResolverCore::FailPendingQueries(const absl::Status& status) {
  for (Query& q : queries_) {
    if (q.done) continue;
    q.done = true;
    loop_->Cancel(q.timer);
    q.result = status;
  }
}

bool DnsResolverCore::MaybeFinishUdp() {
  for (const Query& q : queries_) {
    if (!q.done) return false;
  }
  std::vector<InetAddress> all;
  uint32_t min_ttl = std::numeric_limits<uint32_t>::max();
  absl::Status error;
  absl::Status not_found;
  for (const Query& q : queries_) {
    if (q.result.ok()) {
      for (const InetAddress& a : q.result->addresses) {
        all.push_back(WithPort(a, dns_.port));
      }
      if (!q.result->addresses.empty()) {
        min_ttl = std::min(min_ttl, q.result->min_ttl);
      }
    } else if (absl::IsNotFound(q.result.status())) {
      not_found = q.result.status();
    } else if (error.ok()) {
      error = q.result.status();
    }
  }
  queries_.clear();
  if (!error.ok()) {
    Finish(error, 0);
  } else if (all.empty()) {
    Finish(not_found.ok()
               ? absl::NotFoundError(absl::StrCat(
                     "'", dns_.host, "' has no ",
                     options_.ipv6 ? "A or AAAA" : "A", " records"))
               : not_found,
           0);
  } else {
    Finish(std::move(all), min_ttl);
  }
  return true;
}

void DnsResolverCore::CloseSocket() {
  for (Query& q : queries_) loop_->Cancel(q.timer);
  queries_.clear();
  if (channel_ != nullptr) {
    channel_->DisableAll();
    channel_->Remove();
    // We may be inside the channel's own handler: destroy it (and close
    // the fd) after the current events are handled.
    loop_->QueueInLoop([channel = std::move(channel_),
                        socket = std::move(socket_)]() mutable {
      channel.reset();
    });
  }
  socket_ = Socket();
}

// ---- Without an authority: getaddrinfo on the lookup thread. ----

void DnsResolverCore::BeginSystemLookup() {
  const uint64_t generation = generation_;
  absl::Status posted = LookupHostAsync(
      dns_.host, dns_.port, options_.ipv6, mailbox_,
      [weak = weak(), generation](Backends result) {
        if (auto self = weak.lock()) {
          self->OnSystemResult(generation, std::move(result));
        }
      });
  if (!posted.ok()) {
    Finish(posted, 0);
    return;
  }
  lookup_timer_ = loop_->RunAfter(
      options_.system_lookup_timeout, [weak = weak(), generation] {
        std::shared_ptr<DnsResolverCore> self = weak.lock();
        if (self == nullptr || generation != self->generation_) return;
        self->Finish(absl::DeadlineExceededError(absl::StrCat(
                         "getaddrinfo('", self->dns_.host, "') took over ",
                         absl::FormatDuration(
                             self->options_.system_lookup_timeout))),
                     0);
      });
}

void DnsResolverCore::OnSystemResult(uint64_t generation, Backends result) {
  if (shut_down_ || generation != generation_ || !resolving_) return;
  loop_->Cancel(lookup_timer_);
  Finish(std::move(result), 0);
}

// ---- Results. ----

void DnsResolverCore::Finish(Backends result, uint32_t min_ttl) {
  resolving_ = false;
  ++generation_;
  CloseSocket();
  loop_->Cancel(lookup_timer_);
  if (result.ok()) {
    backoff_ms_ = 0;
    int64_t delay = absl::ToInt64Milliseconds(options_.refresh_interval);
    if (options_.use_ttl && dns_.authority.has_value()) {
      delay = std::clamp<int64_t>(
          int64_t{min_ttl} * 1000,
          absl::ToInt64Milliseconds(options_.min_refresh), delay);
    }
    ScheduleResolve(delay);
    Normalize(&*result);
    if (have_set_ && *result == last_set_) return;
    have_set_ = true;
    last_set_ = *result;
    Deliver(std::move(result));
    return;
  }
  const int64_t initial = absl::ToInt64Milliseconds(options_.initial_backoff);
  const int64_t max = absl::ToInt64Milliseconds(options_.max_backoff);
  backoff_ms_ = backoff_ms_ == 0 ? initial : std::min(backoff_ms_ * 2, max);
  const int64_t delay = static_cast<int64_t>(
      static_cast<double>(backoff_ms_) * absl::Uniform(rng_, 0.8, 1.2));
  ScheduleResolve(delay);
  MRPC_PEER_LOG(WARNING, "dns resolution failed", target_)
      << "resolving " << target_ << ": " << result.status()
      << "; trying again in " << delay << " ms"
      << (have_set_ ? " (keeping the last good set)" : "");
  Deliver(std::move(result));
}

void DnsResolverCore::Deliver(Backends result) {
  if (shut_down_ || !listener_) return;
  // A copy: the listener may destroy the resolver (and listener_).
  ResolverListener listener = listener_;
  listener(std::move(result));
}

class DnsResolver final : public Resolver {
 public:
  DnsResolver(EventLoop* loop, std::shared_ptr<DnsResolverCore> core)
      : loop_(loop), core_(std::move(core)) {}
  ~DnsResolver() override {
    loop_->AssertInLoopThread();
    core_->Shutdown();
  }
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  void Start(ResolverListener listener) override {
    core_->Start(std::move(listener));
  }
  void Reresolve() override { core_->Reresolve(); }

 private:
  EventLoop* const loop_;
  const std::shared_ptr<DnsResolverCore> core_;
};

absl::Status ValidateOptions(const DnsResolverOptions& o) {
  auto positive = [](absl::Duration d) { return d > absl::ZeroDuration(); };
  if (!positive(o.refresh_interval) || !positive(o.min_refresh) ||
      !positive(o.initial_backoff) || !positive(o.max_backoff) ||
      !positive(o.query_timeout) || !positive(o.system_lookup_timeout) ||
      o.min_reresolve_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "DnsResolverOptions: durations must be positive "
        "(min_reresolve_interval may be 0)");
  }
  if (o.use_ttl && o.min_refresh > o.refresh_interval) {
    return absl::InvalidArgumentError(
        "DnsResolverOptions: min_refresh exceeds refresh_interval");
  }
  if (o.initial_backoff > o.max_backoff) {
    return absl::InvalidArgumentError(
        "DnsResolverOptions: initial_backoff exceeds max_backoff");
  }
  if (o.query_retries < 0 || o.query_retries > 10) {
    return absl::InvalidArgumentError(
        "DnsResolverOptions: query_retries must be within 0-10");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Resolver>> NewDnsResolver(
    EventLoop* loop, absl::string_view target, DnsResolverOptions options) {
  CHECK(loop != nullptr);
  absl::StatusOr<DnsTarget> parsed = ParseDnsTarget(target);
  if (!parsed.ok()) return parsed.status();
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  auto core = std::make_shared<DnsResolverCore>(loop, std::string(target),
                                                *std::move(parsed), options);
  return std::unique_ptr<Resolver>(new DnsResolver(loop, std::move(core)));
}

}  // namespace mrpc
