#include "rpc/server_call.h"

#include <glog/logging.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "net/event_loop.h"
#include "net/log_limiter.h"
#include "net/tcp_connection.h"
#include "rpc/codec.h"
#include "rpc/http/json_codec.h"
#include "rpc/metadata.h"
#include "rpc/overload.h"
#include "rpc/rpcz.h"
#include "rpc/server_connection.h"
#include "rpc/thread_pool.h"
#include "rpc/trace.h"
#include "rpc/wire_cost.h"

namespace mrpc {

ServerCall::ServerCall(const ServerMethod* method, uint64_t id,
                       absl::Time arrival, absl::Time deadline,
                       const TcpConnectionPtr& conn,
                       ServerConnection* connection, ServerShared* shared,
                       LoopHandle* handle)
    : peer_(conn->peer_address()),
      ctx_(method->service, method->name, peer_, deadline, conn->loop()),
      method_(method),
      id_(id),
      arrival_(arrival),
      arrival_ns_(conn->loop()->CachedNowNs()),
      pool_(connection->PoolFor(method)),
      request_(pool_->Take(/*request=*/true)),
      response_(pool_->Take(/*request=*/false)),
      conn_(conn.get()),
      connection_(connection),
      shared_(shared),
      handle_(handle) {
  ctx_.tls_ = connection_->tls_peer();
  std::atomic<int64_t>& n = handle_->counters.in_flight;
  n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

ServerCall::~ServerCall() {
  // Handler bugs, but possibly input-dependent: a peer could repeat them.
  if (started_ && !handler_done_.load())
    MRPC_PEER_LOG(ERROR, "rpc handler dropped done", ctx_.peer())
        << "call " << ctx_.service() << "." << ctx_.method() << " from "
        << ctx_.peer().ToString() << " was dropped without calling done";
}

namespace {

// A call's bookkeeping beyond its request bytes, for the memory budget.
constexpr int64_t kCallOverheadBytes = 1024;
// Requests larger than this have their parsed size estimated before they
// are parsed (smaller ones cannot cost much: 4 KiB of 2-byte fields takes
// about 64 KiB parsed).
constexpr size_t kEstimateAbove = 4096;

// The call whose inline handler this thread is running, if any: its `done`
// called before the handler returns needs no clock read of its own. A
// thread-local, so any thread may test it without a race.
thread_local const ServerCall* t_inline_call = nullptr;

}  // namespace

void ServerCall::Start(const TcpConnectionPtr& conn, absl::string_view payload,
                       const std::shared_ptr<ServerCall>& self) {
  // An HTTP call's answer resumes its session's pipeline, which wants the
  // connection: it is always pending.
  if (ABSL_PREDICT_FALSE(http_) && !Pend(conn, self)) return;
  pool_messages_ = payload.size() <= kBudgetExemptBytes;
  request_bytes_ = payload.size();
  // Latency for the interceptors: from the loop iteration that read the
  // request (a clock read the loop made anyway) to the answer.
  if (!shared_->interceptors.empty()) {
    start_ns_ = conn_->loop()->CachedNowNs();
  }
  for (const auto& interceptor : shared_->interceptors) {
    ++admitted_;
    absl::Status status = interceptor->OnRequest(&ctx_);
    if (!status.ok()) {
      handler_done_ = true;  // The handler never runs.
      ReleaseMessages();
      Answer(status);
      return;
    }
  }
  // Protobuf's parse errors name the peer: the caller (the connection's
  // read, or its HTTP session) has set it (ScopedLogPeer).
  // What the request will hold parsed: its wire size, or for a large one
  // an estimate that counts its fields (tiny fields cost far more parsed
  // than on the wire); refused before parsing if over this connection's
  // room in the memory budget. Counting is a pass over the request, made
  // only where it can matter: when even the worst expansion might not fit
  // the room, and (below) when the call outlives its batch and is charged.
  size_t held = payload.size();
  bool counted = payload.size() <= kEstimateAbove;
  if (!counted) {
    const size_t room = connection_->HeldRoom(payload.size());
    if (payload.size() > room / kMaxParsedBytesPerWireByte) {
      held = CountParsedBytes(payload, room);
      counted = true;
      if (held > room) {
        handler_done_ = true;
        pool_messages_ = false;
        ReleaseMessages();
        LoopCounters::Add(handle_->counters.memory_refusals);
        LoopCounters::Add(handle_->counters.overloaded);
        Answer(connection_->MemoryError(
            absl::StrCat("the request of ", payload.size(), " bytes (about ",
                         held, " or more parsed)"),
            *conn_));
        return;
      }
    }
  }
  if (ABSL_PREDICT_FALSE(json_)) {
    absl::Status parsed = ParseJsonRequest(payload, request_.get());
    if (!parsed.ok()) {
      handler_done_ = true;
      ReleaseMessages();
      Answer(parsed);
      return;
    }
  } else if (!request_->ParseFromArray(payload.data(),
                                       static_cast<int>(payload.size()))) {
    handler_done_ = true;
    const std::string type = request_->GetTypeName();
    ReleaseMessages();
    Answer(absl::InvalidArgumentError(
        absl::StrCat("cannot parse the request as ", type)));
    return;
  }
  started_ = true;
  if (!method_->options.use_worker_pool) {
    Run(self);
    if (!answered_ && Pend(conn, self)) {  // The handler finishes later.
      ArmDeadline(self);
      if (!handler_done_.load(std::memory_order_acquire)) {
        ChargeHeld(counted ? held : CountParsedBytes(payload, SIZE_MAX));
      }
    }
    return;
  }
  if (!Pend(conn, self)) return;
  run_state_.store(kQueued, std::memory_order_relaxed);
  // Queued under its connection (served round-robin with the others),
  // charged the request's size against worker_queue_bytes.
  absl::StatusOr<ThreadPool::TaskId> task =
      shared_->workers->TrySchedule(connection_, payload.size(),
                                    [self = self] { self->Run(self); });
  if (!task.ok()) {
    run_state_.store(kNotQueued, std::memory_order_relaxed);
    handler_done_ = true;
    ReleaseMessages();
    LoopCounters::Add(handle_->counters.overloaded);
    Answer(absl::ResourceExhaustedError(
        absl::StrCat("the worker pool is full: ", task.status().message())));
    return;
  }
  task_id_ = *task;
  ArmDeadline(self);
  ChargeHeld(counted ? held : CountParsedBytes(payload, SIZE_MAX));
}

void ServerCall::Run(const std::shared_ptr<ServerCall>& self) {
  const bool on_worker = method_->options.use_worker_pool;
  if (on_worker) {
    // A cancel, deadline or closed connection may have taken the call off
    // the queue (and its messages) first.
    int expected = kQueued;
    if (!run_state_.compare_exchange_strong(expected, kStarted,
                                            std::memory_order_acq_rel)) {
      return;
    }
  }
  // Inline, the call runs as it arrives: the batch's clock read will do.
  // Deadline first: a client whose deadline passed also sends CANCEL, and
  // DEADLINE_EXCEEDED is the truer answer.
  if (ctx_.deadline() <= (on_worker ? absl::Now() : arrival_)) {
    Finish(absl::DeadlineExceededError(
               "the deadline passed before the handler ran"),
           self);
    return;
  }
  if (ctx_.IsCancelled()) {
    Finish(absl::CancelledError("the call was cancelled before its handler ran"),
           self);
    return;
  }
  // Inline, the handler holds the loop: label it, so that a stall names
  // the method (two stores; a worker holds no loop).
  const EventLoop::ScopedTask task(on_worker ? nullptr : conn_->loop(),
                                   method_->full_name.c_str());
  // The handler starts now: on a worker that is a clock read (the queue
  // wait is what /rpcz shows as "queued"); inline, the arrival will do.
  handler_start_ns_.store(on_worker ? MonotonicNanos() : arrival_ns_,
                          std::memory_order_relaxed);
  const ServerCall* const outer = t_inline_call;
  if (!on_worker) t_inline_call = this;
  try {
    method_->handler(&ctx_, *request_, response_.get(),
                     [self = self](absl::Status status) {
                       self->Finish(std::move(status), self);
                     });
  } catch (const std::exception& e) {
    MRPC_PEER_LOG(ERROR, "rpc handler threw", ctx_.peer())
        << "handler " << ctx_.service() << "." << ctx_.method()
        << " threw: " << e.what();
    if (!handler_done_.load())
      Finish(absl::InternalError("the handler threw an exception"), self);
  } catch (...) {
    MRPC_PEER_LOG(ERROR, "rpc handler threw", ctx_.peer())
        << "handler " << ctx_.service() << "." << ctx_.method() << " threw";
    if (!handler_done_.load())
      Finish(absl::InternalError("the handler threw an exception"), self);
  }
  t_inline_call = outer;
}

void ServerCall::Finish(absl::Status status,
                        const std::shared_ptr<ServerCall>& self) {
  // The handler's end, for /rpcz: a handler calling `done` before it
  // returns on the loop is answered right away, and the answer's clock
  // read stands for it; any other `done` reads the clock here.
  if (t_inline_call != this &&
      handler_start_ns_.load(std::memory_order_relaxed) != 0) {
    done_ns_.store(MonotonicNanos(), std::memory_order_relaxed);
  }
  if (handler_done_.exchange(true)) {
    MRPC_PEER_LOG(ERROR, "rpc done called twice", ctx_.peer())
        << "done called twice for " << ctx_.service() << "." << ctx_.method()
        << " from " << ctx_.peer().ToString()
        << "; ignoring the second status: " << status;
    return;
  }
  ctx_.DropCancelCallback();
  status_ = std::move(status);
  // On the loop (an inline handler, or a `done` it runs later) the answer
  // goes out now: the caller's `self` keeps the call alive. Off the loop
  // it goes back to the loop; if the server has stopped that loop, nobody
  // is left to answer. (The test compares pointers only: a worker's thread
  // has no loop, so it never dereferences a loop that may be gone.)
  if (conn_->loop()->IsInLoopThread()) {
    OnHandlerDone();
    return;
  }
  handle_->Run([self = self] { self->OnHandlerDone(); });
}

bool ServerCall::Pend(const TcpConnectionPtr& conn,
                      const std::shared_ptr<ServerCall>& self) {
  if (pending_) return true;
  conn_ref_ = conn;
  connection_ref_ = connection_->shared_from_this();
  if (ABSL_PREDICT_TRUE(connection_->Adopt(self, *conn_))) {
    pending_ = true;
    return true;
  }
  // The connection closed while the call started (its table was already
  // let go of): the call is retired as its table's calls were.
  Disconnected();
  // Before the handler (an HTTP call, or one for a worker): it never runs.
  // An inline handler that has run still has `done` to call.
  if (!started_ || method_->options.use_worker_pool) {
    handler_done_ = true;
    ReleaseMessages();
  }
  return false;
}

void ServerCall::OnHandlerDone() {
  if (!answered_) Answer(status_);  // Else aborted: the result is dropped.
  ReleaseMessages();
}

void ServerCall::ArmDeadline(const std::shared_ptr<ServerCall>& self) {
  if (ctx_.deadline() == absl::InfiniteFuture()) return;
  std::weak_ptr<ServerCall> weak = self;
  deadline_timer_ = conn_->loop()->RunAt(ctx_.deadline(), [weak] {
    if (auto self = weak.lock()) self->OnDeadline();
  });
}

void ServerCall::OnDeadline() {
  deadline_timer_ = TimerId();
  if (answered_) return;
  Abort(absl::DeadlineExceededError(absl::StrCat(
      "the deadline passed after ",
      absl::FormatDuration(absl::Trunc(ctx_.deadline() - arrival_,
                                       absl::Microseconds(1))),
      started_ && run_state_.load() != kQueued
          ? " while the handler ran"
          : " while the call waited for a worker")));
}

void ServerCall::Abort(const absl::Status& status) {
  if (answered_) return;
  int expected = kQueued;
  const bool skipped = run_state_.compare_exchange_strong(
      expected, kSkipped, std::memory_order_acq_rel);
  answered_ = true;  // Before the cancel callback: a `done` it calls is late.
  if (skipped) Unqueue();
  ctx_.MarkCancelled();
  Answer(status);
  if (skipped) {  // Taken off the worker queue: the handler never runs.
    handler_done_ = true;
    ReleaseMessages();
  }
}

void ServerCall::Disconnected() {
  if (answered_) return;
  answered_ = true;
  int expected = kQueued;
  if (run_state_.compare_exchange_strong(expected, kSkipped,
                                         std::memory_order_acq_rel)) {
    Unqueue();
    handler_done_ = true;
    ReleaseMessages();
  }
  ctx_.MarkCancelled();
  if (deadline_timer_.valid()) conn_->loop()->Cancel(deadline_timer_);
  const absl::Status status =
      absl::UnavailableError("the client's connection closed");
  const int64_t now_ns = MonotonicNanos();
  const absl::Duration latency = admitted_ > 0
                                     ? absl::Nanoseconds(now_ns - start_ns_)
                                     : absl::ZeroDuration();
  for (size_t i = admitted_; i-- > 0;) {
    shared_->interceptors[i]->OnResponse(&ctx_, status, latency);
  }
  ReleaseAdmission(status, now_ns);
  MaybeKeepForRpcz(status, now_ns);
  shared_->CallAnswered(handle_);
}

void ServerCall::Unqueue() {
  // Releases the queued bytes now. A worker may have popped the task just
  // before we won the skip; it then finds kSkipped and returns.
  if (task_id_ != 0) shared_->workers->Remove(connection_, task_id_);
  task_id_ = 0;
}

void ServerCall::Answer(const absl::Status& status) {
  answered_ = true;
  if (deadline_timer_.valid()) {
    conn_->loop()->Cancel(deadline_timer_);
    deadline_timer_ = TimerId();
  }
  LoopCounters& counters = handle_->counters;
  absl::Status sent;  // OK unless the answer is an error.
  if (ABSL_PREDICT_FALSE(http_)) {
    sent = connection_->AnswerHttp(this, status);
    LoopCounters::Add(counters.responses);
  } else if (conn_->connected()) {
    // OK comes only from the handler's `done`, so the handler is finished
    // and its response metadata ours to read.
    if (status.ok() && ctx_.response_metadata_.empty()) {
      // The common answer, inline: a small OK response.
      const size_t small =
          std::min(shared_->options.max_frame_size, kBudgetExemptBytes);
      bool written = false;
      conn_->SendInPlace([&](Buffer* out) {
        written = EncodeResponseFrame(id_, status, nullptr, response_.get(),
                                      out, small) <= small;
      });
      if (!written && conn_->connected()) sent = SendResponse(status, nullptr);
    } else {
      sent = SendWithMetadata(status);
    }
    LoopCounters::Add(counters.responses);
  } else {
    sent = status;
  }
  if (!sent.ok() && sent.code() == absl::StatusCode::kDeadlineExceeded) {
    LoopCounters::Add(counters.deadline_exceeded);
  }
  const int64_t now_ns = MonotonicNanos();
  if (admitted_ > 0) {
    const absl::Duration latency = absl::Nanoseconds(now_ns - start_ns_);
    for (size_t i = admitted_; i-- > 0;) {
      shared_->interceptors[i]->OnResponse(&ctx_, sent, latency);
    }
  }
  ReleaseAdmission(sent, now_ns);
  MaybeKeepForRpcz(sent, now_ns);
  shared_->CallAnswered(handle_);
  if (pending_) {
    connection_->Retire(this, *conn_);  // May drop a reference, not ours.
    if (ABSL_PREDICT_FALSE(http_)) connection_->ResumeHttp(conn_ref_);
  }
}

absl::Status ServerCall::SendWithMetadata(const absl::Status& status) {
  absl::Status sent = status;
  Metadata metadata;
  // The handler's response metadata is ours to read once it is done.
  if (handler_done_.load(std::memory_order_acquire)) {
    const ServerOptions& o = shared_->options;
    absl::Status fits = CheckMetadata(ctx_.response_metadata_,
                                      o.max_metadata_bytes,
                                      o.max_metadata_entries);
    if (fits.ok()) {
      metadata = ctx_.response_metadata_;
    } else {
      sent = absl::ResourceExhaustedError(
          absl::StrCat("response metadata: ", fits.message()));
    }
  }
  if (!sent.ok() && (sent.code() == absl::StatusCode::kDeadlineExceeded ||
                     sent.code() == absl::StatusCode::kUnavailable)) {
    // Where the time went, for the caller's error message.
    metadata.emplace_back(
        kServerTimeKey,
        absl::StrCat(absl::ToInt64Microseconds(absl::Now() - arrival_)));
  }
  return SendResponse(sent, &metadata);
}

absl::Status ServerCall::SendResponse(const absl::Status& status,
                                      const Metadata* metadata) {
  absl::Status sent = status;
  const size_t max = shared_->options.max_frame_size;
  conn_->SendInPlace([&](Buffer* out) {
    // Small responses (the common case) pass without asking the budget:
    // the first try is limited to what is always let through.
    const size_t small = std::min(max, kBudgetExemptBytes);
    size_t size =
        EncodeResponseFrame(id_, status, metadata, response_.get(), out, small);
    if (ABSL_PREDICT_TRUE(size <= small)) return;
    pool_messages_ = false;  // A large response is not kept for reuse.
    size_t limit = max;
    const size_t room = connection_->ResponseRoom(*conn_);
    if (room < limit) limit = std::max(room, kBudgetExemptBytes);
    if (size <= limit) {
      EncodeResponseFrame(id_, status, metadata, response_.get(), out);
      return;
    }
    LoopCounters& counters = handle_->counters;
    if (size > max) {
      LoopCounters::Add(counters.oversized_responses);
      sent = absl::ResourceExhaustedError(absl::StrCat(
          "the response of ", size, " bytes is over the server's limit of ",
          max, " bytes (max_frame_size); it was not sent"));
    } else {
      LoopCounters::Add(counters.memory_refusals);
      sent = connection_->MemoryError(
          absl::StrCat("the response of ", size, " bytes"), *conn_);
      sent = absl::ResourceExhaustedError(
          absl::StrCat(sent.message(), "; it was not sent"));
    }
    LoopCounters::Add(counters.overloaded);
    EncodeResponseFrame(id_, sent, nullptr, nullptr, out);
  });
  return sent;
}

size_t ServerCall::CountParsedBytes(absl::string_view payload,
                                    size_t limit) const {
  return EstimateParsedBytes(method_->request_prototype->GetDescriptor(),
                             payload, limit);
}

void ServerCall::ChargeHeld(size_t request_bytes) {
  charge_ = static_cast<int64_t>(request_bytes) + kCallOverheadBytes;
  connection_->Hold(charge_);
}

void ServerCall::ReleaseAdmission(const absl::Status& sent, int64_t now_ns) {
  // ok() is inline; code() is a call: the common answer skips it.
  handle_->method_stats[method_->index].Record(
      sent.ok() ? absl::StatusCode::kOk : sent.code(), now_ns - arrival_ns_);
  if (limiter_ == nullptr) return;
  ReleaseCall(limiter_, admitted_ns_, admitted_light_, sent,
              conn_->loop()->CachedNowNs());
  limiter_ = nullptr;
}

void ServerCall::KeepForRpcz(const absl::Status& sent, int64_t now_ns) {
  RpczCall call;
  call.arrival = arrival_;
  call.service = ctx_.service();
  call.method = ctx_.method();
  call.peer = &ctx_.peer();
  call.http = http_;
  call.code = sent.code();
  call.message = sent.message();
  call.request_bytes = request_bytes_;
  call.total_us = (now_ns - arrival_ns_) / 1000;
  const int64_t start_ns = handler_start_ns_.load(std::memory_order_relaxed);
  if (start_ns != 0) {
    call.queued_us = (start_ns - arrival_ns_) / 1000;
    // Answered before the handler's `done` (a deadline, a cancel, a
    // disconnect): its phase and the answer's are unknown.
    if (handler_done_.load(std::memory_order_acquire)) {
      int64_t done_ns = done_ns_.load(std::memory_order_relaxed);
      if (done_ns == 0) done_ns = now_ns;  // `done` inside the handler.
      call.handler_us = (done_ns - start_ns) / 1000;
      call.answer_us = (now_ns - done_ns) / 1000;
    }
  }
  // The caller's trace only: ctx_.trace() would start one (and belongs to
  // the handler's thread). The request metadata is fixed before Start().
  absl::optional<TraceContext> trace;
  if (absl::optional<absl::string_view> header =
          FindMetadata(ctx_.metadata_, kTraceparentKey)) {
    trace = TraceContext::Parse(*header);
  }
  if (trace.has_value()) call.trace_id = &trace->trace_id;
  shared_->rpcz.Add(call);
}

void ServerCall::ReleaseMessages() {
  if (charge_ != 0) {
    connection_->Hold(-charge_);
    charge_ = 0;
  }
  if (!pool_messages_) {
    if (request_ != nullptr || response_ != nullptr) {
      TrimFreedMemorySoon(conn_->loop());
    }
    request_.reset();
    response_.reset();
    return;
  }
  if (request_ != nullptr) pool_->Return(/*request=*/true, std::move(request_));
  if (response_ != nullptr) {
    pool_->Return(/*request=*/false, std::move(response_));
  }
}

}  // namespace mrpc
