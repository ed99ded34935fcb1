// Private to FakeDaytona: runs one process/execute request on this machine with
// /bin/sh -c, stdout and stderr combined, in its own process group, killed at the timeout.
// Thread-safety: RunShell may be called from several threads at once.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace agent9::testing {

struct ExecRequest {
  std::string command;
  std::string cwd;
  std::map<std::string, std::string> env;    // on top of this process's environment
  int64_t timeout_ms = 0;                    // 0 = none
  std::function<void(pid_t pgid)> on_start;  // called once the child runs
};

struct ExecResult {
  int exit_code = -1;  // or 128+N for a signal
  std::string output;
  bool timed_out = false;
  pid_t pgid = -1;
};

ExecResult RunShell(const ExecRequest& req);

}  // namespace agent9::testing
