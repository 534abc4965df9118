// Serves Greeter until SIGINT or SIGTERM.
//
//   greeter_server [port]     (default 0: any free port)
//
// Prints "greeter_server listening on <port>" once it serves.
#include <signal.h>
#include <stdio.h>

#include <cstdlib>
#include <string>

#include "greeter_service.h"
#include "rpc/server.h"

int main(int argc, char** argv) {
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  // Block the stop signals before the server's threads start, so that
  // only sigwait() below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  acme::greeter::GreeterImpl service;
  mrpc::Server server;
  absl::Status status = server.RegisterService(&service);
  if (status.ok()) status = server.Start("127.0.0.1:" + std::to_string(port));
  if (!status.ok()) {
    fprintf(stderr, "greeter_server: %s\n", status.ToString().c_str());
    return 1;
  }
  printf("greeter_server listening on %d\n", server.port());
  fflush(stdout);

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  server.Shutdown();
  server.Wait();
  return 0;
}
