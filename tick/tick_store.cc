#include "tick/tick_store.h"

namespace agent9 {

Result<std::optional<Work>> LoadWork(Database* db, const std::string& agent, int64_t now_ms) {
  std::optional<Work> out;
  AGENT9_RETURN_IF_ERROR(db->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * a,
        c.Prepare("SELECT kind, state, state_json, tick_count, config FROM agents WHERE id=?"));
    a->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool row, a->Step());
    if (!row) return Status::OK();
    Work w;
    w.kind = a->Text(0);
    w.state = a->Text(1);
    auto st = ParseJson(a->Text(2), "state");
    w.state_json = st.ok() ? *st : Json::object();
    w.tick_count = a->Int(3);
    auto cfg = AgentConfig::Parse(a->Text(4));
    if (cfg.ok()) w.config = *cfg;
    a->Reset();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * m, c.Prepare("SELECT seq, envelope, attempts FROM inbox WHERE agent=? ORDER BY seq "
                            "LIMIT 1"));
    m->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool has, m->Step());
    if (has) {
      w.has_message = true;
      w.seq = m->Int(0);
      auto env = ParseJson(m->Text(1), "envelope");
      w.message = env.ok() ? *env : Json::object();
      w.attempts = m->Int(2);
    }
    m->Reset();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * al, c.Prepare("SELECT id, due_at, every_ms, payload FROM alarms WHERE agent=? AND "
                             "due_at<=? ORDER BY due_at LIMIT 1"));
    al->Bind(1, agent).Bind(2, now_ms);
    AGENT9_ASSIGN_OR_RETURN(bool due, al->Step());
    if (due) {
      w.has_alarm = true;
      w.alarm_id = al->Int(0);
      w.alarm_due = al->Int(1);
      if (!al->IsNull(2)) w.alarm_every = al->Int(2);
      auto p = ParseJson(al->Text(3), "alarm payload");
      w.alarm_payload = p.ok() ? *p : Json(nullptr);
    }
    out = std::move(w);
    return Status::OK();
  }));
  return out;
}

namespace {

// Bumps a per-agent counter column and returns its value before the bump.
Result<int64_t> NextCounter(Conn& c, std::string_view column, const std::string& agent) {
  std::string sql = "UPDATE agents SET " + std::string(column) + " = " + std::string(column) +
                    " + 1 WHERE id=? RETURNING " + std::string(column) + " - 1";
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(sql));
  s->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  int64_t v = row ? s->Int(0) : 0;
  s->Reset();
  if (!row) return Status::NotFound("no such agent", agent);
  return v;
}

}  // namespace

Status AppendTrajectory(Conn& c, const std::string& agent, const Json& record, int64_t retain) {
  AGENT9_ASSIGN_OR_RETURN(int64_t n, NextCounter(c, "next_record", agent));
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO trajectory(agent, n, record) VALUES(?,?,?)"));
  s->Bind(1, agent).Bind(2, n).Bind(3, DumpJson(record));
  AGENT9_RETURN_IF_ERROR(s->Run());
  AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM trajectory WHERE agent=? AND n<=?"));
  d->Bind(1, agent).Bind(2, n - retain);
  return d->Run();
}

Result<int64_t> AppendEvent(Conn& c, const std::string& agent, const std::string& event,
                            int64_t now, int64_t retain) {
  AGENT9_ASSIGN_OR_RETURN(int64_t seq, NextCounter(c, "next_event", agent));
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO outbox(agent, seq, event, at) VALUES(?,?,?,?)"));
  s->Bind(1, agent).Bind(2, seq).Bind(3, event).Bind(4, now);
  AGENT9_RETURN_IF_ERROR(s->Run());
  AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM outbox WHERE agent=? AND seq<=?"));
  d->Bind(1, agent).Bind(2, seq - retain);
  AGENT9_RETURN_IF_ERROR(d->Run());
  return seq;
}

Result<bool> AgentExists(Conn& c, const std::string& id) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT 1 FROM agents WHERE id=?"));
  s->Bind(1, id);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  s->Reset();
  return row;
}

Result<bool> ConsumeAlarm(Conn& c, const std::string& agent, int64_t id,
                          std::optional<int64_t> every_ms, int64_t now_ms) {
  if (every_ms) {
    AGENT9_ASSIGN_OR_RETURN(Stmt * u,
                            c.Prepare("UPDATE alarms SET due_at=? WHERE agent=? AND id=?"));
    u->Bind(1, now_ms + *every_ms).Bind(2, agent).Bind(3, id);
    AGENT9_RETURN_IF_ERROR(u->Run());
  } else {
    AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM alarms WHERE agent=? AND id=?"));
    d->Bind(1, agent).Bind(2, id);
    AGENT9_RETURN_IF_ERROR(d->Run());
  }
  return c.Changes() > 0;
}

Result<bool> RecordFailedAttempt(Conn& c, const std::string& agent, int64_t seq,
                                 int64_t max_attempts, const std::string& reason, int64_t now) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * u, c.Prepare("UPDATE inbox SET attempts = attempts + 1 WHERE agent=? AND seq=? "
                          "RETURNING attempts, envelope"));
  u->Bind(1, agent).Bind(2, seq);
  AGENT9_ASSIGN_OR_RETURN(bool row, u->Step());
  int64_t attempts = row ? u->Int(0) : 0;
  std::string envelope = row ? u->Text(1) : "";
  u->Reset();
  if (!row || attempts < max_attempts) return false;
  AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM inbox WHERE agent=? AND seq=?"));
  d->Bind(1, agent).Bind(2, seq);
  AGENT9_RETURN_IF_ERROR(d->Run());
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * i, c.Prepare("INSERT INTO deadletter(agent, seq, envelope, reason, attempts, at) "
                          "VALUES(?,?,?,?,?,?)"));
  i->Bind(1, agent).Bind(2, seq).Bind(3, envelope).Bind(4, reason).Bind(5, attempts).Bind(6, now);
  AGENT9_RETURN_IF_ERROR(i->Run());
  return true;
}

}  // namespace agent9
