// SessionCore: the shared state of one local sandbox, held by its Sandbox object, the thread
// that owns the bwrap process, and the execs run in it (which may outlive the Sandbox object).
// Internal to the local provider (local_sandbox.cc, local_exec.cc).
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <thread>

#include "containers/local_sandbox.h"
#include "containers/local_spawn.h"
#include "fs/base/mutex.h"

namespace agent9::containers {

class SessionCore : public std::enable_shared_from_this<SessionCore> {
 public:
  SessionCore(std::shared_ptr<LocalShared> shared, SandboxSetup setup,
              std::unique_ptr<WorkdirFiles> files, OutputFn on_output);

  // Starts the owning thread; returns once bwrap runs, or its launch error.
  Status Launch();
  // Joins the owning thread (after the end).
  void Join();
  Exit Wait();
  void Stop(bool force);
  // Ends the session at once with reason (kept if one is set already).
  void EndWith(const std::string& reason);
  // The workdir's files, or kUnavailable "session ended".
  Result<std::shared_ptr<WorkdirFiles>> Files();
  // Of n output bytes, how many the session may still deliver; past the limit it ends it
  // ("output_bytes").
  size_t Admit(size_t n);
  // True while the sandbox runs and is not ending; *pid0 = the bwrap process.
  bool Running(pid_t* pid0);
  // The reason the session ends with, "" while it is not ending.
  std::string EndReason();
  const SandboxSetup& setup() const { return setup_; }

 private:
  void Run(int out_w, int err_w);
  void Loop(int* status, rusage* ru);
  void Finish(bool started, int status, const rusage& ru, int64_t start);
  void KillAll(int sig);
  // The session's usage from its own /proc once its pid 1 (*init, found on the first call
  // that can) is up; false while it is not, with *unsure when the namespace cannot be read
  // (then the caller counts the slow way).
  bool ScanSandbox(pid_t* init, SessionUsage* u, bool* unsure);
  void Terminate();  // SIGTERM to the session's processes, bwrap's own excepted
  void SetReasonLocked(const std::string& reason) REQUIRES(mu_);

  const std::shared_ptr<LocalShared> shared_;
  const SandboxSetup setup_;
  const OutputFn on_output_;
  std::thread thread_;
  int out_fd_ = -1;  // read ends, owned by the thread
  int err_fd_ = -1;

  Mutex mu_;
  CondVar cv_;
  std::shared_ptr<WorkdirFiles> files_ GUARDED_BY(mu_);
  bool launched_ GUARDED_BY(mu_) = false;
  Status launch_status_ GUARDED_BY(mu_);
  pid_t pid0_ = 0;  // the bwrap process: written under mu_ before launched_, then only read
  int64_t start_ms_ GUARDED_BY(mu_) = 0;
  std::string reason_ GUARDED_BY(mu_);
  bool ending_ GUARDED_BY(mu_) = false;
  bool exited_ GUARDED_BY(mu_) = false;  // bwrap was reaped: Stop comes too late
  bool kill_now_ GUARDED_BY(mu_) = false;
  bool killed_ GUARDED_BY(mu_) = false;  // KillAll ran: processes may outlive bwrap a moment
  int64_t term_at_ms_ GUARDED_BY(mu_) = 0;
  int64_t output_bytes_ GUARDED_BY(mu_) = 0;
  std::string err_tail_;  // the last bytes of stderr (Loop's thread only)
  int64_t peak_rss_ GUARDED_BY(mu_) = 0;
  int64_t cpu_seen_ GUARDED_BY(mu_) = 0;
  bool done_ GUARDED_BY(mu_) = false;
  Exit exit_ GUARDED_BY(mu_);
};

}  // namespace agent9::containers
