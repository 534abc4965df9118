// Serves Greeter until SIGINT or SIGTERM.
//
//   bazel run //:greeter_server -- [port]   (default 9001; 0 picks a free one)
#include <glog/logging.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <string>

#include "greeter_service.h"
#include "rpc/server.h"

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  const int port = argc > 1 ? atoi(argv[1]) : 9001;
  // Blocked before the server's threads start, so only sigwait() sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  acme::greeter::GreeterImpl service;  // must outlive the server
  mrpc::Server server;
  CHECK(server.RegisterService(&service).ok());
  absl::Status status = server.Start("127.0.0.1:" + std::to_string(port));
  if (!status.ok()) {
    fprintf(stderr, "cannot start: %s\n", status.ToString().c_str());
    return 1;
  }
  printf("greeter_server listening on %d\n", server.port());
  fflush(stdout);
  int signal_number;
  sigwait(&stop, &signal_number);
  server.Shutdown();
  server.Wait();
  return 0;
}
