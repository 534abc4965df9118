#include "net/loop_watchdog.h"

#include <glog/logging.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/event_loop.h"
#include "net/event_loop_thread.h"
#include "net/io_channel.h"
#include "net/sync.h"
#include "net/test_util.h"

namespace mrpc {
namespace {

using ::mrpc::testing::Eventually;
using ::mrpc::testing::LogCapture;

constexpr absl::Duration kThreshold = absl::Milliseconds(100);

LoopWatchdogOptions WithThreshold(absl::Duration threshold) {
  LoopWatchdogOptions options;
  options.threshold = threshold;
  return options;
}

// The watchdog's lines about loop `name`.
LogCapture::Filter AboutLoop(const std::string& name) {
  const std::string prefix = "event loop " + name + " ";
  return [prefix](google::LogSeverity, absl::string_view text) {
    return absl::StartsWith(text, prefix);
  };
}

std::vector<std::string> Warnings(LogCapture* capture) {
  std::vector<std::string> warnings;
  for (const LogCapture::Line& line : capture->Lines()) {
    if (line.severity == google::GLOG_WARNING) warnings.push_back(line.text);
  }
  return warnings;
}

// The duration a WARNING reports: "... stalled: 112.3ms without ...".
absl::Duration ReportedStall(const std::string& warning) {
  const size_t at = warning.find("stalled: ");
  if (at == std::string::npos) return absl::ZeroDuration();
  const size_t begin = at + 9;
  const size_t end = warning.find(' ', begin);
  absl::Duration d;
  if (!absl::ParseDuration(warning.substr(begin, end - begin), &d)) {
    return absl::ZeroDuration();
  }
  return d;
}

LoopStallStats StatsOf(const LoopWatchdog& watchdog, const std::string& name) {
  for (const LoopStallStats& s : watchdog.Snapshot()) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no loop " << name << " in the snapshot";
  return {};
}

TEST(LoopWatchdogTest, DefaultsDerivePeriodFromThreshold) {
  LoopWatchdog defaults;
  EXPECT_EQ(defaults.threshold(), absl::Milliseconds(100));
  EXPECT_EQ(defaults.period(), absl::Milliseconds(25));
  LoopWatchdog small(WithThreshold(absl::Milliseconds(8)));
  EXPECT_EQ(small.period(), absl::Milliseconds(5));
}

TEST(LoopWatchdogTest, ScopedTaskLabelsNestAndRestore) {
  EventLoopThread thread("label-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  EXPECT_EQ(loop->task_label(), nullptr);
  RunInLoopAndWait(loop, [loop] {
    EventLoop::ScopedTask outer(loop, "outer");
    EXPECT_STREQ(loop->task_label(), "outer");
    {
      EventLoop::ScopedTask inner(loop, "inner");
      EXPECT_STREQ(loop->task_label(), "inner");
      EventLoop::ScopedTask none(nullptr, "ignored");  // Off a loop: no-op.
      EXPECT_STREQ(loop->task_label(), "inner");
    }
    EXPECT_STREQ(loop->task_label(), "outer");
    EXPECT_EQ(loop->phase(), EventLoop::Phase::kTasks);
    EXPECT_NE(loop->iteration_start_ns(), 0);
  });
  EXPECT_EQ(loop->task_label(), nullptr);
}

TEST(LoopWatchdogTest, BlockingLabelledTaskWarnsOnceAndIsCounted) {
  EventLoopThread thread("stall-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  LogCapture capture(AboutLoop("stall-loop"));
  LoopWatchdog watchdog(WithThreshold(kThreshold));
  ASSERT_TRUE(watchdog.Start().ok());
  watchdog.Watch(loop, "stall-loop");

  RunInLoopAndWait(loop, [loop] {
    EventLoop::ScopedTask task(loop, "mrpc.test.Svc/Block (handler)");
    absl::SleepFor(absl::Milliseconds(250));  // The stall under test.
  });
  // The stall's end is seen at the next check.
  ASSERT_TRUE(Eventually(
      [&] { return StatsOf(watchdog, "stall-loop").stalled_ns > 0; }));

  const std::vector<std::string> warnings = Warnings(&capture);
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_TRUE(absl::StrContains(warnings[0], "stall-loop")) << warnings[0];
  EXPECT_TRUE(absl::StrContains(warnings[0],
                                "held by mrpc.test.Svc/Block (handler)"))
      << warnings[0];
  EXPECT_GE(ReportedStall(warnings[0]), kThreshold) << warnings[0];
  EXPECT_LT(ReportedStall(warnings[0]), absl::Milliseconds(250))
      << "warned only after the stall: " << warnings[0];
  std::vector<LogCapture::Line> lines = capture.Lines();
  int ended = 0;
  for (const LogCapture::Line& line : lines) {
    if (absl::StrContains(line.text, "stall ended after")) ++ended;
  }
  EXPECT_EQ(ended, 1);

  const LoopStallStats stats = StatsOf(watchdog, "stall-loop");
  EXPECT_EQ(stats.stalls, 1u);
  EXPECT_GE(stats.stalled_ns, 250'000'000u);
  EXPECT_EQ(stats.current_stall_ns, 0);
  EXPECT_EQ(stats.holder, "");
  EXPECT_EQ(stats.slowest_stall_ns, stats.stalled_ns);
  EXPECT_EQ(stats.slowest_holder, "mrpc.test.Svc/Block (handler)");
  EXPECT_GE(stats.busy_ns, 250'000'000u);
  EXPECT_EQ(watchdog.total_stalls(), 1u);
}

TEST(LoopWatchdogTest, SnapshotShowsTheStallInProgress) {
  EventLoopThread thread("live-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  LoopWatchdog watchdog(WithThreshold(absl::Milliseconds(20)));
  watchdog.Watch(loop, "live-loop");
  Notification release;
  Notification done;
  loop->QueueInLoop([&] {
    release.WaitForNotification();
    done.Notify();
  });
  ASSERT_TRUE(Eventually(
      [&] { return StatsOf(watchdog, "live-loop").current_stall_ns > 0; }));
  const LoopStallStats stats = StatsOf(watchdog, "live-loop");
  EXPECT_EQ(stats.stalls, 1u);
  EXPECT_EQ(stats.holder, "a queued task");
  release.Notify();
  done.WaitForNotification();
}

TEST(LoopWatchdogTest, ManyShortTasksAreNoStall) {
  EventLoopThread thread("busy-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  LogCapture capture(AboutLoop("busy-loop"));
  LoopWatchdog watchdog(WithThreshold(kThreshold));
  watchdog.Watch(loop, "busy-loop");
  const int64_t busy_before = loop->busy_ns();

  // A chain of 40 tasks of 5 ms, each queued by the one before, so each
  // runs in an iteration of its own: 200 ms of work, no long iteration.
  constexpr int kTasks = 40;
  Notification done;
  struct Chain {
    EventLoop* loop;
    Notification* done;
    int left;
    void Next() {
      absl::SleepFor(absl::Milliseconds(5));
      if (--left == 0) {
        done->Notify();
        return;
      }
      loop->QueueInLoop([this] { Next(); });
    }
  } chain{loop, &done, kTasks};
  loop->QueueInLoop([&chain] { chain.Next(); });
  done.WaitForNotification();
  // Let the watchdog check the loop a few more times.
  RunInLoopAndWait(loop, [] {});

  EXPECT_TRUE(Warnings(&capture).empty())
      << ::testing::PrintToString(capture.Texts());
  const LoopStallStats stats = StatsOf(watchdog, "busy-loop");
  EXPECT_EQ(stats.stalls, 0u);
  EXPECT_EQ(stats.stalled_ns, 0u);
  EXPECT_GE(loop->busy_ns() - busy_before, 200'000'000);
  EXPECT_GE(stats.iterations, static_cast<uint64_t>(kTasks));
}

TEST(LoopWatchdogTest, BlockingTimerIsNamedAsATimer) {
  EventLoopThread thread("timer-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  LogCapture capture(AboutLoop("timer-loop"));
  LoopWatchdog watchdog(WithThreshold(kThreshold));
  watchdog.Watch(loop, "timer-loop");
  Notification fired;
  loop->RunAfter(absl::Milliseconds(1), [&fired] {
    absl::SleepFor(absl::Milliseconds(200));  // The stall under test.
    fired.Notify();
  });
  fired.WaitForNotification();
  ASSERT_TRUE(Eventually(
      [&] { return StatsOf(watchdog, "timer-loop").stalled_ns > 0; }));
  const std::vector<std::string> warnings = Warnings(&capture);
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_TRUE(absl::StrContains(warnings[0], "held by a timer"))
      << warnings[0];
  EXPECT_EQ(StatsOf(watchdog, "timer-loop").slowest_holder, "a timer");
}

TEST(LoopWatchdogTest, BlockingIoCallbackIsNamedAsIo) {
  EventLoopThread thread("io-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  LogCapture capture(AboutLoop("io-loop"));
  LoopWatchdog watchdog(WithThreshold(kThreshold));
  watchdog.Watch(loop, "io-loop");
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::unique_ptr<IoChannel> channel;
  Notification handled;
  RunInLoopAndWait(loop, [&] {
    channel = std::make_unique<IoChannel>(loop, fd);
    channel->SetReadCallback([&] {
      uint64_t n;
      ASSERT_EQ(::read(fd, &n, sizeof n), static_cast<ssize_t>(sizeof n));
      absl::SleepFor(absl::Milliseconds(200));  // The stall under test.
      handled.Notify();
    });
    channel->EnableReading();
  });
  const uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
  handled.WaitForNotification();
  ASSERT_TRUE(Eventually(
      [&] { return StatsOf(watchdog, "io-loop").stalled_ns > 0; }));
  const std::vector<std::string> warnings = Warnings(&capture);
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_TRUE(absl::StrContains(warnings[0], "held by an I/O callback"))
      << warnings[0];
  RunInLoopAndWait(loop, [&] {
    channel->DisableAll();
    channel->Remove();
    channel.reset();
  });
  ::close(fd);
}

TEST(LoopWatchdogTest, BusyTimeGrowsWithWorkNotWhenIdle) {
  EventLoopThread thread("acct-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  RunInLoopAndWait(loop, [] {});
  const int64_t idle_start = loop->busy_ns();
  const uint64_t iterations = loop->iterations();
  // Idle: waiting is what is measured here.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_LT(loop->busy_ns() - idle_start, 20'000'000);
  EXPECT_LE(loop->iterations() - iterations, 2u);
  EXPECT_EQ(loop->iteration_start_ns(), 0);  // In epoll_wait.

  const int64_t work_start = loop->busy_ns();
  RunInLoopAndWait(loop, [] {
    const int64_t until = MonotonicNanos() + 50'000'000;
    while (MonotonicNanos() < until) {
    }
  });
  // Counted when the iteration ends, which may be just after the wait.
  ASSERT_TRUE(Eventually(
      [&] { return loop->busy_ns() - work_start >= 50'000'000; }));
}

TEST(LoopWatchdogTest, UnwatchDuringAStallIsSafe) {
  auto thread = std::make_unique<EventLoopThread>("gone-loop");
  EventLoop* loop = testing::StartOrDie(thread.get());
  LoopWatchdog watchdog(WithThreshold(absl::Milliseconds(10)));
  watchdog.Watch(loop, "gone-loop");
  Notification release;
  Notification done;
  loop->QueueInLoop([&] {
    EventLoop::ScopedTask task(loop, "held");
    release.WaitForNotification();
    done.Notify();
  });
  ASSERT_TRUE(Eventually([&] { return watchdog.total_stalls() == 1; }));
  watchdog.Unwatch(loop);
  watchdog.Unwatch(loop);  // No-op.
  EXPECT_TRUE(watchdog.Snapshot().empty());
  release.Notify();
  done.WaitForNotification();
  thread.reset();  // The loop is gone; the watchdog must not touch it.
  EXPECT_EQ(watchdog.total_stalls(), 1u);

  // Churn: watching and unwatching while loops run and stall.
  EventLoopThread other("churn-loop");
  EventLoop* other_loop = testing::StartOrDie(&other);
  for (int i = 0; i < 50; ++i) {
    watchdog.Watch(other_loop, "churn-loop");
    other_loop->QueueInLoop([] { absl::SleepFor(absl::Milliseconds(1)); });
    watchdog.Unwatch(other_loop);
  }
  RunInLoopAndWait(other_loop, [] {});
}

TEST(LoopWatchdogTest, DestructorJoinsPromptly) {
  EventLoopThread thread("join-loop");
  EventLoop* loop = testing::StartOrDie(&thread);
  // A long period: stopping must not wait it out.
  auto watchdog = std::make_unique<LoopWatchdog>(
      WithThreshold(absl::Seconds(10)));
  watchdog->Watch(loop, "join-loop");
  RunInLoopAndWait(loop, [] {});
  const absl::Time start = absl::Now();
  watchdog.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));

  // Never started: nothing to join.
  LoopWatchdog unused;
}

}  // namespace
}  // namespace mrpc
