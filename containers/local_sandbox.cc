#include "containers/local_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "containers/local_exec.h"
#include "containers/local_session.h"
#include "fs/base/log.h"

namespace agent9::containers {
namespace {

// Whether a command's stderr says a fork failed: dash's "Cannot fork", bash's "fork: retry" /
// "fork: Resource temporarily unavailable", Python's BlockingIOError (EAGAIN).
bool SaysForkFailed(const std::string& err) {
  return err.find("Cannot fork") != std::string::npos ||
         err.find("fork: retry") != std::string::npos ||
         err.find("fork: Resource temporarily unavailable") != std::string::npos ||
         (err.find("BlockingIOError") != std::string::npos &&
          err.find("Resource temporarily unavailable") != std::string::npos);
}

// Where FUSE filesystems are mounted in the daemon's namespace (/proc/self/mountinfo: the
// mount point is field 5, the type follows " - "), deepest last.
std::vector<std::string> FuseMountPoints() {
  std::vector<std::string> out;
  FILE* f = fopen("/proc/self/mountinfo", "re");
  if (f == nullptr) return out;
  char* line = nullptr;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    std::string_view l(line);
    size_t dash = l.find(" - ");
    if (dash == std::string_view::npos || l.substr(dash + 3, 4) != "fuse") continue;
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string_view::npos; ++field) {
      pos = l.find(' ', pos);
      if (pos != std::string_view::npos) ++pos;
    }
    if (pos == std::string_view::npos) continue;
    size_t end = l.find(' ', pos);
    std::string_view raw = l.substr(pos, end - pos);
    std::string point;  // octal escapes (\040 for a space) decoded
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 3 < raw.size()) {
        point += static_cast<char>((raw[i + 1] - '0') * 64 + (raw[i + 2] - '0') * 8 +
                                   (raw[i + 3] - '0'));
        i += 3;
      } else {
        point += raw[i];
      }
    }
    out.push_back(std::move(point));
  }
  free(line);
  fclose(f);
  std::reverse(out.begin(), out.end());
  return out;
}

constexpr int64_t kPollMs = 10;
constexpr int64_t kGraceMs = 2000;
constexpr int64_t kReapedGraceMs = 50;
constexpr int64_t kDrainMs = 5000;

int64_t RusageMs(const rusage& ru) {
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

class LocalSandbox final : public Sandbox {
 public:
  explicit LocalSandbox(std::shared_ptr<SessionCore> core) : core_(std::move(core)) {}
  ~LocalSandbox() override {
    core_->Stop(true);
    core_->Join();
  }
  Exit Wait() override { return core_->Wait(); }
  void Stop(bool force) override { core_->Stop(force); }
  Result<std::unique_ptr<Process>> Exec(const std::string& command,
                                        const std::map<std::string, std::string>& env,
                                        OutputFn on_output) override {
    return StartLocalExec(core_, command, env, std::move(on_output));
  }
  Result<std::string> ReadFile(const std::string& path) override {
    AGENT9_ASSIGN_OR_RETURN(auto f, core_->Files());
    return f->ReadFile(path);
  }
  Status WriteFile(const std::string& path, std::string_view data) override {
    AGENT9_ASSIGN_OR_RETURN(auto f, core_->Files());
    return f->WriteFile(path, data);
  }
  Result<std::vector<FileEntry>> List(const std::string& path) override {
    AGENT9_ASSIGN_OR_RETURN(auto f, core_->Files());
    return f->List(path);
  }
  Result<FileEntry> StatFile(const std::string& path) override {
    AGENT9_ASSIGN_OR_RETURN(auto f, core_->Files());
    return f->StatFile(path);
  }
  Status Remove(const std::string& path) override {
    AGENT9_ASSIGN_OR_RETURN(auto f, core_->Files());
    return f->Remove(path);
  }
  Status Mkdir(const std::string& path) override {
    AGENT9_ASSIGN_OR_RETURN(auto f, core_->Files());
    return f->Mkdir(path);
  }

 private:
  std::shared_ptr<SessionCore> core_;
};

}  // namespace

