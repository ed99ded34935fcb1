#include "containers/local_limits.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

namespace agent9::containers {
namespace {

constexpr int64_t kScanPeriodMs = 8;  // the shortest

// Reads a small /proc file into buf; returns its length, or -1.
ssize_t ReadSmall(int dirfd, const char* name, char* buf, size_t cap) {
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

// Reads one process; want_uid: also its real uid, from status (the owner of /proc/<pid> is
// root for undumpable processes).
bool ReadProc(int proc_fd, const char* name, const ScanFilter& filter, bool want_uid,
              ProcInfo* out) {
  int dfd = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return false;
  if (filter.uid_lo >= 0) {
    static const uid_t kSelf = geteuid();
    struct stat st;
    bool maybe =
        fstat(dfd, &st) == 0 && (st.st_uid == 0 || st.st_uid == kSelf ||
                                 (st.st_uid >= filter.uid_lo && st.st_uid < filter.uid_hi));
    if (!maybe) {
      close(dfd);
      return false;
    }
  }
  char buf[4096];
  bool ok = false;
  // stat: "pid (comm) state ppid ... utime(14) stime cutime cstime ... rss(24)"; comm may hold
  // spaces and parentheses, so fields are counted from the last ')'.
  if (ReadSmall(dfd, "stat", buf, sizeof buf) > 0) {
    char* p = strrchr(buf, ')');
    if (p != nullptr) {
      p += 2;
      out->zombie = *p == 'Z' || *p == 'X';
      long long f[24] = {};
      int i = 3;
      char* save = nullptr;
      for (char* tok = strtok_r(p, " ", &save); tok != nullptr && i <= 24;
           tok = strtok_r(nullptr, " ", &save), ++i) {
        f[i - 1] = strtoll(tok, nullptr, 10);
      }
      static const long kTick = sysconf(_SC_CLK_TCK);
      static const long kPage = sysconf(_SC_PAGESIZE);
      out->ppid = static_cast<pid_t>(f[3]);
      out->cpu_ms = (f[13] + f[14] + f[15] + f[16]) * 1000 / kTick;
      out->rss_bytes = f[23] * kPage;
      out->threads = std::max<long long>(f[19], 1);
      ok = true;
    }
  }
  if (ok && want_uid) {
    const char* u = ReadSmall(dfd, "status", buf, sizeof buf) > 0 ? strstr(buf, "\nUid:") : nullptr;
    ok = u != nullptr;
    if (ok) out->uid = static_cast<uid_t>(strtoul(u + 5, nullptr, 10));
  }
  close(dfd);
  return ok;
}

}  // namespace

int64_t MonoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

UidPool::UidPool(int64_t base, int64_t count)
    : base_(base), count_(count), used_(static_cast<size_t>(count > 0 ? count : 0)) {}

Result<uid_t> UidPool::Acquire() {
  MutexLock l(&mu_);
  for (int64_t i = 0; i < count_; ++i) {
    int64_t k = (next_ + i) % count_;
    if (!used_[k]) {
      used_[k] = true;
      next_ = (k + 1) % count_;
      return static_cast<uid_t>(base_ + k);
    }
  }
  return Status::ResourceExhausted("local provider", "every sandbox uid is in use");
}

void UidPool::Release(uid_t uid) {
  MutexLock l(&mu_);
  int64_t k = static_cast<int64_t>(uid) - base_;
  if (k >= 0 && k < count_) used_[k] = false;
}

std::vector<ProcInfo> ScanProcs(ScanFilter filter) {
  std::vector<ProcInfo> out;
  int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) return out;
  DIR* d = fdopendir(dup(proc_fd));
  if (d == nullptr) {
    close(proc_fd);
    return out;
  }
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ProcInfo p;
    p.pid = static_cast<pid_t>(atoi(e->d_name));
    if (ReadProc(proc_fd, e->d_name, filter, true, &p)) out.push_back(p);
  }
  closedir(d);
  close(proc_fd);
  return out;
}

