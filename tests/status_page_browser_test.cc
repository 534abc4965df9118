// /status in a real browser: Debian's headless Chromium loads the page from
// a Server after some calls; the rendered DOM must show the service, its
// methods, the call count and the loops table, and a screenshot must come
// out as a PNG. tools/setup.sh installs chromium; without it this FAILS.
//
// Chromium runs as a child in its own process group with a bounded wait;
// on timeout the group is killed by the child's PID.
#include <fcntl.h>
#include <glog/logging.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/echo.pb.h"
#include "rpc/channel.h"
#include "rpc/server.h"
#include "tests/test_service.h"

namespace mrpc {
namespace {

using echo::EchoRequest;
using echo::EchoResponse;
using ::mrpc::testing::kTestService;

constexpr char kChromium[] = "/usr/bin/chromium";
// Chromium's cold start is seconds; under load on 2 cores, tens of them.
constexpr absl::Duration kBrowserTimeout = absl::Seconds(120);

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

struct BrowserRun {
  int wait_status = -1;  // -1: timed out (and killed).
  std::string out;       // stdout.
  std::string log_path;  // stderr, for the failure message.
};

// Runs chromium headless with `extra` arguments and `url`; stdout is
// collected, stderr goes to a file.
BrowserRun RunChromium(const std::vector<std::string>& extra,
                       const std::string& url, const std::string& name) {
  BrowserRun run;
  const std::string profile = absl::StrCat(TempDir(), "/chromium-", name);
  mkdir(profile.c_str(), 0700);
  run.log_path = absl::StrCat(TempDir(), "/chromium-", name, ".log");
  std::vector<std::string> args = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--no-first-run",
                                   "--disable-sync",
                                   "--disable-dev-shm-usage",
                                   absl::StrCat("--user-data-dir=", profile)};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  PCHECK(pipe2(out, O_CLOEXEC) == 0);
  const pid_t pid = fork();
  PCHECK(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);  // Its renderer and GPU children too: one kill ends all.
    dup2(out[1], STDOUT_FILENO);
    const int log =
        open(run.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (log >= 0) dup2(log, STDERR_FILENO);
    setenv("HOME", profile.c_str(), 1);  // Chromium writes under $HOME.
    execv(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // Also here: no race with the kill below.
  close(out[1]);
  const absl::Time deadline = absl::Now() + kBrowserTimeout;
  char buf[65536];
  bool eof = false;
  while (!eof) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p{out[0], POLLIN, 0};
    const int n =
        poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n <= 0) continue;
    const ssize_t got = read(out[0], buf, sizeof buf);
    if (got > 0) {
      run.out.append(buf, got);
    } else {
      eof = true;
    }
  }
  close(out[0]);
  // Stdout closed: the browser is exiting; give it the rest of the bound.
  while (absl::Now() < deadline) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      run.wait_status = status;
      return run;
    }
    absl::SleepFor(absl::Milliseconds(20));  // No event for a child's exit.
  }
  LOG(ERROR) << "chromium (pid " << pid << ") still running after "
             << kBrowserTimeout << "; killing its process group";
  kill(-pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return run;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 3000 ? all.substr(all.size() - 3000) : all;
}

class StatusBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kChromium, X_OK), 0)
        << kChromium
        << " is missing: run tools/setup.sh (it installs Debian's chromium)";
    ServerOptions options;
    options.num_threads = 2;
    options.shutdown_grace = absl::Milliseconds(100);
    server_ = std::make_unique<Server>(options);
    ASSERT_TRUE(testing::RegisterTestService(server_.get(), &counters_).ok());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    absl::StatusOr<std::unique_ptr<Channel>> channel =
        Channel::Create(absl::StrCat("127.0.0.1:", server_->port()));
    ASSERT_TRUE(channel.ok()) << channel.status();
    for (int i = 0; i < kEchoes + kFails; ++i) {
      EchoRequest req;
      req.set_payload(i < kEchoes ? "hello" : "5:nope");
      EchoResponse resp;
      ClientContext ctx;
      ctx.set_timeout(absl::Seconds(10));
      (void)(*channel)->CallMethodBlocking(
          kTestService, i < kEchoes ? "Echo" : "Fail", req, &resp, &ctx);
    }
    url_ = absl::StrCat("http://127.0.0.1:", server_->port(), "/status");
  }
  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  static constexpr int kEchoes = 37;
  static constexpr int kFails = 4;
  testing::TestServiceCounters counters_;
  std::unique_ptr<Server> server_;
  std::string url_;
};

TEST_F(StatusBrowserTest, RendersTheStatusPage) {
  BrowserRun run = RunChromium({"--dump-dom"}, url_, "dom");
  ASSERT_TRUE(WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 0)
      << "chromium failed (wait status " << run.wait_status << "); its log:\n"
      << Tail(run.log_path);
  const std::string& dom = run.out;
  EXPECT_TRUE(absl::StrContains(dom, "mrpc.test.TestService")) << dom;
  EXPECT_TRUE(absl::StrContains(dom, "<td>Echo</td>")) << dom;
  EXPECT_TRUE(absl::StrContains(dom, "<td>Fail</td>")) << dom;
  // Echo's call count, in its own cell.
  EXPECT_TRUE(absl::StrContains(dom, absl::StrCat(">", kEchoes, "</td>")))
      << dom;
  EXPECT_TRUE(absl::StrContains(dom, "NOT_FOUND")) << dom;
  EXPECT_TRUE(absl::StrContains(dom, "<table id=\"loops\">")) << dom;
  EXPECT_TRUE(absl::StrContains(dom, "Loop</th>")) << dom;
}

TEST_F(StatusBrowserTest, ScreenshotIsAPng) {
  const std::string png = absl::StrCat(TempDir(), "/status.png");
  unlink(png.c_str());
  BrowserRun run = RunChromium({absl::StrCat("--screenshot=", png),
                                "--window-size=1200,900", "--hide-scrollbars"},
                               url_, "shot");
  ASSERT_TRUE(WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 0)
      << "chromium failed (wait status " << run.wait_status << "); its log:\n"
      << Tail(run.log_path);
  std::ifstream in(png, std::ios::binary);
  ASSERT_TRUE(in.good()) << "no screenshot at " << png << "; log:\n"
                         << Tail(run.log_path);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 10000u);  // A 1200x900 page, not a blank stub.
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR: width and height, big-endian, at bytes 16..23.
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 3]));
  };
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(16), 1200u);
  EXPECT_EQ(be32(20), 900u);
}

}  // namespace
}  // namespace mrpc