const std::string& WorkdirMount() {
  static const std::string dir = [] {
    for (const char* d : {"/sys", "/mnt", "/media"}) {
      std::error_code ec;
      if (std::filesystem::is_directory(d, ec)) return std::string(d);
    }
    return std::string("/tmp");
  }();
  return dir;
}

bool CleanupSession(uid_t uid, bool drop, const std::string& dir, bool killed) {
  // A sandbox whose command ended by itself: bwrap leaves as soon as the command does (its
  // pid 1 tells it through an eventfd), and that pid 1, killed by --die-with-parent, takes
  // what is left of the namespace along a moment later. One SIGKILL to whatever of the uid
  // is left makes sure; waiting for them to be gone (a scan of every process on the machine,
  // ~2 ms, or a watch of pid 1 from the start) cost 20-30% of the sessions a second.
  // A sandbox that was killed: bwrap died at once, and the namespace's processes may still be
  // dying (a large memory to unmap), so wait for them to be gone.
  bool clean = !drop || (killed ? KillAllOfUid(uid) : KillUid(uid, SIGKILL));
  if (!clean) {
    LogWarn("containers: processes of uid " + std::to_string(uid) + " survived SIGKILL");
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) LogWarn("containers: cannot remove " + dir + ": " + ec.message());
  return clean;
}

SessionCore::SessionCore(std::shared_ptr<LocalShared> shared, SandboxSetup setup,
                         std::unique_ptr<WorkdirFiles> files, OutputFn on_output)
    : shared_(std::move(shared)),
      setup_(std::move(setup)),
      on_output_(std::move(on_output)),
      files_(std::move(files)) {}

Result<std::shared_ptr<WorkdirFiles>> SessionCore::Files() {
  MutexLock l(&mu_);
  if (files_ == nullptr) return Status::Unavailable("session ended");
  return files_;
}

void SessionCore::Stop(bool force) {
  MutexLock l(&mu_);
  if (done_ || exited_) return;
  SetReasonLocked(force ? "killed" : "stopped");
  if (force) {
    kill_now_ = true;
  } else if (term_at_ms_ == 0) {
    term_at_ms_ = MonoMs();
  }
}

void SessionCore::SetReasonLocked(const std::string& reason) {
  if (reason_.empty()) reason_ = reason;
  ending_ = true;
}

void SessionCore::EndWith(const std::string& reason) {
  MutexLock l(&mu_);
  SetReasonLocked(reason);
  kill_now_ = true;
}

Exit SessionCore::Wait() {
  MutexLock l(&mu_);
  while (!done_) cv_.Wait(&mu_);
  return exit_;
}

void SessionCore::Join() {
  if (thread_.joinable()) thread_.join();
}

size_t SessionCore::Admit(size_t n) {
  MutexLock l(&mu_);
  int64_t room = setup_.spec.limits.output_bytes - output_bytes_;
  if (room < static_cast<int64_t>(n)) {
    SetReasonLocked("output_bytes");
    kill_now_ = true;
    n = static_cast<size_t>(std::max<int64_t>(room, 0));
  }
  output_bytes_ += static_cast<int64_t>(n);
  return n;
}

bool SessionCore::Running(pid_t* pid0) {
  MutexLock l(&mu_);
  *pid0 = pid0_;
  return pid0_ > 0 && !ending_ && !done_;
}

std::string SessionCore::EndReason() {
  MutexLock l(&mu_);
  return ending_ ? reason_ : "";
}

void SessionCore::KillAll(int sig) {
  {
    MutexLock l(&mu_);
    killed_ = true;
  }
  if (!setup_.cgroup.empty() && sig == SIGKILL) CgroupTree::KillNow(setup_.cgroup);
  if (setup_.drop) {
    KillUid(setup_.uid, sig);
    return;
  }
  // Not root: the session shares the daemon's uid, so only the bwrap tree is reachable.
  for (pid_t p : TreeOf(ScanProcs(), pid0_)) kill(p, sig);
}

