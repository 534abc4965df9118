// Stopping a server program on SIGINT or SIGTERM without a signal handler:
// block both signals in main() before any thread starts (every thread
// inherits the mask), then wait for one with sigwait on the main thread.
// A thread started before the mask was set could take the signal instead,
// and its default action would end the process with no clean shutdown.
// SIGHUP is blocked and waited for the same way: it asks a server to read
// its TLS files again (serve.h), and never ends the process.
//
// Call from main() only.
#ifndef MRPC_EXAMPLES_COMMON_STOP_SIGNALS_H_
#define MRPC_EXAMPLES_COMMON_STOP_SIGNALS_H_

#include <pthread.h>
#include <signal.h>

#include <functional>

namespace mrpc::examples {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and so in every
// thread it starts afterwards. Call it before anything starts a thread (a
// Channel, a Server, gRPC). Calling it again is harmless.
inline sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Waits until SIGINT or SIGTERM arrives (BlockStopSignals first); returns
// which. Each SIGHUP before it runs `on_hangup` on this thread (if set;
// otherwise it is ignored) and the wait goes on.
inline int WaitForStopSignal(const std::function<void()>& on_hangup = {}) {
  const sigset_t signals = BlockStopSignals();
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received != SIGHUP) return received;
    if (on_hangup) on_hangup();
  }
}

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_STOP_SIGNALS_H_
