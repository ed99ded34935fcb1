// One running local sandbox (a bwrap process tree) and the execs run in it: the thread that
// owns the bwrap process reads its output, enforces the limits, and cleans up (kills every
// process of the session, removes its directory, frees its uid). local_provider.cc resolves a
// spec into a SandboxSetup and calls StartLocalSandbox. Thread-safety: as Sandbox / Process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "containers/local_cgroup.h"
#include "containers/local_limits.h"
#include "containers/local_spawn.h"
#include "containers/provider.h"
#include "containers/sandbox_files.h"

namespace agent9::containers {

// Where a root daemon's sandbox child binds the workdir (in its private mount namespace, which
// only bwrap then uses) for bwrap to find it by path: a directory that exists and that is never
// a source of the sandbox (an image rootfs may live under /tmp or /mnt, never under /sys).
const std::string& WorkdirMount();

// What the provider shares with its sandboxes (which may outlive it).
struct LocalShared {
  LocalShared(int64_t uid_base, int64_t uid_count)
      : pool(uid_base, uid_count), scanner({uid_base, uid_base + uid_count}) {}
  bool root = false;  // the daemon is root: sandboxes get a pool uid and its rlimits
  UidPool pool;
  ProcScanner scanner;
  std::unique_ptr<CgroupTree> cgroups;  // null: rlimit mode
};

struct SandboxSetup {
  SandboxSpec spec;
  std::string session_dir;  // <run_dir>/<id>: removed at the end
  bool drop = false;        // run as uid/gid (root daemon); else as the daemon
  uid_t uid = 0;            // the session uid, released to the pool at the end when drop
  gid_t gid = 0;
  std::vector<std::string> bwrap_argv;  // ends with the command to run in the sandbox
  std::vector<std::string> env;         // the sandbox's whole environment ("NAME=value")
  std::vector<RLimitSetting> rlimits;
  int64_t pids_limit = 0;  // processes (threads) of the session counted by the monitor
  std::string cgroup;      // cgroup mode: the session's cgroup directory
};

// Starts bwrap from a thread that owns it for its whole life; returns once it runs (the
// workdir's files are already written). On failure everything is cleaned up.
Result<std::unique_ptr<Sandbox>> StartLocalSandbox(std::shared_ptr<LocalShared> shared,
                                                   SandboxSetup setup,
                                                   std::unique_ptr<WorkdirFiles> files,
                                                   OutputFn on_output);

// Kills and removes what a session left: its processes (by uid when root) and its directory.
// Returns false when processes of the uid survived.
bool CleanupSession(uid_t uid, bool drop, const std::string& dir, bool killed = true);

}  // namespace agent9::containers
