// The load driver against a fake transport: what it counts, checks and
// reports, independent of any RPC system.
#include "tools/load/load_driver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "net/sync.h"

namespace mrpc::load {
namespace {

// Answers calls from a thread of its own (as a real transport's I/O loop
// does; completing inside Call() is not allowed), echoing the request's
// payload and checking the echo as a real transport does, except: every
// `corrupt_every`-th call echoes a wrong byte, and slow calls fail with
// `slow_code` if it is set. Remembers each call's number and payload.
class FakeTransport : public EchoTransport {
 public:
  int corrupt_every = 0;
  absl::StatusCode slow_code = absl::StatusCode::kOk;
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> slow_calls{0};
  // Calls whose payload was not the prepared payload their variant names.
  std::atomic<uint64_t> wrong_variant{0};
  int prepare_calls = 0;  // Prepare() runs on Run()'s thread, as Connect().
  std::vector<std::string> prepared;

  // seq -> payload of every call sent.
  std::map<uint64_t, std::string> Sent() {
    MutexLock lock(&mutex_);
    return sent_;
  }

  FakeTransport() : worker_([this] { Work(); }) {}
  ~FakeTransport() override {
    {
      MutexLock lock(&mutex_);
      stop_ = true;
      wake_.Signal();
    }
    worker_.join();
  }

  std::string name() const override { return "fake"; }
  void Prepare(const std::vector<absl::string_view>& payloads) override {
    ++prepare_calls;
    prepared.clear();
    for (absl::string_view p : payloads) prepared.emplace_back(p);
  }
  absl::StatusOr<std::unique_ptr<EchoConnection>> Connect(
      const std::string& target, int index) override {
    EXPECT_EQ(prepare_calls, 1) << "Connect() before Prepare()";
    if (target == "refuse:1") return absl::UnavailableError("refused");
    return std::unique_ptr<EchoConnection>(new Connection(this));
  }

 private:
  struct Pending {
    absl::string_view sent;  // Valid until the call completes.
    std::string echo;
    absl::StatusCode code;
    EchoDone done;
  };

  class Connection : public EchoConnection {
   public:
    explicit Connection(FakeTransport* t) : t_(t) {}
    void Call(const EchoCall& call, EchoDone done) override {
      const uint64_t n = ++t_->calls;
      if (call.variant >= t_->prepared.size() ||
          t_->prepared[call.variant] != call.payload) {
        ++t_->wrong_variant;
      }
      Pending p{call.payload, std::string(call.payload), absl::StatusCode::kOk,
                std::move(done)};
      if (call.work_us > 0) {
        ++t_->slow_calls;
        p.code = t_->slow_code;
      }
      if (t_->corrupt_every > 0 && n % t_->corrupt_every == 0 &&
          !p.echo.empty()) {
        p.echo[0] ^= 1;
      }
      MutexLock lock(&t_->mutex_);
      t_->sent_.emplace(call.seq, std::string(call.payload));
      t_->queue_.push_back(std::move(p));
      t_->wake_.Signal();
    }

   private:
    FakeTransport* const t_;
  };

  void Work() {
    for (;;) {
      std::deque<Pending> batch;
      {
        MutexLock lock(&mutex_);
        while (queue_.empty() && !stop_) wake_.Wait(&mutex_);
        if (queue_.empty()) return;
        batch.swap(queue_);
      }
      for (Pending& p : batch) {
        p.done(p.code, p.echo == p.sent);
      }
    }
  }

  Mutex mutex_;
  CondVar wake_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mutex_);
  bool stop_ ABSL_GUARDED_BY(mutex_) = false;
  std::map<uint64_t, std::string> sent_ ABSL_GUARDED_BY(mutex_);
  std::thread worker_;
};

LoadSpec QuickSpec() {
  LoadSpec spec;
  spec.targets = {"fake:1"};
  spec.conns = 2;
  spec.depth = 2;
  spec.warmup = absl::ZeroDuration();
  spec.requests = 5000;
  spec.progress = false;
  return spec;
}

TEST(LoadDriverTest, RequestsModeMeasuresExactlyThatMany) {
  FakeTransport transport;
  absl::StatusOr<LoadReport> report = load::Run(QuickSpec(), &transport);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->measured_calls(), 5000u);
  EXPECT_EQ(report->ok, 5000u);
  EXPECT_EQ(report->error_count(), 0u);
  EXPECT_GT(report->qps(), 0);
  EXPECT_EQ(report->transport, "fake");
}

TEST(LoadDriverTest, CallsAreNumberedInOrderWithPayloadsThatDiffer) {
  FakeTransport transport;
  LoadSpec spec = QuickSpec();
  spec.requests = 1000;
  absl::StatusOr<LoadReport> report = load::Run(spec, &transport);
  ASSERT_TRUE(report.ok());
  const std::map<uint64_t, std::string> sent = transport.Sent();
  // Numbers 0, 1, 2, ... each once (a transport with requests of its own
  // cycles through them by number).
  ASSERT_EQ(sent.size(), transport.calls.load());
  EXPECT_EQ(sent.begin()->first, 0u);
  EXPECT_EQ(sent.rbegin()->first, sent.size() - 1);
  // Neighbours' payloads differ, so an echo of the wrong call fails.
  for (uint64_t seq = 1; seq < sent.size(); ++seq) {
    ASSERT_EQ(sent.at(seq).size(), static_cast<size_t>(spec.payload));
    ASSERT_NE(sent.at(seq), sent.at(seq - 1)) << seq;
  }
}

