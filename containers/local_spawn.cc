#include "containers/local_spawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agent9::containers {
namespace {

// What the child reports on failure: the step and its errno.
struct ChildError {
  int step = 0;
  int err = 0;
};

constexpr const char* kSteps[] = {"",          "setns",  "chroot",    "chdir",     "fork",
                                  "fds",       "rlimit", "setgroups", "setresgid", "setresuid",
                                  "pdeathsig", "exec",   "mount"};

[[noreturn]] void Fail(int errfd, int step) {
  ChildError e{step, errno};
  (void)!write(errfd, &e, sizeof e);
  _exit(127);
}

// fd becomes to, without O_CLOEXEC (dup2 onto itself would keep the flag).
bool MoveFd(int fd, int to) {
  if (fd == to) return fcntl(fd, F_SETFD, 0) == 0;
  return dup2(fd, to) == to;
}

// The part of the child that becomes the program. Never returns.
[[noreturn]] void BecomeProgram(const ChildSpec& s, char* const* argv, char* const* envp, int errfd,
                                pid_t parent) {
  if (!MoveFd(s.stdin_fd, 0) || !MoveFd(s.stdout_fd, 1) || !MoveFd(s.stderr_fd, 2)) {
    Fail(errfd, 5);
  }
  // Whatever the daemon inherited without O_CLOEXEC stays out of the sandbox too.
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) Fail(errfd, 5);
  if (!s.bind_dir.empty()) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        mount(s.bind_dir.c_str(), s.bind_at.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      Fail(errfd, 12);
    }
    for (const std::string& m : s.detach) (void)umount2(m.c_str(), MNT_DETACH);
  }
  if (s.ns_fds.empty()) {
    setsid();
  } else {
    setpgid(0, 0);  // the exec's own group, so that Kill reaches what it started
  }
  for (const RLimitSetting& r : s.rlimits) {
    rlimit rl{r.value, r.hard != 0 ? r.hard : r.value};
    if (setrlimit(r.resource, &rl) != 0) Fail(errfd, 6);
  }
  if (s.drop) {
    // Raw syscalls: glibc's set*id would try to reach the other threads of the parent.
    if (syscall(SYS_setgroups, 0, nullptr) != 0) Fail(errfd, 7);
    if (syscall(SYS_setresgid, s.gid, s.gid, s.gid) != 0) Fail(errfd, 8);
    if (syscall(SYS_setresuid, s.uid, s.uid, s.uid) != 0) Fail(errfd, 9);
  }
  // After the credential change, which clears it; then make sure the parent still lives.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Fail(errfd, 10);
  if (getppid() != parent) _exit(127);
  if (chdir(s.dir.c_str()) != 0) Fail(errfd, 3);
  execve(argv[0], argv, envp);
  Fail(errfd, 11);
}

}  // namespace

Result<pid_t> SpawnChild(const ChildSpec& s) {
  if (s.argv.empty()) return Status::InvalidArgument("spawn: no program");
  std::vector<char*> argv;
  for (const std::string& a : s.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& e : s.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) != 0) return Status::Internal("spawn: pipe", strerror(errno));
  pid_t parent = getpid();
  // A sandbox's start only makes syscalls before exec: vfork borrows the daemon's memory
  // instead of copying its page tables (most of a millisecond a session). An exec into a live
  // sandbox stays a fork: its child waits for the command it starts.
  // Every signal blocked across the (v)fork, as posix_spawn does: the child resets the handlers
  // before it unblocks anything.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = s.ns_fds.empty() ? vfork() : fork();
  if (pid != 0) pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    int err = errno;
    close(errp[0]);
    close(errp[1]);
    return Status::Internal("spawn: fork", strerror(err));
  }
  if (pid == 0) {
    // Handlers back to default before anything is unblocked: after a vfork a handler would
    // run on the daemon's memory.
    sigset_t none;
    sigemptyset(&none);
    close(errp[0]);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) Fail(errp[1], 10);
    if (getppid() != parent) _exit(127);
    if (!s.cgroup_procs.empty()) {
      int fd = open(s.cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0", 1) != 1) Fail(errp[1], 13);
      close(fd);
    }
    if (s.ns_fds.empty()) BecomeProgram(s, argv.data(), envp.data(), errp[1], parent);
    for (int fd : s.ns_fds) {
      if (setns(fd, 0) != 0) Fail(errp[1], 1);
    }
    if (fchdir(s.root_fd) != 0 || chroot(".") != 0) Fail(errp[1], 2);
    // The grandchild lives in the sandbox's pid namespace, where its parent (outside) is 0.
    pid_t me = 0;
    pid_t child = fork();
    if (child < 0) Fail(errp[1], 4);
    if (child == 0) BecomeProgram(s, argv.data(), envp.data(), errp[1], me);
    close(errp[1]);
    (void)!write(s.pid_fd, &child, sizeof child);
    close(s.pid_fd);
    int st = 0;
    while (waitpid(child, &st, 0) < 0) {
      if (errno != EINTR) _exit(127);
    }
    _exit(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st));
  }
  close(errp[1]);
  ChildError e;
  ssize_t n;
  do {
    n = read(errp[0], &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  close(errp[0]);
  if (n == static_cast<ssize_t>(sizeof e)) {
    int st = 0;
    waitpid(pid, &st, 0);
    std::string step = e.step > 0 && e.step < 14 ? kSteps[e.step] : "?";
    return Status::Internal("spawn: " + step, strerror(e.err));
  }
  return pid;
}

}  // namespace agent9::containers
