// AgentService: the registry of agents and the one facade over their queues, alarms and
// status, over the one SQLite Database. Its one per-agent memory is a bounded cache of which
// agents exist (CreatedAt, what every path walk through agents/<id> asks); every other call
// reads or writes the store. Its methods are defined by concern, each file owning its tables (the
// schema: tick/agent_schema.cc; stored documents are tick/agent_docs.h's):
//   agents.cc        the registry: create, delete, get, list, count, config, lifecycle, state
//                    (tables agents, agent_count)
//   inbox.cc         Enqueue and the inbox reads (tick/inbox.h: inbox, message_ids)
//   alarms.cc        alarms and events (tick/alarms.h: alarms, events_in)
//   deadletter.cc    the dead letters (tick/deadletter.h: deadletter)
//   hud_settings.cc  hud/settings and the public flag (tick/hud_settings.h)
//   agent_status.cc  StatusJson, metrics, outbox and trajectory reads (no table of its own)
// Writes go through Database::Write (group commit): a call that returns OK is durable.
// Thread-safety: all methods are thread-safe. NextAgentCounter: inside the caller's Write only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "fs/agent_config.h"
#include "fs/base/clock.h"
#include "fs/base/json.h"
#include "fs/base/mutex.h"
#include "fs/base/sqlite.h"
#include "fs/change_feed.h"
#include "fs/module.h"
#include "tick/agent_kind.h"
#include "tick/deadletter.h"
#include "tick/inbox.h"

namespace agent9 {

struct AgentInfo {
  std::string id;
  std::string kind;
  std::string state;  // active | hibernated | failed
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> last_tick_at;
  std::string last_tick_cause;
  int64_t tick_count = 0;
  bool is_public = false;
};

// Bumps one of the agent's counter columns (next_seq, next_event, next_record, next_alarm)
// and returns its value before the bump. kNotFound.
Result<int64_t> NextAgentCounter(Conn& c, std::string_view agent, std::string_view column);
// The bump alone, for a caller that read the counter with the rest of the agent's row.
Status BumpAgentCounter(Conn& c, std::string_view agent, std::string_view column);

class AgentService {
 public:
  // db and clock must outlive the service.
  AgentService(Database* db, const Clock* clock) : db_(db), clock_(clock) {}

  // ---- the registry (tick/agents.cc) ----
  // Creates or upgrades the core schema.
  static Status Migrate(Database& db);

  // The domain modules (fs/module.h) whose hooks run in the agent's transactions: creation
  // (OnAgentCreated), the status document (AddStatus), bundles. Unset: none. Call before
  // traffic starts; modules must outlive the service.
  void SetModules(const Modules* modules) { modules_ = modules ? modules : &kNoModules; }
  const Modules& modules() const { return *modules_; }

  // The kinds Create and SetConfig accept besides "none" (the engine's registered kinds).
  // Unset (the default): any syntactically valid kind. Call before traffic starts; kinds must
  // outlive the service.
  void SetKinds(const AgentKinds* kinds) { kinds_ = kinds; }
  // The kinds set by SetKinds, or nullptr.
  const AgentKinds* kinds() const { return kinds_; }
  // The kind exists (kInvalidArgument naming the known kinds), and the config keys it adds
  // are its own (Agent::CheckConfig).
  Status CheckConfig(const AgentConfig& config) const;

  // run_init=false skips the init tick (an imported agent, which has had its own).
  // also, when set, runs in the creating transaction once the row is in (the control plane
  // stores the agent's first token there, so agent and token commit together); its error
  // undoes the creation.
  Result<AgentInfo> Create(std::string_view id, const AgentConfig& config, bool run_init = true,
                           const std::function<Status(Conn&)>& also = nullptr);
  Status Delete(std::string_view id);
  Result<AgentInfo> Get(std::string_view id) const;
  Result<bool> Exists(std::string_view id) const;
  // The agent's creation time: from memory once seen (Delete forgets it before it returns),
  // else from the store. kNotFound.
  Result<int64_t> CreatedAt(std::string_view id) const;
  // Where Delete announces the removal of agents/<id> (FUSE mounts drop the cached name, token
  // checks forget the agent). Unset: nowhere. Call before traffic starts; must outlive this.
  void SetChangeFeed(ChangeFeed* changes) { changes_ = changes; }
  // Agents with id > after, in id order; at most limit.
  Result<std::vector<AgentInfo>> List(std::string_view after, size_t limit) const;
  // O(1): a counter the schema keeps up to date.
  Result<int64_t> Count() const;

  Result<AgentConfig> GetConfig(std::string_view id) const;
  Status SetConfig(std::string_view id, const AgentConfig& config);
  Result<std::string> GetState(std::string_view id) const;
  // active | hibernated.
  Status SetLifecycle(std::string_view id, std::string_view state);

  // ---- hud/settings (tick/hud_settings.cc) ----
  bool IsPublic(std::string_view id) const;
  // hud/settings: {"public","embed_allowed","redaction_policy"}; Set validates and updates
  // the agent's public flag in the same transaction.
  Result<Json> GetHudSettings(std::string_view id) const;
  Status SetHudSettings(std::string_view id, const Json& settings);

