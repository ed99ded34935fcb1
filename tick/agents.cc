// The registry half of AgentService: create, delete, read and configure agents (table agents,
// agent_count). The other concerns' methods are defined in their own files (tick/agents.h).
#include "tick/agents.h"

#include "fs/base/path.h"
#include "tick/agent_schema.h"
#include "tick/agents_internal.h"

namespace agent9 {

AgentInfo AgentFromRow(const Stmt& s) {
  AgentInfo a;
  a.id = s.Text(0);
  a.kind = s.Text(1);
  a.state = s.Text(2);
  a.created_at = s.Int(3);
  a.updated_at = s.Int(4);
  if (!s.IsNull(5)) a.last_tick_at = s.Int(5);
  a.last_tick_cause = s.Text(6);
  a.tick_count = s.Int(7);
  a.is_public = s.Int(8) != 0;
  return a;
}

namespace {

Result<AgentInfo> ReadAgent(Conn& c, std::string_view id) {
  static const std::string kSql =
      "SELECT " + std::string(kAgentColumns) + " FROM agents WHERE id=?";
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(kSql));
  s->Bind(1, id);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return Status::NotFound("no such agent", id);
  return AgentFromRow(*s);
}

Result<int64_t> CountWhere(Conn& c, std::string_view sql, std::string_view id) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(sql));
  s->Bind(1, id);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  return row ? s->Int(0) : 0;
}

}  // namespace

Status RequireAgent(Conn& c, std::string_view id) {
  AGENT9_ASSIGN_OR_RETURN(int64_t n, CountWhere(c, "SELECT count(*) FROM agents WHERE id=?", id));
  return n ? Status::OK() : Status::NotFound("no such agent", id);
}

namespace {

// Each counter's statements, written out: building them per call cost two allocations and
// their hashing on every message and tick.
struct CounterSql {
  std::string_view column, select, bump;
};
constexpr CounterSql kCounters[] = {
    {"next_seq", "SELECT next_seq FROM agents WHERE id=?",
     "UPDATE agents SET next_seq = next_seq + 1 WHERE id=?"},
    {"next_event", "SELECT next_event FROM agents WHERE id=?",
     "UPDATE agents SET next_event = next_event + 1 WHERE id=?"},
    {"next_record", "SELECT next_record FROM agents WHERE id=?",
     "UPDATE agents SET next_record = next_record + 1 WHERE id=?"},
    {"next_alarm", "SELECT next_alarm FROM agents WHERE id=?",
     "UPDATE agents SET next_alarm = next_alarm + 1 WHERE id=?"},
};

Result<const CounterSql*> FindCounter(std::string_view column) {
  for (const CounterSql& k : kCounters) {
    if (k.column == column) return &k;
  }
  return Status::Internal("no such agent counter", column);
}

Status Bump(Conn& c, std::string_view agent, const CounterSql& k) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * u, c.Prepare(k.bump));
  u->Bind(1, agent);
  return u->Run();
}

}  // namespace

Result<int64_t> NextAgentCounter(Conn& c, std::string_view agent, std::string_view column) {
  // A SELECT and a plain UPDATE, not UPDATE ... RETURNING: SQLite buffers RETURNING rows in
  // an ephemeral table, whose open and close were ~12% of a tick's write callback in perf.
  // Both run in the caller's write transaction, so no other writer comes between them.
  AGENT9_ASSIGN_OR_RETURN(const CounterSql* k, FindCounter(column));
  AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare(k->select));
  q->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
  const int64_t v = row ? q->Int(0) : 0;
  q->Reset();
  if (!row) return Status::NotFound("no such agent", agent);
  AGENT9_RETURN_IF_ERROR(Bump(c, agent, *k));
  return v;
}

Status BumpAgentCounter(Conn& c, std::string_view agent, std::string_view column) {
  AGENT9_ASSIGN_OR_RETURN(const CounterSql* k, FindCounter(column));
  return Bump(c, agent, *k);
}

Status AgentService::Migrate(Database& db) { return db.Migrate("core", CoreSchemaSteps()); }

Result<AgentInfo> AgentService::Create(std::string_view id, const AgentConfig& config,
                                       bool run_init, const std::function<Status(Conn&)>& also) {
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  AGENT9_RETURN_IF_ERROR(CheckConfig(config));
  int64_t now = clock_->NowMs();
  std::string cfg = DumpJson(config.ToJson());
  Status st = db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(int64_t n, CountWhere(c, "SELECT count(*) FROM agents WHERE id=?", id));
    if (n) return Status::AlreadyExists("agent exists", id);
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare(
            "INSERT INTO agents(id, kind, config, max_depth, overflow, created_at, updated_at, "
            "init_pending) VALUES(?,?,?,?,?,?,?,?)"));
    s->Bind(1, id).Bind(2, config.kind).Bind(3, cfg).Bind(4, config.max_depth);
    s->Bind(5, OverflowName(config.overflow)).Bind(6, now).Bind(7, now);
    s->Bind(8, int64_t{run_init ? 1 : 0});
    AGENT9_RETURN_IF_ERROR(s->Run());
    AGENT9_RETURN_IF_ERROR(modules_->OnAgentCreated(c, id));
    return also ? also(c) : Status::OK();
  });
  AGENT9_RETURN_IF_ERROR(st);
  modules_->AgentCreated(id);
  // Kind none runs no tick: its init waits for a config naming a kind (which notifies).
  if (run_init && config.kind != "none") NotifyEnqueued(id);
  return Get(id);
}