void SessionCore::Terminate() {
  // Not bwrap itself: it would die of SIGTERM and take the sandbox along at once (its pid 1
  // dies with it), leaving no grace to the command.
  std::vector<ProcInfo> procs = ScanProcs();
  std::vector<pid_t> tree = TreeOf(procs, pid0_);
  pid_t init = 0;
  for (const ProcInfo& p : procs) {
    if (p.ppid == pid0_) init = p.pid;
  }
  std::vector<pid_t> targets;
  if (setup_.drop) {
    for (const ProcInfo& p : procs) {
      if (p.uid == setup_.uid && p.pid != pid0_ && p.pid != init) targets.push_back(p.pid);
    }
    SignalAsUid(setup_.uid, targets, SIGTERM);
  } else {
    for (pid_t p : tree) {
      if (p != pid0_ && p != init) kill(p, SIGTERM);
    }
  }
}

bool SessionCore::ScanSandbox(pid_t* init, SessionUsage* u, bool* unsure) {
  *unsure = false;
  if (*init == 0) {
    // bwrap's pid 1 is its only child: /proc/<pid>/task/<pid>/children names it at once (a
    // scan of every process on the machine, the fallback, costs milliseconds).
    std::string path =
        "/proc/" + std::to_string(pid0_) + "/task/" + std::to_string(pid0_) + "/children";
    FILE* f = fopen(path.c_str(), "re");
    if (f != nullptr) {
      long child = 0;
      if (fscanf(f, "%ld", &child) == 1) *init = static_cast<pid_t>(child);
      fclose(f);
      if (*init == 0) return false;  // not made yet: nothing to count
    } else {
      for (const ProcInfo& p : ScanProcs({setup_.uid, int64_t{setup_.uid} + 1})) {
        if (p.ppid == pid0_ && !p.zombie) *init = p.pid;
      }
      if (*init == 0) {
        *unsure = true;
        return false;
      }
    }
  }
  if (ScanNamespace(*init, pid0_, u)) return true;
  *unsure = true;
  return false;
}

Status SessionCore::Launch() {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Internal("pipe", strerror(errno));
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]);
    close(out[1]);
    return Status::Internal("pipe", strerror(errno));
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
  auto self = shared_from_this();
  thread_ = std::thread([self, ow = out[1], ew = err[1]] { self->Run(ow, ew); });
  MutexLock l(&mu_);
  while (!launched_) cv_.Wait(&mu_);
  return launch_status_;
}

void SessionCore::Run(int out_w, int err_w) {
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ChildSpec cs;
  cs.argv = setup_.bwrap_argv;
  cs.env = setup_.env;
  cs.stdin_fd = devnull;
  cs.stdout_fd = out_w;
  cs.stderr_fd = err_w;
  if (setup_.drop) {
    cs.bind_dir = setup_.session_dir + "/work";
    cs.detach = FuseMountPoints();
    cs.bind_at = WorkdirMount();
  }
  cs.drop = setup_.drop;
  cs.uid = setup_.uid;
  cs.gid = setup_.gid;
  cs.rlimits = setup_.rlimits;
  if (!setup_.cgroup.empty()) cs.cgroup_procs = setup_.cgroup + "/cgroup.procs";
  int64_t start = MonoMs();
  Result<pid_t> pid = SpawnChild(cs);
  close(devnull);
  close(out_w);
  close(err_w);
  {
    MutexLock l(&mu_);
    launched_ = true;
    start_ms_ = start;
    if (pid.ok()) {
      pid0_ = *pid;
    } else {
      launch_status_ = Status::Internal("sandbox failed", pid.status().message());
    }
    cv_.SignalAll();
  }
  int status = 0;
  rusage ru{};
  if (pid.ok()) Loop(&status, &ru);
  Finish(pid.ok(), status, ru, start);
}

