// SessionService: the container sessions behind containers/ (DESIGN 4.4; docs/CONTAINERS.md).
// A session is a row in container_sessions from submit to end. Its money is a hold in the
// shared budget ledger (compute/ledger.h: one per agent for compute and containers): the most
// it can cost at the policy's prices (its wall and CPU limits) is reserved in the submitting
// transaction, before anything starts, and settled to what it measurably used (wall and CPU
// time) in the finishing one; a stop, a failure or a daemon restart settles or releases it the
// same way, so reserved money always returns to 0. Each agent runs at most its policy's
// max_concurrent sessions at once; the next max_queued wait (FIFO) and more are refused.
// A running session holds one thread that waits on its sandbox (sessions are few and long;
// ticks never wait on them). Output goes to an in-memory stream that readers follow from its
// first line, and is stored when the session ends, with its result. The end wakes the agent
// with an `event` trigger {"type":"containers.session", ...}. A session that was running when
// the daemon stopped or died ends `failed` with reason `interrupted` at the next start, after
// the providers reaped what it left; pending sessions keep their hold and run after a restart.
// Thread-safety: all public methods are thread-safe. Act runs inside a tick's transaction.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "containers/provider.h"
#include "containers/session_request.h"
#include "fs/base/clock.h"
#include "fs/base/sqlite.h"
#include "fs/files/files.h"
#include "fs/module.h"

namespace agent9::containers {

class SessionService {
 public:
  // providers: the local one first (when enabled), then the remote ones. Everything must
  // outlive the service.
  SessionService(Database* db, const Clock* clock, AgentHost* host,
                 std::vector<std::unique_ptr<SandboxProvider>> providers,
                 std::map<std::string, std::string> local_images = {},
                 int64_t event_tail_bytes = 4096);
  ~SessionService();  // Stop()

  static Status Migrate(Database& db);
  // Ends sessions a previous run left running (failed: interrupted; money settled for the
  // time they ran up to the last sign of life, here: released), reaps what they left on
  // their providers, sends the events a crash lost, and starts the pending sessions.
  Status Start();
  // Stops taking work, kills running sandboxes (failed: interrupted) and joins their threads.
  void Stop();

  // containers/new: {"session_id","state","status_path","output_path"}; an idempotency_key
  // already used by this agent returns that session (with "existing":true).
  // kInvalidArgument (bad request), kPermissionDenied (policy), kBudgetExceeded (with field
  // remaining_usd), kResourceExhausted (queue full), kUnavailable (no such provider), kNotFound.
  Result<Json> Submit(std::string_view agent, std::string_view request_text);

  // The exec protocol's `run` action: one session request or an array of them.
  Status CheckAction(const Json& value) const;
  Status Act(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms, const Json& value);
  void Acted();

  // ctl: stop (SIGTERM, then SIGKILL) or kill (SIGKILL). A pending session ends `stopped` at
  // once. kAborted when it already ended.
  Status StopSession(std::string_view agent, std::string_view sid, bool force);

  Result<Json> SessionStatus(std::string_view agent, std::string_view sid);
  Result<Json> SessionRequestDoc(std::string_view agent, std::string_view sid);
  // kUnavailable "not finished (state running)" before the end.
  Result<Json> SessionResult(std::string_view agent, std::string_view sid);
  Result<Json> SessionUsage(std::string_view agent, std::string_view sid);
  // stdout or stderr as far as it went (all of it once ended).
  Result<std::string> SessionText(std::string_view agent, std::string_view sid,
                                  std::string_view stream);
  // NDJSON {"stream","data"} lines from the start, then {"end":{...result...}}.
  Result<std::shared_ptr<Stream>> SessionOutput(std::string_view agent, std::string_view sid);
  Result<std::vector<DirEntry>> ListSessions(std::string_view agent);
  Status SessionExists(std::string_view agent, std::string_view sid);

  // exec/new on an interactive session: {"exec_id","status_path","output_path"}.
  Result<Json> Exec(std::string_view agent, std::string_view sid, std::string_view request_text);
  Result<Json> ExecStatus(std::string_view agent, std::string_view sid, std::string_view eid);
  Result<Json> ExecResult(std::string_view agent, std::string_view sid, std::string_view eid);
  Result<std::shared_ptr<Stream>> ExecOutput(std::string_view agent, std::string_view sid,
                                             std::string_view eid);
  Result<std::vector<DirEntry>> ListExecs(std::string_view agent, std::string_view sid);

  // The live sandbox of a running session (files/). kUnavailable "session ended" (or "not
  // started yet"), kNotFound.
  Result<std::shared_ptr<Sandbox>> LiveSandbox(std::string_view agent, std::string_view sid);

  Result<ContainerPolicy> Policy(std::string_view agent);
  Status SetPolicy(std::string_view agent, const ContainerPolicy& p);
  // {"tick":{...},"day":{...}} from the shared ledger, plus {"sessions":{"running","pending"}}.
  Result<Json> Usage(std::string_view agent);

  const std::vector<std::unique_ptr<SandboxProvider>>& providers() const { return providers_; }
  SandboxProvider* FindProvider(std::string_view id) const;
  std::string MetricsText();

  // Policy rows live in their own table; exposed for export/import.
  static Result<std::optional<ContainerPolicy>> StoredPolicy(Conn& c, std::string_view agent);
  static Status StorePolicy(Conn& c, std::string_view agent, const ContainerPolicy& p,
                            int64_t now_ms);

 private:
  struct Live;
  struct ExecLive;
  struct AgentQueue;
  struct Row;

  // *max_concurrent: the agent's policy's, read for the admission (unset for an existing
  // session).
  Status Insert(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms,
                const SessionRequest& r, const std::string& origin, bool refuse_as_failed,
                std::string* id, bool* existing, bool* failed, int64_t* max_concurrent);
  void Enqueue(const std::string& agent, const std::string& id);
  void Pump(const std::string& agent);
  // The provider a request names (or the first), and the rootfs of its image for the local one.
  Result<std::pair<SandboxProvider*, std::string>> Resolve(const SessionRequest& r) const;
  void Run(std::shared_ptr<Live> live);
  bool Finish(const std::shared_ptr<Live>& live, const std::string& state, const Exit& exit,
              bool pending_only = false);
  void Notify(const std::string& id);
  Result<Row> LoadRow(std::string_view agent, std::string_view sid);
  std::shared_ptr<Live> FindLive(const std::string& id);
  // The live entry of a session that has not ended, made when missing (a reader of a pending
  // session's output, or its thread). Finish removes it.
  std::shared_ptr<Live> LiveFor(const std::string& id, const std::string& agent);
  Result<std::shared_ptr<ExecLive>> FindExec(std::string_view agent, std::string_view sid,
                                             std::string_view eid);

  Database* db_;
  const Clock* clock_;
  AgentHost* host_;
  std::vector<std::unique_ptr<SandboxProvider>> providers_;
  const std::map<std::string, std::string> local_images_;  // image name -> rootfs
  const int64_t tail_bytes_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<std::string, std::shared_ptr<Live>> live_;
  std::map<std::string, AgentQueue> queues_;
  int64_t threads_ = 0;
  bool stopping_ = false;
  std::atomic<int64_t> started_{0}, exited_{0}, stopped_{0}, failed_{0};
};

}  // namespace agent9::containers
