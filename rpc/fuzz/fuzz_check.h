// FUZZ_CHECK: a property a fuzz target asserts; a violation aborts, which
// libFuzzer (or the replay runner) reports as a finding with the input.
#ifndef MRPC_RPC_FUZZ_FUZZ_CHECK_H_
#define MRPC_RPC_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

#endif  // MRPC_RPC_FUZZ_FUZZ_CHECK_H_
