// Stopping a server program on SIGINT or SIGTERM without a signal handler:
// block both signals in main() before any thread starts (every thread
// inherits the mask), then wait for one with sigwait on the main thread.
// A thread started before the mask was set could take the signal instead,
// and its default action would end the process with no clean shutdown.
//
// Call from main() only.
#ifndef MRPC_EXAMPLES_COMMON_STOP_SIGNALS_H_
#define MRPC_EXAMPLES_COMMON_STOP_SIGNALS_H_

#include <pthread.h>
#include <signal.h>

namespace mrpc::examples {

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread it
// starts afterwards. Call it before anything starts a thread (a Channel, a
// Server, gRPC). Calling it again is harmless.
inline sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Waits until SIGINT or SIGTERM arrives (BlockStopSignals first); returns
// which.
inline int WaitForStopSignal() {
  const sigset_t signals = BlockStopSignals();
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

}  // namespace mrpc::examples

#endif  // MRPC_EXAMPLES_COMMON_STOP_SIGNALS_H_
