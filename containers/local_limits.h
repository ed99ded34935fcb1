// Limits and accounting for local sandboxes in rlimit mode (no writable cgroup v2): a pool of
// unprivileged uids, one per running sandbox, so that RLIMIT_NPROC and a per-uid kill cover
// exactly the session's processes; a /proc scanner shared by every sandbox that sums a session's
// processes (count, resident memory, CPU); and the per-uid kill.
// Thread-safety: UidPool and ProcScanner may be used from any thread; the free functions too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "fs/base/mutex.h"
#include "fs/base/status.h"

namespace agent9::containers {

// Hands out uids from [base, base+count), each to one running sandbox at a time.
class UidPool {
 public:
  UidPool(int64_t base, int64_t count);
  // kResourceExhausted when every uid is in use.
  Result<uid_t> Acquire();
  void Release(uid_t uid);
  int64_t base() const { return base_; }
  int64_t count() const { return count_; }

 private:
  const int64_t base_;
  const int64_t count_;
  Mutex mu_;
  std::vector<bool> used_ GUARDED_BY(mu_);
  int64_t next_ GUARDED_BY(mu_) = 0;  // round robin: a released uid rests before its reuse
};

// One process as /proc shows it.
struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  uid_t uid = 0;  // real uid
  int64_t threads = 1;
  bool zombie = false;  // dead, waiting for its parent to reap it
  int64_t rss_bytes = 0;
  int64_t cpu_ms = 0;  // utime + stime + cutime + cstime: reaped children count at their reaper
};

// What a session's processes use right now.
struct SessionUsage {
  int64_t count = 0;  // threads, as RLIMIT_NPROC and pids.max count them
  int64_t rss_bytes = 0;
  int64_t cpu_ms = 0;
};

// Which processes a scan reads in full. Every process may be ours only when its /proc owner is
// root (undumpable processes show as root), the daemon's uid, or a pool uid: the others are
// skipped after one stat, as reading stat and status costs ~20 us a process.
struct ScanFilter {
  int64_t uid_lo = -1;  // the pool [uid_lo, uid_hi); -1: read every process
  int64_t uid_hi = -1;
};

// The processes on the machine, read from /proc (processes that vanish mid-scan are skipped).
std::vector<ProcInfo> ScanProcs(ScanFilter filter = {});

// The usage of every process in the pid namespace of init (a sandbox's pid 1, seen from the
// host), read from the sandbox's own /proc (/proc/<init>/root/proc), plus bwrap's outer process
// outer: exact and cheap, as it reads the session's processes only. False when that /proc is
// not (or no longer) there.
bool ScanNamespace(pid_t init, pid_t outer, SessionUsage* out);

// Caches one scan of /proc for a few milliseconds, so that many sandboxes polling at once cost
// one scan per period.
class ProcScanner {
 public:
  explicit ProcScanner(ScanFilter filter) : filter_(filter) {}
  // The processes of uid (root mode: the session owns the uid).
  SessionUsage ByUid(uid_t uid);
  // root and its descendants (non-root mode, where the session shares the daemon's uid).
  SessionUsage ByTree(pid_t root);
  // Forces the next call to rescan.
  void Invalidate();

 private:
  std::shared_ptr<const std::vector<ProcInfo>> Snapshot();
  const ScanFilter filter_;
  Mutex mu_;
  int64_t period_ms_ GUARDED_BY(mu_) = 10;  // grows with the cost of a scan on busy hosts
  std::shared_ptr<const std::vector<ProcInfo>> snap_ GUARDED_BY(mu_);
  int64_t taken_ms_ GUARDED_BY(mu_) = 0;
};

// The pids of root and its descendants in procs.
std::vector<pid_t> TreeOf(const std::vector<ProcInfo>& procs, pid_t root);

// Sends sig to every process whose uid is uid: a forked helper takes the uid and calls
// kill(-1, sig), which reaches every process of that uid at once (a fork bomb cannot outrun
// it). Needs root. Returns false when the helper could not run.
bool KillUid(uid_t uid, int sig);

// Sends sig to pids as uid (a forked helper that takes the uid, so it can reach nothing else).
void SignalAsUid(uid_t uid, const std::vector<pid_t>& pids, int sig);

// SIGKILLs the processes of uid until /proc shows none but zombies (gives up after about 5 s).
// Returns true when none is left.
bool KillAllOfUid(uid_t uid);

// Milliseconds on the steady clock.
int64_t MonoMs();

}  // namespace agent9::containers