bool ScanNamespace(pid_t init, pid_t outer, SessionUsage* out) {
  // A pid 1 that died and whose pid went to a host process would show the host's /proc.
  static const ino_t kOwnPidNs = [] {
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
  }();
  std::string base = "/proc/" + std::to_string(init);
  struct stat ns;
  if (stat((base + "/ns/pid").c_str(), &ns) != 0 || ns.st_ino == kOwnPidNs) return false;
  int proc_fd = open((base + "/root/proc").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) return false;
  // Until bwrap has set up the sandbox's root, init's root is the host's, and so its /proc:
  // the /proc to read is the one whose pid 1 is init.
  struct stat one;
  if (fstatat(proc_fd, "1/ns/pid", &one, 0) != 0 || one.st_ino != ns.st_ino ||
      one.st_dev != ns.st_dev) {
    close(proc_fd);
    return false;
  }
  DIR* d = fdopendir(dup(proc_fd));
  if (d == nullptr) {
    close(proc_fd);
    return false;
  }
  SessionUsage u;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ProcInfo p;
    if (!ReadProc(proc_fd, e->d_name, {}, false, &p)) continue;
    u.count += p.threads;
    u.rss_bytes += p.rss_bytes;
    u.cpu_ms += p.cpu_ms;
  }
  closedir(d);
  close(proc_fd);
  // bwrap's outer process, which lives outside the namespace.
  int host = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ProcInfo p;
  if (host >= 0 && ReadProc(host, std::to_string(outer).c_str(), {}, false, &p)) {
    u.count += p.threads;
    u.rss_bytes += p.rss_bytes;
  }
  if (host >= 0) close(host);
  *out = u;
  return true;
}

std::shared_ptr<const std::vector<ProcInfo>> ProcScanner::Snapshot() {
  MutexLock l(&mu_);
  int64_t now = MonoMs();
  if (snap_ == nullptr || now - taken_ms_ >= period_ms_) {
    snap_ = std::make_shared<const std::vector<ProcInfo>>(ScanProcs(filter_));
    taken_ms_ = MonoMs();
    // At most about a tenth of a core on scanning, however many processes the host runs.
    period_ms_ = std::max(kScanPeriodMs, (taken_ms_ - now) * 10);
  }
  return snap_;
}

void ProcScanner::Invalidate() {
  MutexLock l(&mu_);
  snap_ = nullptr;
}

SessionUsage ProcScanner::ByUid(uid_t uid) {
  SessionUsage u;
  auto snap = Snapshot();  // held: a range-for would drop the temporary at once
  for (const ProcInfo& p : *snap) {
    if (p.uid != uid) continue;
    u.count += p.threads;  // zombies too: they hold their RLIMIT_NPROC slot until reaped
    u.rss_bytes += p.rss_bytes;
    u.cpu_ms += p.cpu_ms;
  }
  return u;
}

std::vector<pid_t> TreeOf(const std::vector<ProcInfo>& procs, pid_t root) {
  std::multimap<pid_t, pid_t> kids;
  bool found = false;
  for (const ProcInfo& p : procs) {
    kids.emplace(p.ppid, p.pid);
    found = found || p.pid == root;
  }
  std::vector<pid_t> out;
  if (!found) return out;
  out.push_back(root);
  for (size_t i = 0; i < out.size(); ++i) {
    auto [b, e] = kids.equal_range(out[i]);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
  }
  return out;
}

SessionUsage ProcScanner::ByTree(pid_t root) {
  SessionUsage u;
  auto snap = Snapshot();
  std::map<pid_t, const ProcInfo*> by_pid;
  for (const ProcInfo& p : *snap) by_pid[p.pid] = &p;
  for (pid_t pid : TreeOf(*snap, root)) {
    const ProcInfo* p = by_pid[pid];
    u.count += p->threads;
    u.rss_bytes += p->rss_bytes;
    u.cpu_ms += p->cpu_ms;
  }
  return u;
}

bool KillUid(uid_t uid, int sig) {
  // vfork: the helper only makes syscalls and exits, so it borrows the daemon's memory
  // instead of copying its page tables (a fork of the daemon cost most of a millisecond,
  // once per session end).
  pid_t pid = vfork();
  if (pid < 0) return false;
  if (pid == 0) {
    // Raw syscalls: the child must not touch glibc's setxid machinery (which would reach the
    // parent's other threads). kill(-1) spares the caller itself.
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setresgid, uid, uid, uid) != 0 ||
        syscall(SYS_setresuid, uid, uid, uid) != 0) {
      _exit(1);
    }
    kill(-1, sig);
    _exit(0);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

void SignalAsUid(uid_t uid, const std::vector<pid_t>& pids, int sig) {
  if (pids.empty()) return;
  pid_t pid = vfork();  // as KillUid
  if (pid < 0) return;
  if (pid == 0) {
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setresgid, uid, uid, uid) != 0 ||
        syscall(SYS_setresuid, uid, uid, uid) != 0) {
      _exit(1);
    }
    for (pid_t p : pids) kill(p, sig);
    _exit(0);
  }
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

bool KillAllOfUid(uid_t uid) {
  int64_t deadline = MonoMs() + 5000;
  for (int round = 0;; ++round) {
    bool any = false;
    for (const ProcInfo& p : ScanProcs({uid, int64_t{uid} + 1})) {
      any = any || (p.uid == uid && !p.zombie);
    }
    if (!any) return true;
    if (MonoMs() > deadline || !KillUid(uid, SIGKILL)) return false;
    if (round > 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace agent9::containers
