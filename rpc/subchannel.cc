#include "rpc/subchannel.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/sync.h"

namespace mrpc {

const char* Subchannel::StateName(State state) {
  switch (state) {
    case State::kIdle:
      return "idle";
    case State::kConnecting:
      return "connecting";
    case State::kReady:
      return "ready";
    case State::kTransientFailure:
      return "transient failure";
  }
  return "?";
}

Subchannel::Subchannel(EventLoop* loop, const InetAddress& address,
                       std::string name, const Options& options, Owner* owner,
                       Counters* counters)
    : loop_(loop),
      address_(address),
      name_(std::move(name)),
      options_(options),
      owner_(owner),
      counters_(counters) {}

Subchannel::~Subchannel() {
  loop_->AssertInLoopThread();
  loop_->Cancel(heartbeat_timer_);
  // The client's callbacks use `this`; none runs after it is destroyed.
  state_ = State::kIdle;
  client_.reset();
}

void Subchannel::Start() {
  loop_->AssertInLoopThread();
  TcpClient::Options client_options;
  client_options.name = "channel " + name_;
  client_options.reconnect = true;
  client_options.connector = options_.connect;
  if (options_.tls != nullptr) {
    client_options.tls = options_.tls;
    client_options.tls_handshake_timeout = options_.tls_handshake_timeout;
    client_options.tls_server_name = options_.tls_server_name;
    if (client_options.tls_server_name.empty()) {
      client_options.tls_server_name = address_.Ip();
    }
  }
  client_ = std::make_unique<TcpClient>(loop_, address_, client_options);
  client_->SetConnectionCallback(
      [this](const TcpConnectionPtr& conn) { OnConnection(conn); });
  client_->SetMessageCallback([this](const TcpConnectionPtr& conn, Buffer* in) {
    OnMessage(conn, in);
  });
  client_->SetConnectErrorCallback(
      [this](const absl::Status& status) { OnConnectError(status); });
  SetState(State::kConnecting);
  client_->Connect();
  if (options_.heartbeat_interval > absl::ZeroDuration()) {
    const absl::Duration period = std::max(
        absl::Milliseconds(1),
        std::min(options_.heartbeat_interval, options_.heartbeat_timeout) / 4);
    heartbeat_timer_ = loop_->RunEvery(period, [this] { CheckHeartbeat(); });
  }
}

void Subchannel::SetState(State state) {
  const State old = state_;
  state_ = state;
  if (old != state) owner_->OnSubchannelState(this, old);
}

void Subchannel::SendControl(FrameType type, uint64_t id) {
  if (conn_ == nullptr || !conn_->connected()) return;
  conn_->SendInPlace([&](Buffer* out) { EncodeControlFrame(type, id, out); });
}

void Subchannel::OnConnection(const TcpConnectionPtr& conn) {
  if (state_ == State::kIdle) return;  // Being destroyed.
  if (conn->connected()) {
    conn_ = conn;
    skip_ = FrameSkip();
    SingleWriterAdd(counters_->connects);
    if (connected_once_) {
      SingleWriterAdd(counters_->reconnects);
    }
    connected_once_ = true;
    last_inbound_ms_ = loop_->CachedNowMs();
    last_ping_ms_ = last_inbound_ms_;
    SetState(State::kReady);
    return;
  }
  conn_.reset();
  SingleWriterAdd(counters_->connection_losses);
  lost_reason_ =
      !close_reason_.empty() ? std::exchange(close_reason_, std::string())
      : !conn->tls_error().empty()
          ? absl::StrCat("TLS: ", conn->tls_error())
          : TcpConnection::CloseReasonName(conn->close_reason());
  // The client reconnects at once.
  SetState(State::kConnecting);
}

void Subchannel::OnConnectError(const absl::Status& status) {
  if (state_ == State::kIdle || state_ == State::kReady) return;
  last_error_ = status;
  // Reported even when already in transient failure: calls waiting for
  // this backend learn of each failed attempt.
  const State old = state_;
  state_ = State::kTransientFailure;
  owner_->OnSubchannelState(this, old);
}

void Subchannel::OnMessage(const TcpConnectionPtr& conn, Buffer* input) {
  last_inbound_ms_ = loop_->CachedNowMs();
  absl::Status frame_error;
  absl::Status status = DecodeFrames(
      input, options_.max_frame_size, SIZE_MAX, &response_meta_, &skip_,
      [&](const FrameMeta& meta, absl::string_view payload) {
        switch (meta.type()) {
          case RESPONSE:
            owner_->OnResponse(this, response_meta_, payload);
            break;
          case PING:
            SendControl(PONG, meta.correlation_id());
            break;
          case PONG:
            break;
          default:
            frame_error = absl::InvalidArgumentError(
                absl::StrCat("unexpected ", FrameType_Name(meta.type()),
                             " frame from the server"));
            return false;
        }
        return conn->connected();
      },
      [&](const FrameMeta& meta, uint32_t body_size) {
        if (meta.type() != RESPONSE) {
          frame_error = absl::ResourceExhaustedError(absl::StrCat(
              FrameType_Name(meta.type()), " frame body of ", body_size,
              " bytes over the limit of ", options_.max_frame_size));
          return false;
        }
        owner_->OnOversizedResponse(this, meta.correlation_id(), body_size);
        return conn->connected();
      });
  if (status.ok()) status = frame_error;
  if (!status.ok()) {
    SingleWriterAdd(counters_->protocol_errors);
    MRPC_PEER_LOG(WARNING, "channel protocol error", name_)
        << "protocol error from server " << name_ << ": " << status.message()
        << "; closing the connection";
    close_reason_ = absl::StrCat("protocol error: ", status.message());
    input->RetrieveAll();
    conn->ForceCloseInLoop();
  }
}

void Subchannel::CheckHeartbeat() {
  if (conn_ == nullptr || !conn_->connected()) return;
  const int64_t now = MonotonicMillis();
  const int64_t silent_ms = now - last_inbound_ms_;
  if (silent_ms >= absl::ToInt64Milliseconds(options_.heartbeat_timeout)) {
    SingleWriterAdd(counters_->heartbeat_timeouts);
    MRPC_PEER_LOG(WARNING, "channel heartbeat timeout", name_)
        << "server " << name_ << " silent for " << silent_ms
        << " ms (heartbeat timeout "
        << absl::FormatDuration(options_.heartbeat_timeout)
        << "); closing and reconnecting";
    close_reason_ =
        absl::StrCat("no bytes for ", silent_ms, " ms: heartbeat timeout");
    conn_->ForceCloseInLoop();
    return;
  }
  const int64_t interval_ms =
      absl::ToInt64Milliseconds(options_.heartbeat_interval);
  if (silent_ms >= interval_ms && now - last_ping_ms_ >= interval_ms) {
    last_ping_ms_ = now;
    SingleWriterAdd(counters_->pings);
    SendControl(PING, owner_->NextId());
  }
}

}  // namespace mrpc