void SessionCore::Loop(int* status, rusage* ru) {
  const Limits& lim = setup_.spec.limits;
  bool reaped = false;
  bool termed = false;
  int64_t stop_deadline = 0;
  int64_t reaped_at = 0;
  int64_t near_since = 0;     // since when the count is one process short of the pids ceiling
  bool fork_refused = false;  // stderr said a fork failed
  pid_t init = 0;
  // The pidfd wakes the loop the moment bwrap exits; the timeout paces the monitor.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid0_, 0));
  pollfd fds[3] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}, {pidfd, POLLIN, 0}};
  char buf[65536];
  for (;;) {
    int open_fds = (fds[0].fd >= 0) + (fds[1].fd >= 0);
    if (reaped && open_fds == 0) break;
    int n = poll(fds, 3, kPollMs);
    for (int i = 0; n > 0 && i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t r = read(fds[i].fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      size_t ok = Admit(static_cast<size_t>(r));
      if (ok > 0 && on_output_) on_output_(i == 0 ? "stdout" : "stderr", {buf, ok});
      if (i == 1) {
        err_tail_.append(buf, std::min<size_t>(static_cast<size_t>(r), 512));
        if (err_tail_.size() > 512) err_tail_.erase(0, err_tail_.size() - 512);
        fork_refused = fork_refused || SaysForkFailed(err_tail_);
      }
    }
    // Limits, measured over every process of the session, before looking for bwrap's exit:
    // output that just woke the loop (a "cannot fork" on stderr) may be the last moment the
    // sandbox's processes can be seen.
    if (!reaped) {
      SessionUsage u;
      bool oom = false;
      bool pids_refused = false;
      int64_t peak = 0;
      if (!setup_.cgroup.empty()) {
        CgroupStats cs = CgroupTree::Read(setup_.cgroup);
        u = {cs.pids, cs.memory_bytes, cs.cpu_ms};
        oom = cs.oom_kills > 0;
        pids_refused = cs.pids_refused > 0;
        peak = cs.memory_peak;
      } else if (bool unsure = false; !ScanSandbox(&init, &u, &unsure) && unsure) {
        u = setup_.drop ? shared_->scanner.ByUid(setup_.uid) : shared_->scanner.ByTree(pid0_);
      }
      int64_t now = MonoMs();
      bool kill_now;
      int64_t term_at;
      {
        MutexLock l(&mu_);
        peak_rss_ = std::max({peak_rss_, u.rss_bytes, peak});
        cpu_seen_ = std::max(cpu_seen_, u.cpu_ms);
        if (now - start_ms_ > lim.wall_ms) SetReasonLocked("wall_time"), kill_now_ = true;
        if (u.cpu_ms > lim.cpu_ms) SetReasonLocked("cpu_time"), kill_now_ = true;
        if (u.rss_bytes > lim.memory_bytes || oom) SetReasonLocked("memory"), kill_now_ = true;
        if (pids_refused) SetReasonLocked("pids"), kill_now_ = true;
        // At the ceiling: RLIMIT_NPROC makes the next fork fail.
        if (u.count >= setup_.pids_limit) SetReasonLocked("pids"), kill_now_ = true;
        // A fork bomb hovers just under the ceiling (its shells die as their forks fail): one
        // short of it for 50 ms is the limit too.
        // A fork refused (its shell said so): the pids limit at work, however the count
        // moved between two samples. Under dash a bomb's shells die as their forks fail, so
        // it can rise and burn out within the few milliseconds a busy machine leaves this
        // monitor unscheduled, and no sample sees it; only its parent is left, asleep until
        // the wall time. The one other refusal a sandbox meets is memory, so a session past
        // 80% of its memory limit is left to the memory rule.
        if (fork_refused && peak_rss_ / 4 < lim.memory_bytes / 5) {
          SetReasonLocked("pids"), kill_now_ = true;
        }
        if (u.count + 1 < setup_.pids_limit) {
          near_since = 0;
        } else if (near_since == 0) {
          near_since = now;
        } else if (now - near_since >= 50) {
          SetReasonLocked("pids"), kill_now_ = true;
        }
        kill_now = kill_now_;
        term_at = term_at_ms_;
      }
      if (kill_now) {
        KillAll(SIGKILL);
      } else if (term_at != 0 && !termed) {
        termed = true;
        stop_deadline = now + kGraceMs;
        Terminate();
      } else if (termed && now > stop_deadline) {
        EndWith("stopped");
      }
    }
    if (!reaped) {
      pid_t w = wait4(pid0_, status, WNOHANG, ru);
      if (w == pid0_ || (w < 0 && errno == ECHILD)) {
        reaped = true;
        MutexLock l(&mu_);
        exited_ = true;
        ending_ = true;
      }
      if (reaped) {
        if (pidfd >= 0) close(pidfd);
        fds[2].fd = -1;
        reaped_at = MonoMs();
      }
    }
    if (reaped) {
      // bwrap's pid namespace took the sandbox along; whatever still holds the pipes a
      // moment later goes now.
      int64_t since = MonoMs() - reaped_at;
      if (since > kReapedGraceMs) KillAll(SIGKILL);
      if (since > kDrainMs) {  // a writer out of reach: the output ends here
        for (int i = 0; i < 2; ++i) {
          if (fds[i].fd >= 0) close(fds[i].fd);
          fds[i].fd = -1;
        }
      }
      continue;
    }
  }
}

