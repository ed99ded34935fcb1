// Private to the Daytona provider: one live Daytona sandbox (a session) and the commands run
// in it. DaytonaProvider::Start creates the remote sandbox, then hands it to a DaytonaSandbox,
// which runs the session's command on its own thread and deletes the sandbox at the end.
// Thread-safety: as provider.h says for Sandbox and Process.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "containers/daytona_api.h"
#include "containers/provider.h"

namespace agent9::containers {

using SteadyClock = std::chrono::steady_clock;

// How one execute call is cut short: set cancel to abort the HTTP call, why to say who did.
struct ExecCancel {
  std::atomic<bool> cancel{false};
  std::atomic<int> why{0};  // 0 none, 1 "stopped", 2 "killed"
  void Set(int reason) {
    int none = 0;
    why.compare_exchange_strong(none, reason);
    cancel = true;
  }
};

// What the sandbox's execute call gave: the exit status and the (whole) output, or why it
// ended otherwise.
struct ExecOutcome {
  Exit exit;
  std::string output;
};

// Runs line under sh -c in the remote sandbox rid, in workdir, until deadline; delivers the
// output (capped at output_bytes) to on_output as "stdout" when it ends.
ExecOutcome RunRemote(const DaytonaProvider::Api& api, const std::string& rid,
                      const std::string& workdir, const std::string& command,
                      SteadyClock::time_point deadline, int64_t output_bytes,
                      const OutputFn& on_output, const ExecCancel& cancel);

class DaytonaSandbox final : public Sandbox {
 public:
  DaytonaSandbox(std::shared_ptr<const DaytonaProvider::Api> api, std::string rid, SandboxSpec spec,
                 OutputFn on_output);
  ~DaytonaSandbox() override;

  void Run();  // starts the session's thread; once, right after construction
  Exit Wait() override;
  void Stop(bool force) override;
  Result<std::unique_ptr<Process>> Exec(const std::string& command,
                                        const std::map<std::string, std::string>& env,
                                        OutputFn on_output) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFile(const std::string& path, std::string_view data) override;
  Result<std::vector<FileEntry>> List(const std::string& path) override;
  Result<FileEntry> StatFile(const std::string& path) override;
  Status Remove(const std::string& path) override;
  Status Mkdir(const std::string& path) override;

 private:
  void Session();
  Status Delete();              // DELETE /sandbox/{rid}, once; 404 counts as deleted
  Status Live() const;          // kUnavailable once stopping or ended
  std::string Toolbox() const;  // "/toolbox/{rid}/toolbox"
  Result<Json> Info(const std::string& abs) const;

  const std::shared_ptr<const DaytonaProvider::Api> api_;
  const std::string rid_;
  const SandboxSpec spec_;
  const OutputFn on_output_;
  const SteadyClock::time_point started_;
  const SteadyClock::time_point deadline_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  bool ending_ = false;    // Wait is past the session: no more stopper threads
  bool deleted_ = false;
  Status delete_status_;
  std::thread runner_, stopper_;
  ExecCancel session_cancel_;
  std::vector<std::shared_ptr<ExecCancel>> exec_cancels_;  // guarded by mu_
  Exit exit_;                                              // written by runner_, read after join
  bool waited_ = false;
};

}  // namespace agent9::containers
