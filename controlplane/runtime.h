// Runtime: everything one daemon holds, wired in one place — the Database, the agent
// services, the tree and its FileService, tokens and the ControlApi. main() builds one, the
// transports borrow from it, tests build one over a temporary data dir.
// Thread-safety: after Open() returns, every member is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "controlplane/auth.h"
#include "controlplane/control_api.h"
#include "fs/base/clock.h"
#include "fs/base/sqlite.h"
#include "fs/change_feed.h"
#include "fs/file_service.h"
#include "tick/agent_files.h"
#include "tick/agent_kind.h"
#include "tick/agents.h"
#include "tick/engine.h"
#include "tick/exec_agent.h"
#include "tick/stream_hub.h"

namespace agent9 {

struct RuntimeOptions {
  std::string data_dir;
  SyncMode sync = SyncMode::kFull;
  unsigned tick_workers = 2;
  // false: the caller starts the engine with StartEngine() once its transports are up, so
  // the first ticks already see AGENT9_URL and the agents' mounts.
  bool start_engine = true;
  // The TOML runtime config (docs/CONFIG.md). Empty: <data_dir>/agent9.toml when it exists.
  // A named file must exist.
  std::string config_file;
};

class Runtime {
 public:
  // Creates the data dir (0700) and its files when missing, locks it (kAborted when another
  // daemon holds it), opens and migrates the database.
  static Result<std::unique_ptr<Runtime>> Open(const RuntimeOptions& opts);
  // Checks a runtime config file as a start would (parse, every module's section, [http],
  // no unknown keys), applying nothing. SIGHUP runs it.
  static Status CheckConfigFile(const std::string& path);
  ~Runtime();

  std::shared_ptr<const FileService> fs() const { return fs_; }
  // The agent-local view of one agent: a FileService rooted at its directory.
  Result<std::shared_ptr<const FileService>> AgentView(const std::string& agent) const;
  ControlApi* api() const { return api_.get(); }
  TokenAuth* auth() const { return auth_.get(); }
  AgentService* agents() const { return agents_.get(); }
  Engine* engine() const { return engine_.get(); }
  Database* db() const { return db_.get(); }
  // Records an agent-local FUSE mount for the agent's `mounts` file; exec programs of that
  // agent get it bound at /agent (AGENT9_ROOT).
  void NoteAgentMount(const std::string& agent, const std::string& dir);
  // Records a FUSE mount of the global view (hidden from sandboxed programs).
  void NoteGlobalMount(const std::string& dir);
  // The daemon's HTTP address, handed to exec programs as AGENT9_URL.
  void SetServerUrl(std::string url);
  // Starts the engine and the modules (relay connections and the like).
  Status StartEngine();
  const RuntimeConfig& config() const { return config_; }
  const Modules& modules() const { return modules_; }

 private:
  Runtime() = default;
  int lock_fd_ = -1;  // flock on <data>/agent9.lock, held for the daemon's life
  RuntimeOptions opts_;
  SystemClock clock_;
  // Removals announced to the mounts (AgentView hands it out from a const method); declared
  // before everything that announces or subscribes, so it outlives them.
  mutable ChangeFeed changes_;
  int64_t started_ms_ = 0;
  RuntimeConfig config_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<AgentService> agents_;
  std::unique_ptr<TokenAuth> auth_;
  std::unique_ptr<StreamHub> trace_;
  std::unique_ptr<StreamHub> outbox_;
  std::unique_ptr<AgentHost> host_;
  Modules modules_;
  std::unique_ptr<AgentKinds> kinds_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<AgentTreeDeps> deps_;
  IsPublicFn is_public_;
  ErrorSink on_error_;
  std::shared_ptr<FileService> fs_;
  std::unique_ptr<ControlApi> api_;
  Mutex mounts_mu_;
  std::vector<std::pair<std::string, std::string>> agent_mounts_ GUARDED_BY(mounts_mu_);
  std::vector<std::string> global_mounts_ GUARDED_BY(mounts_mu_);
  std::string server_url_ GUARDED_BY(mounts_mu_);
  // What an exec program of agent gets (ExecOptions::context).
  ExecContext ExecContextFor(const std::string& agent);
};

}  // namespace agent9