void SessionCore::Finish(bool started, int status, const rusage& ru, int64_t start) {
  std::shared_ptr<WorkdirFiles> files;
  {
    MutexLock l(&mu_);
    ending_ = true;
    files = std::move(files_);
  }
  files.reset();
  if (!setup_.cgroup.empty() && !CgroupTree::Kill(setup_.cgroup)) {
    LogWarn("containers: cannot remove cgroup " + setup_.cgroup);
  }
  // A uid whose processes survived is not handed out again (Reap at the next start sweeps it).
  bool killed;
  {
    MutexLock l(&mu_);
    killed = killed_;
  }
  if (CleanupSession(setup_.uid, setup_.drop, setup_.session_dir, killed) && setup_.drop) {
    shared_->pool.Release(setup_.uid);
  }
  shared_->scanner.Invalidate();
  if (out_fd_ >= 0 && !started) close(out_fd_);
  if (err_fd_ >= 0 && !started) close(err_fd_);
  MutexLock l(&mu_);
  Exit e;
  if (!started) {
    e.reason = launch_status_.message();
  } else {
    e.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    e.reason = reason_;
    // A command that gave up when a fork hit the process limit (a shell's "Cannot fork")
    // ends before the monitor can count its processes: its own words name the limit.
    if (e.reason.empty() && e.exit_code != 0 && SaysForkFailed(err_tail_)) {
      e.reason = "pids";
    }
  }
  e.usage.wall_ms = MonoMs() - start;
  e.usage.cpu_ms = std::max(cpu_seen_, RusageMs(ru));
  e.usage.memory_peak_bytes = std::max(peak_rss_, static_cast<int64_t>(ru.ru_maxrss) * 1024);
  e.usage.output_bytes = output_bytes_;
  exit_ = e;
  done_ = true;
  cv_.SignalAll();
}

Result<std::unique_ptr<Sandbox>> StartLocalSandbox(std::shared_ptr<LocalShared> shared,
                                                   SandboxSetup setup,
                                                   std::unique_ptr<WorkdirFiles> files,
                                                   OutputFn on_output) {
  auto core = std::make_shared<SessionCore>(std::move(shared), std::move(setup), std::move(files),
                                            std::move(on_output));
  Status s = core->Launch();
  if (!s.ok()) {
    core->Join();
    return s;
  }
  return std::unique_ptr<Sandbox>(new LocalSandbox(std::move(core)));
}

}  // namespace agent9::containers