  // ---- status (tick/agent_status.cc) ----
  // The status document (DESIGN section 4 `status`). A document read since the last commit,
  // and not past a time-bound field's change, is served from memory (a status polled
  // between writes costs no store read).
  Result<Json> StatusJson(std::string_view id) const;

  // ---- inbox (tick/inbox.cc) ----
  Result<EnqueueResult> Enqueue(std::string_view id, std::string_view bytes, std::string_view from);
  Result<std::vector<QueuedMessage>> ListInbox(std::string_view id) const;
  Result<QueuedMessage> GetInbox(std::string_view id, int64_t seq) const;
  Status DropInbox(std::string_view id, int64_t seq);
  Result<int64_t> QueueDepth(std::string_view id) const;

  // Called (outside any lock or transaction) after a message lands in an inbox, so the tick
  // engine can wake the agent. One listener; set before traffic starts.
  void SetEnqueueListener(std::function<void(std::string_view agent)> fn);
  void NotifyEnqueued(std::string_view agent) const;

  // ---- alarms (tick/alarms.cc) ----
  // A once (every_ms empty) or recurring alarm due in_ms from now; returns its id and wakes
  // the engine. kNotFound, kInvalidArgument.
  Result<int64_t> AddAlarm(std::string_view id, int64_t in_ms, std::optional<int64_t> every_ms,
                           const Json& payload);
  Status CancelAlarm(std::string_view id, int64_t alarm);
  // Pending alarms as "<id> <due RFC 3339> [every <ms>]" lines, by due time.
  Result<std::string> DescribeAlarms(std::string_view id) const;

  // ---- events (tick/alarms.cc) ----
  // Queues an event for the agent's `event` trigger and wakes the engine. Modules whose work
  // finishes asynchronously (compute jobs, container sessions, payments) call this.
  Result<int64_t> AddEvent(std::string_view id, const Json& event);

  // ---- outbox and trajectory (written by the tick engine; tick/agent_status.cc) ----
  // (seq, event JSON text, at) in seq order.
  Result<std::vector<std::tuple<int64_t, std::string, int64_t>>> ListOutbox(
      std::string_view id) const;
  Result<std::string> GetOutbox(std::string_view id, int64_t seq) const;
  // The retained trajectory records, oldest first, as JSON text; with from/to only the
  // records of ticks in [from, to] (a failed tick's attempts share its tick number).
  Result<std::vector<std::string>> Trajectory(std::string_view id,
                                              std::optional<int64_t> from = std::nullopt,
                                              std::optional<int64_t> to = std::nullopt) const;

  // ---- metrics (tick/agent_status.cc) ----
  // metrics/apm: what the agent did in the last minute: {"window_s":60, "apm" (actions:
  // messages sent, events emitted, alarms set), "ticks", "failed"}.
  Result<Json> ApmJson(std::string_view id) const;
  // metrics/queue: {"inbox_depth","inbox_bytes","oldest_message_age_ms","retrying",
  // "deadletter_depth","events_pending","alarms_pending","next_alarm_at"}.
  Result<Json> QueueJson(std::string_view id) const;

  // ---- deadletter (tick/deadletter.cc) ----
  Result<std::vector<DeadLetter>> ListDeadletter(std::string_view id) const;
  Result<DeadLetter> GetDeadletter(std::string_view id, int64_t seq) const;
  // seq < 0 = all. Replay puts the messages back at the tail of the inbox (new seqs).
  Result<int64_t> ReplayDeadletter(std::string_view id, int64_t seq);
  Result<int64_t> DiscardDeadletter(std::string_view id, int64_t seq);

  Database* db() const { return db_; }
  const Clock* clock() const { return clock_; }

 private:
  Database* db_;
  const Clock* clock_;
  static inline const Modules kNoModules;
  const Modules* modules_ = &kNoModules;
  const AgentKinds* kinds_ = nullptr;  // set once before traffic; read-only afterwards
  ChangeFeed* changes_ = nullptr;
  // CreatedAt's cache: id -> created_at, emptied when it reaches kKnownMax. Delete erases the
  // id and bumps known_epoch_, so a store read that began before the delete does not put it
  // back.
  static constexpr size_t kKnownMax = 65536;
  mutable Mutex known_mu_;
  mutable std::unordered_map<std::string, int64_t> known_ GUARDED_BY(known_mu_);
  mutable uint64_t known_epoch_ GUARDED_BY(known_mu_) = 0;
  // StatusJson's documents, served again while no commit of db_ came after the read and no
  // field changed with the time alone (Module::AddStatus); at kStatusMax a new one replaces
  // an arbitrary one.
  struct CachedStatus {
    uint64_t generation;  // db_->Generation() before the read
    int64_t read_ms;      // the clock then
    int64_t expires_ms;
    std::shared_ptr<const Json> doc;
  };
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  static constexpr size_t kStatusMax = 4096;
  mutable Mutex status_mu_;
  mutable std::unordered_map<std::string, CachedStatus, IdHash, std::equal_to<>> statuses_
      GUARDED_BY(status_mu_);
  mutable Mutex listener_mu_;
  std::function<void(std::string_view)> on_enqueue_ GUARDED_BY(listener_mu_);
};

}  // namespace agent9