Status AgentService::Delete(std::string_view id) {
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM agents WHERE id=?"));
    s->Bind(1, id);
    AGENT9_RETURN_IF_ERROR(s->Run());
    return c.Changes() ? Status::OK() : Status::NotFound("no such agent", id);
  }));
  {
    MutexLock l(&known_mu_);
    known_.erase(std::string(id));
    ++known_epoch_;
  }
  if (changes_) changes_->EntryRemoved(PathNodeId({"agents"}), id);
  return Status::OK();
}

Result<int64_t> AgentService::CreatedAt(std::string_view id) const {
  uint64_t epoch = 0;
  {
    MutexLock l(&known_mu_);
    auto it = known_.find(std::string(id));
    if (it != known_.end()) return it->second;
    epoch = known_epoch_;
  }
  int64_t created = 0;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT created_at FROM agents WHERE id=?"));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such agent", id);
    created = s->Int(0);
    return Status::OK();
  }));
  MutexLock l(&known_mu_);
  if (epoch == known_epoch_) {
    if (known_.size() >= kKnownMax) known_.clear();
    known_.emplace(std::string(id), created);
  }
  return created;
}

Result<AgentInfo> AgentService::Get(std::string_view id) const {
  AgentInfo out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(out, ReadAgent(c, id));
    return Status::OK();
  }));
  return out;
}

Result<bool> AgentService::Exists(std::string_view id) const {
  if (!ValidateAgentId(id).ok()) return false;
  int64_t n = 0;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(n, CountWhere(c, "SELECT count(*) FROM agents WHERE id=?", id));
    return Status::OK();
  }));
  return n > 0;
}

Result<std::vector<AgentInfo>> AgentService::List(std::string_view after, size_t limit) const {
  std::vector<AgentInfo> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    static const std::string kSql =
        "SELECT " + std::string(kAgentColumns) + " FROM agents WHERE id > ? ORDER BY id LIMIT ?";
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(kSql));
    s->Bind(1, after).Bind(2, limit == 0 ? int64_t{-1} : static_cast<int64_t>(limit));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(AgentFromRow(*s));
    }
    return Status::OK();
  }));
  return out;
}

Result<int64_t> AgentService::Count() const {
  int64_t n = 0;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT n FROM agent_count"));
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    n = row ? s->Int(0) : 0;
    return Status::OK();
  }));
  return n;
}

Result<AgentConfig> AgentService::GetConfig(std::string_view id) const {
  std::string text;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT config FROM agents WHERE id=?"));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such agent", id);
    text = s->Text(0);
    return Status::OK();
  }));
  return AgentConfig::Parse(text);
}

Status AgentService::CheckConfig(const AgentConfig& config) const {
  AGENT9_RETURN_IF_ERROR(ValidateKindName(config.kind));
  if (!kinds_) return Status::OK();
  if (config.kind == "none") return RejectUnknownConfig(config.extra);
  if (std::shared_ptr<Agent> kind = kinds_->Find(config.kind)) {
    return kind->CheckConfig(config.extra);
  }
  std::string known = "none";
  for (const auto& k : kinds_->Names()) known += ", " + k;
  return Status::InvalidArgument("unknown kind '" + config.kind + "' (known: " + known + ")");
}

Status AgentService::SetConfig(std::string_view id, const AgentConfig& config) {
  AGENT9_RETURN_IF_ERROR(CheckConfig(config));
  std::string cfg = DumpJson(config.ToJson());
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("UPDATE agents SET config=?, kind=?, max_depth=?, "
                                                "overflow=?, updated_at=? WHERE id=?"));
    s->Bind(1, cfg).Bind(2, config.kind).Bind(3, config.max_depth);
    s->Bind(4, OverflowName(config.overflow)).Bind(5, now).Bind(6, id);
    AGENT9_RETURN_IF_ERROR(s->Run());
    return c.Changes() ? Status::OK() : Status::NotFound("no such agent", id);
  });
}

Result<std::string> AgentService::GetState(std::string_view id) const {
  std::string text;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT state_json FROM agents WHERE id=?"));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such agent", id);
    text = s->Text(0);
    return Status::OK();
  }));
  return text;
}

Status AgentService::SetLifecycle(std::string_view id, std::string_view state) {
  if (state != "active" && state != "hibernated") {
    return Status::InvalidArgument("bad lifecycle state", state);
  }
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("UPDATE agents SET state=?, updated_at=? WHERE id=?"));
    s->Bind(1, state).Bind(2, now).Bind(3, id);
    AGENT9_RETURN_IF_ERROR(s->Run());
    return c.Changes() ? Status::OK() : Status::NotFound("no such agent", id);
  });
}

}  // namespace agent9
