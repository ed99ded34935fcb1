// fake-daytona [--port N] [--api-key K] [--start-delay-ms N] [--threads N]: serves FakeDaytona
// (fake_daytona.h) on 127.0.0.1, prints "listening http://127.0.0.1:PORT" on stdout (the
// provider's base_url), and runs until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "identity/sodium.h"
#include "tests/fakes/fake_daytona.h"

int main(int argc, char** argv) {
  agent9::testing::FakeDaytonaOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--port" && has_value) {
      opts.port = std::atoi(argv[++i]);
    } else if (arg == "--api-key" && has_value) {
      opts.api_key = argv[++i];
    } else if (arg == "--start-delay-ms" && has_value) {
      opts.start_delay_ms = std::atoll(argv[++i]);
    } else if (arg == "--threads" && has_value) {
      opts.threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: fake-daytona [--port N] [--api-key K] [--start-delay-ms N] "
                   "[--threads N]\n");
      return 2;
    }
  }
  if (!agent9::identity::InitSodium().ok()) return 1;
  // Block the signals before the server's threads start, then wait for one here.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    agent9::testing::FakeDaytona server(opts);
    std::printf("listening %s\n", server.url().c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake-daytona: %s\n", e.what());
    return 1;
  }
  return 0;
}
