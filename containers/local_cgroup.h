// cgroup v2 limits for local sandboxes, used when the daemon can make cgroups with the memory
// and pids controllers (a writable cgroup2 hierarchy, e.g. a systemd unit with Delegate=yes):
// each sandbox gets <daemon cgroup>/agent9-sandboxes/<id> with memory.max and pids.max, its CPU
// is read from cpu.stat, its peak from memory.peak, and cgroup.kill ends it. Otherwise the
// provider falls back to rlimits (local_limits.h). To enable controllers for its children the
// daemon moves itself into a leaf <daemon cgroup>/agent9-daemon (cgroup v2 allows no process
// in a cgroup that distributes controllers).
// Thread-safety: CgroupTree's methods may be called from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "fs/base/status.h"

namespace agent9::containers {

struct CgroupStats {
  int64_t memory_bytes = 0;  // memory.current
  int64_t memory_peak = 0;   // memory.peak (0 when the kernel has none)
  int64_t pids = 0;          // pids.current
  int64_t cpu_ms = 0;        // cpu.stat usage_usec / 1000
  int64_t oom_kills = 0;     // memory.events oom_kill
  int64_t pids_refused = 0;  // pids.events max: forks refused at pids.max
};

class CgroupTree {
 public:
  // Finds or makes the sandboxes' parent cgroup; the error says why cgroups cannot be used.
  static Result<std::unique_ptr<CgroupTree>> Open();
  const std::string& base() const { return base_; }

  // Makes base/<id> with the limits; returns its directory.
  Result<std::string> Create(const std::string& id, int64_t memory_bytes, int64_t pids_max);
  static CgroupStats Read(const std::string& dir);
  // SIGKILLs every process in dir at once (cgroup.kill).
  static void KillNow(const std::string& dir);
  // cgroup.kill, then waits (about 5 s at most) until it is empty and removes it.
  static bool Kill(const std::string& dir);
  // Kills and removes every cgroup under base (a previous run's).
  Status Sweep();

 private:
  explicit CgroupTree(std::string base) : base_(std::move(base)) {}
  const std::string base_;
};

}  // namespace agent9::containers