TEST(LoadDriverTest, EveryPayloadIsOneThatWasPrepared) {
  // A transport may build its requests once, in Prepare(), and pick one by
  // the call's variant: that is only right if every call's payload is
  // exactly the prepared one its variant names.
  FakeTransport transport;
  LoadSpec spec = QuickSpec();
  spec.payload = 100;
  spec.requests = 2000;
  spec.slow_fraction = 0.05;  // Slow calls carry the same payloads.
  absl::StatusOr<LoadReport> report = load::Run(spec, &transport);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(transport.prepare_calls, 1);
  EXPECT_GT(transport.calls.load(), 2000u);
  EXPECT_EQ(transport.wrong_variant.load(), 0u);
  // Enough variants that neighbouring calls differ (checked below by
  // content), and all of the run's payload size.
  ASSERT_GE(transport.prepared.size(), 2u);
  for (const std::string& payload : transport.prepared) {
    EXPECT_EQ(payload.size(), 100u);
  }
  // Every variant is used: 2000 calls cycle through all of them.
  std::set<std::string> used;
  for (const auto& [seq, payload] : transport.Sent()) used.insert(payload);
  EXPECT_EQ(used.size(), transport.prepared.size());
}

TEST(LoadDriverTest, FailedChecksAreCountedAsMismatches) {
  FakeTransport transport;
  transport.corrupt_every = 100;
  absl::StatusOr<LoadReport> report = load::Run(QuickSpec(), &transport);
  ASSERT_TRUE(report.ok());
  ASSERT_TRUE(report->errors.count("MISMATCH"));
  // About 1 in 100 of all calls made (the run keeps going until 5000 were
  // measured; a few in flight finish after).
  const uint64_t mismatches = report->errors.at("MISMATCH");
  EXPECT_GE(mismatches, transport.calls.load() / 100 - 1);
  EXPECT_LE(mismatches, transport.calls.load() / 100);
  // Measured, but not OK.
  EXPECT_EQ(report->measured_calls(), 5000u);
  EXPECT_LT(report->ok, 5000u);
  EXPECT_GE(report->ok, 5000u - 5000u / 100 - 1);
}

TEST(LoadDriverTest, SlowMixSendsTheFractionAndReportsFailuresByCode) {
  FakeTransport transport;
  transport.slow_code = absl::StatusCode::kDeadlineExceeded;
  LoadSpec spec = QuickSpec();
  spec.requests = 20000;
  spec.slow_fraction = 0.05;
  absl::StatusOr<LoadReport> report = load::Run(spec, &transport);
  ASSERT_TRUE(report.ok());
  const double fraction =
      static_cast<double>(transport.slow_calls.load()) / transport.calls.load();
  EXPECT_NEAR(fraction, 0.05, 0.01);
  ASSERT_TRUE(report->errors.count("DEADLINE_EXCEEDED"));
  EXPECT_EQ(report->errors.at("DEADLINE_EXCEEDED"),
            transport.slow_calls.load());
  EXPECT_EQ(report->slow.count() + report->fast.count(), 20000u);
  EXPECT_GT(report->slow.count(), 0u);
  // A failed call is counted by its code, not also as a mismatch.
  EXPECT_FALSE(report->errors.count("MISMATCH"));
  EXPECT_EQ(report->ok, report->fast.count());
}

TEST(LoadDriverTest, OpenLoopHoldsTheRate) {
  FakeTransport transport;
  LoadSpec spec = QuickSpec();
  spec.requests = 0;
  spec.duration = absl::Milliseconds(500);
  spec.qps = 4000;
  absl::StatusOr<LoadReport> report = load::Run(spec, &transport);
  ASSERT_TRUE(report.ok());
  // 4000/s for 0.5 s: about 2000 calls, paced, not as fast as possible.
  EXPECT_NEAR(static_cast<double>(report->measured_calls()), 2000, 300);
  EXPECT_EQ(report->error_count(), 0u);
}

TEST(LoadDriverTest, ConnectFailureIsReportedWithTheTarget) {
  FakeTransport transport;
  LoadSpec spec = QuickSpec();
  spec.targets = {"fake:1", "refuse:1"};
  absl::StatusOr<LoadReport> report = load::Run(spec, &transport);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("connection 1 to refuse:1"),
            std::string::npos)
      << report.status();
}

TEST(LoadDriverTest, CompletionsOnManyThreadsAreAllCounted) {
  // Each completion on a short-lived thread of its own: the driver's
  // per-thread statistics must all be found and merged.
  class Threaded : public EchoTransport {
   public:
    ~Threaded() override {
      for (std::thread& t : threads_) t.join();
    }
    std::string name() const override { return "threaded"; }
    absl::StatusOr<std::unique_ptr<EchoConnection>> Connect(const std::string&,
                                                            int) override {
      class Conn : public EchoConnection {
       public:
        explicit Conn(Threaded* owner) : owner_(owner) {}
        void Call(const EchoCall& call, EchoDone done) override {
          MutexLock lock(&owner_->mutex_);
          owner_->threads_.emplace_back([done = std::move(done)]() mutable {
            done(absl::StatusCode::kOk, /*checked=*/true);
          });
        }

       private:
        Threaded* const owner_;
      };
      return std::unique_ptr<EchoConnection>(new Conn(this));
    }

   private:
    Mutex mutex_;
    std::vector<std::thread> threads_;
  } transport;
  LoadSpec spec = QuickSpec();
  spec.requests = 300;
  absl::StatusOr<LoadReport> report = load::Run(spec, &transport);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->measured_calls(), 300u);
  EXPECT_EQ(report->error_count(), 0u);
}

}  // namespace
}  // namespace mrpc::load
