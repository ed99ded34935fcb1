// Starting processes for the local provider: a forked child that drops to the session uid
// under rlimits and execs a program (bwrap), or that first joins a running sandbox's
// namespaces and root (exec in an interactive session). Only async-signal-safe calls run
// between fork and exec, so any thread of the (multi-threaded) daemon may spawn.
// The child is bound to the calling thread's life (PR_SET_PDEATHSIG): spawn from a thread that
// outlives the child. Thread-safety: SpawnChild may be called from several threads at once.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "fs/base/status.h"

namespace agent9::containers {

struct RLimitSetting {
  int resource = 0;
  rlim_t value = 0;  // soft; the hard limit is value, or hard when set
  rlim_t hard = 0;
};

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  std::vector<std::string> env;   // "NAME=value": the program's whole environment
  int stdin_fd = -1;              // required: fds the child gets as 0, 1, 2
  int stdout_fd = -1;
  int stderr_fd = -1;
  // If set (root only): the child enters a private mount namespace and binds this directory
  // onto bind_at, so that the program (bwrap, as the session uid) can reach it by path even
  // when the way there (the daemon's 0700 data dir) is closed to that uid.
  std::string bind_dir;
  std::string bind_at;
  // Mount points to detach in that private namespace (the daemon's own FUSE mounts): a
  // sandbox that held a copy of one would keep it busy, and the daemon could not unmount it.
  std::vector<std::string> detach;
  bool drop = false;  // become uid/gid (no supplementary groups); needs root
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<RLimitSetting> rlimits;
  std::string cgroup_procs;  // if set: the child first joins this cgroup (its cgroup.procs)
  std::string dir = "/";     // working directory of the program
  // Exec mode: setns into these namespace fds (in order), then chroot to root_fd, then fork the
  // program as a grandchild; the child writes the grandchild's pid (an int) to pid_fd, waits
  // for it and exits with its status (128+N for signal N).
  std::vector<int> ns_fds;
  int root_fd = -1;
  int pid_fd = -1;
};

// Forks and starts the program. Returns the child's pid once the program is running (its exec
// succeeded), or the error of the step that failed (kInternal "spawn: <step>: <errno>").
Result<pid_t> SpawnChild(const ChildSpec& spec);

}  // namespace agent9::containers
