#include "containers/local_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "containers/local_session.h"

namespace agent9::containers {
namespace {

// The first child of bwrap: the sandbox's pid 1, in every namespace and under its root.
// The sandbox is ready once pid 1 has started the session's command; a session started a
// moment ago may still be setting up.
pid_t SandboxInit(SessionCore& core) {
  int64_t deadline = MonoMs() + 5000;
  pid_t pid0 = 0;
  while (core.Running(&pid0)) {
    std::vector<ProcInfo> procs = ScanProcs();
    for (const ProcInfo& p : procs) {
      if (p.ppid != pid0 || p.zombie) continue;
      for (const ProcInfo& q : procs) {
        if (q.ppid == p.pid && !q.zombie) return p.pid;
      }
    }
    if (MonoMs() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return 0;
}

class LocalExec final : public Process {
 public:
  LocalExec(std::shared_ptr<SessionCore> core, OutputFn on_output)
      : core_(std::move(core)), on_output_(std::move(on_output)) {}
  ~LocalExec() override {
    Kill();
    if (thread_.joinable()) thread_.join();
  }

  Status Launch(const std::string& command, const std::map<std::string, std::string>& env);
  Exit Wait() override {
    MutexLock l(&mu_);
    while (!done_) cv_.Wait(&mu_);
    return exit_;
  }
  void Kill() override {
    MutexLock l(&mu_);
    if (done_ || child_ <= 0) return;
    killed_ = true;
    kill(-child_, SIGKILL);
    kill(child_, SIGKILL);  // in case it has not made its group yet
  }

 private:
  void Run(pid_t helper, int out_fd, int err_fd, int64_t start);

  const std::shared_ptr<SessionCore> core_;
  const OutputFn on_output_;
  std::thread thread_;
  Mutex mu_;
  CondVar cv_;
  pid_t child_ GUARDED_BY(mu_) = 0;  // the command (pid and group), while the helper lives
  bool killed_ GUARDED_BY(mu_) = false;
  bool done_ GUARDED_BY(mu_) = false;
  Exit exit_ GUARDED_BY(mu_);
};

Status LocalExec::Launch(const std::string& command,
                         const std::map<std::string, std::string>& env) {
  const SandboxSetup& setup = core_->setup();
  pid_t pid0 = 0;
  if (!setup.spec.interactive || !core_->Running(&pid0)) {
    return Status::Unavailable("session is not running");
  }
  if (!setup.drop) return Status::Unavailable("exec needs the daemon to run as root");
  pid_t init = SandboxInit(*core_);
  if (init <= 0) return Status::Unavailable("session is not running");
  std::string proc = "/proc/" + std::to_string(init);
  std::vector<int> fds;
  auto close_all = [&fds] {
    for (int fd : fds) close(fd);
  };
  ChildSpec cs;
  for (const char* ns : {"ipc", "uts", "net", "pid", "mnt"}) {
    int fd = open((proc + "/ns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      close_all();
      return Status::Unavailable("session is not running");
    }
    fds.push_back(fd);
    cs.ns_fds.push_back(fd);
  }
  int root = open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  int out[2] = {-1, -1}, err[2] = {-1, -1}, pidp[2] = {-1, -1};
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  fds.insert(fds.end(), {root, devnull});
  if (root < 0 || devnull < 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(pidp, O_CLOEXEC) != 0) {
    int e = errno;
    close_all();
    for (int fd : {out[0], out[1], err[0], err[1], pidp[0], pidp[1]}) {
      if (fd >= 0) close(fd);
    }
    return Status::Unavailable("session is not running", strerror(e));
  }
  cs.root_fd = root;
  cs.pid_fd = pidp[1];
  cs.stdin_fd = devnull;
  cs.stdout_fd = out[1];
  cs.stderr_fd = err[1];
  cs.argv = {"/bin/sh", "-c", command};
  std::map<std::string, std::string> merged;
  for (const std::string& kv : setup.env) {
    size_t eq = kv.find('=');
    merged[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  for (const auto& [k, v] : merged) cs.env.push_back(k + "=" + v);
  cs.dir = setup.spec.workdir;
  cs.drop = setup.drop;
  cs.uid = setup.uid;
  cs.gid = setup.gid;
  cs.rlimits = setup.rlimits;
  if (!setup.cgroup.empty()) cs.cgroup_procs = setup.cgroup + "/cgroup.procs";
  int64_t start = MonoMs();
  // The helper is bound to the thread that forks it (PR_SET_PDEATHSIG): fork from the exec's
  // own thread, which lives until the helper is reaped.
  // Shared with the thread, which outlives this frame.
  struct LaunchState {
    Mutex mu;
    CondVar cv;
    bool launched GUARDED_BY(mu) = false;
    Status status GUARDED_BY(mu);
  };
  auto ls = std::make_shared<LaunchState>();
  thread_ = std::thread([&, ls, start, out_r = out[0], err_r = err[0], pid_r = pidp[0]] {
    Result<pid_t> helper = SpawnChild(cs);
    close_all();
    close(out[1]);
    close(err[1]);
    close(pidp[1]);
    pid_t child = 0;
    if (helper.ok() && read(pid_r, &child, sizeof child) == sizeof child) {
      MutexLock l(&mu_);
      child_ = child;
    }
    close(pid_r);
    {
      MutexLock l(&ls->mu);
      ls->launched = true;
      if (!helper.ok()) ls->status = Status::Unavailable("exec failed", helper.status().message());
      ls->cv.SignalAll();
    }
    if (!helper.ok()) {
      close(out_r);
      close(err_r);
      return;
    }
    // Nothing of the launch frame (captured by reference) is used past this point.
    Run(*helper, out_r, err_r, start);
  });
  Status status;
  {
    MutexLock l(&ls->mu);
    while (!ls->launched) ls->cv.Wait(&ls->mu);
    status = ls->status;
  }
  if (!status.ok()) thread_.join();
  return status;
}

void LocalExec::Run(pid_t helper, int out_fd, int err_fd, int64_t start) {
  fcntl(out_fd, F_SETFL, O_NONBLOCK);
  fcntl(err_fd, F_SETFL, O_NONBLOCK);
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  char buf[65536];
  int64_t output = 0;
  int status = 0;
  rusage ru{};
  bool reaped = false;
  for (;;) {
    int n = poll(fds, 2, 10);
    // After the helper is gone, drain what is buffered: a background process may keep the pipe.
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (n <= 0 && !reaped)) continue;
      for (;;) {
        ssize_t r = read(fds[i].fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          close(fds[i].fd);
          fds[i].fd = -1;
        }
        if (r <= 0) break;
        size_t ok = core_->Admit(static_cast<size_t>(r));
        output += static_cast<int64_t>(ok);
        if (ok > 0 && on_output_) on_output_(i == 0 ? "stdout" : "stderr", {buf, ok});
        if (!reaped) break;
      }
    }
    if (reaped) break;
    pid_t w = wait4(helper, &status, WNOHANG, &ru);
    if (w == helper || (w < 0 && errno == ECHILD)) {
      MutexLock l(&mu_);
      reaped = true;
      child_ = 0;
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  std::string ended = core_->EndReason();
  MutexLock l(&mu_);
  Exit e;
  e.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  e.reason = !ended.empty() ? ended : killed_ ? "killed" : "";
  e.usage.wall_ms = MonoMs() - start;
  e.usage.cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
                   (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
  e.usage.memory_peak_bytes = static_cast<int64_t>(ru.ru_maxrss) * 1024;
  e.usage.output_bytes = output;
  exit_ = e;
  done_ = true;
  cv_.SignalAll();
}

}  // namespace

Result<std::unique_ptr<Process>> StartLocalExec(std::shared_ptr<SessionCore> core,
                                                const std::string& command,
                                                const std::map<std::string, std::string>& env,
                                                OutputFn on_output) {
  auto p = std::make_unique<LocalExec>(std::move(core), std::move(on_output));
  AGENT9_RETURN_IF_ERROR(p->Launch(command, env));
  return std::unique_ptr<Process>(std::move(p));
}

}  // namespace agent9::containers
