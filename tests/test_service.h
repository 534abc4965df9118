// TestService: the methods the end-to-end tests call, registered on an
// rpc::Server through the low-level API. Requests and responses are the echo
// protos; EchoRequest.payload carries each method's argument.
//
//   Echo   inline: responds with the request's payload.
//   Delay  inline, completes later: payload = milliseconds; a loop timer
//          calls done (the loop stays free meanwhile).
//   Sleep  worker pool, blocking: payload = milliseconds of sleep.
//   Hold   worker pool, blocking: waits until the test releases the holds
//          (TestServiceCounters::holds_released; at most 60 s), so calls
//          queue behind it however fast or slow they arrive.
//   Fail   payload = "<code>:<message>": fails with that status.
//   Big    payload = byte count: responds with that many bytes.
//   WaitCancel  inline, never completes by itself: completes CANCELLED from
//          its ServerContext::NotifyOnCancel callback, counting it.
//
// Test-only. The counters are thread-safe.
#ifndef MRPC_TESTS_TEST_SERVICE_H_
#define MRPC_TESTS_TEST_SERVICE_H_

#include <atomic>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "rpc/server.h"

namespace mrpc::testing {

inline constexpr char kTestService[] = "mrpc.test.TestService";

struct TestServiceCounters {
  std::atomic<int> sleep_runs{0};  // Sleep handlers that started.
  std::atomic<int> delays_cancelled{
      0};  // Delay calls cancelled by the time they fired.
  std::atomic<int> cancel_callbacks{0};  // WaitCancel callbacks that ran.
  // Notified by the test: Hold handlers return. A test that uses Hold
  // notifies it before its server stops.
  absl::Notification holds_released;
};

// Registers the methods on `server`; `counters` must outlive it.
absl::Status RegisterTestService(Server* server, TestServiceCounters* counters);

}  // namespace mrpc::testing

#endif  // MRPC_TESTS_TEST_SERVICE_H_
