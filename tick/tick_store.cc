#include "tick/tick_store.h"

#include "fs/base/log.h"
#include "tick/agents.h"
#include "tick/deadletter.h"

namespace agent9 {

Result<std::optional<Work>> LoadWork(Database* db, const std::string& agent, int64_t now_ms,
                                     const Modules* modules) {
  std::optional<Work> out;
  AGENT9_RETURN_IF_ERROR(db->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * a, c.Prepare("SELECT kind, state, state_json, tick_count, config, init_pending, "
                            "init_attempts FROM agents WHERE id=?"));
    a->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool row, a->Step());
    if (!row) return Status::OK();
    Work w;
    w.kind = a->Text(0);
    w.state = a->Text(1);
    auto st = ParseJson(a->Text(2), "state");
    w.state_json = st.ok() ? std::move(*st) : Json::object();
    w.tick_count = a->Int(3);
    auto cfg = AgentConfig::Parse(a->Text(4));
    if (cfg.ok()) {
      w.config = std::move(*cfg);
    } else {  // stored configs were validated; this is damage, so say so and run on defaults
      LogError("config of " + agent + " does not parse: " + cfg.status().ToString());
    }
    w.init_pending = a->Int(5) != 0;
    w.init_attempts = a->Int(6);
    a->Reset();
    w.agent = Json{{"id", agent}};
    int64_t expires = INT64_MAX;  // a tick's LOAD is never reused
    if (modules) AGENT9_RETURN_IF_ERROR(modules->AddStatus(c, agent, &w.agent, &expires));
    // Only the trigger that wins (PickTrigger's order) is read: init needs nothing more, and
    // a parked agent runs no tick at all.
    out = std::move(w);
    Work& o = *out;
    if (o.state != "active" || o.init_pending) return Status::OK();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * m, c.Prepare("SELECT seq, envelope, attempts FROM inbox WHERE agent=? ORDER BY seq "
                            "LIMIT 1"));
    m->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(o.has_message, m->Step());
    if (o.has_message) {
      o.seq = m->Int(0);
      auto env = ParseJson(m->Text(1), "envelope");
      o.message = env.ok() ? std::move(*env) : Json::object();
      o.attempts = m->Int(2);
      return Status::OK();
    }
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * ev, c.Prepare("SELECT seq, event, attempts FROM events_in WHERE agent=? ORDER BY "
                             "seq LIMIT 1"));
    ev->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(o.has_event, ev->Step());
    if (o.has_event) {
      o.event_seq = ev->Int(0);
      auto e = ParseJson(ev->Text(1), "event");
      o.event = e.ok() ? std::move(*e) : Json::object();
      o.event_attempts = ev->Int(2);
      return Status::OK();
    }
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * al, c.Prepare("SELECT id, due_at, every_ms, payload, attempts FROM alarms WHERE "
                             "agent=? AND due_at<=? ORDER BY due_at LIMIT 1"));
    al->Bind(1, agent).Bind(2, now_ms);
    AGENT9_ASSIGN_OR_RETURN(o.has_alarm, al->Step());
    if (o.has_alarm) {
      o.alarm_id = al->Int(0);
      o.alarm_due = al->Int(1);
      if (!al->IsNull(2)) o.alarm_every = al->Int(2);
      auto p = ParseJson(al->Text(3), "alarm payload");
      o.alarm_payload = p.ok() ? std::move(*p) : Json(nullptr);
      o.alarm_attempts = al->Int(4);
    }
    return Status::OK();
  }));
  return out;
}

Status AppendTrajectory(Conn& c, const std::string& agent, const Json& record, int64_t at_ms,
                        int64_t retain) {
  AGENT9_ASSIGN_OR_RETURN(int64_t n, NextAgentCounter(c, agent, "next_record"));
  return InsertTrajectory(c, agent, n, record, at_ms, retain);
}

Status InsertTrajectory(Conn& c, std::string_view agent, int64_t n, const Json& record,
                        int64_t at_ms, int64_t retain) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO trajectory(agent, n, record, tick, at, actions, ok) "
                          "VALUES(?,?,?,?,?,?,?)"));
  int64_t actions = 0;
  if (auto e = record.find("effects"); e != record.end() && e->is_object()) {
    actions = e->value("sent", int64_t{0}) + e->value("emitted", int64_t{0}) +
              e->value("alarms", int64_t{0});
  }
  s->Bind(1, agent).Bind(2, n).Bind(3, DumpJson(record)).Bind(4, record.value("tick", int64_t{0}));
  s->Bind(5, at_ms).Bind(6, actions);
  auto result = record.find("result");
  s->Bind(7, int64_t{result != record.end() && *result == "ok" ? 1 : 0});
  AGENT9_RETURN_IF_ERROR(s->Run());
  return TrimLog(c, "DELETE FROM trajectory WHERE agent=? AND n<=?", agent, n, retain);
}

Result<int64_t> AppendEvent(Conn& c, const std::string& agent, const std::string& event,
                            int64_t now, int64_t retain) {
  AGENT9_ASSIGN_OR_RETURN(int64_t seq, NextAgentCounter(c, agent, "next_event"));
  AGENT9_RETURN_IF_ERROR(InsertEvent(c, agent, seq, event, now));
  AGENT9_RETURN_IF_ERROR(TrimEvents(c, agent, seq, retain));
  return seq;
}

Status InsertEvent(Conn& c, std::string_view agent, int64_t seq, std::string_view event,
                   int64_t now) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO outbox(agent, seq, event, at) VALUES(?,?,?,?)"));
  s->Bind(1, agent).Bind(2, seq).Bind(3, event).Bind(4, now);
  return s->Run();
}

Status TrimEvents(Conn& c, std::string_view agent, int64_t last, int64_t retain) {
  return TrimLog(c, "DELETE FROM outbox WHERE agent=? AND seq<=?", agent, last, retain);
}

Status TrimLog(Conn& c, std::string_view delete_sql, std::string_view agent, int64_t last,
               int64_t retain) {
  if (last - retain < 1) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare(delete_sql));
  d->Bind(1, agent).Bind(2, last - retain);
  return d->Run();
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
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * u, c.Prepare("UPDATE alarms SET due_at=?, attempts=0 WHERE agent=? AND id=?"));
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
  AGENT9_RETURN_IF_ERROR(
      InsertDeadletterInTransaction(c, agent, DeadLetter{seq, envelope, reason, attempts, now}));
  return true;
}

TriggerKind PickTrigger(const Work& w, bool has_manual) {
  if (w.init_pending) return TriggerKind::kInit;
  if (w.has_message) return TriggerKind::kMessage;
  if (w.has_event) return TriggerKind::kEvent;
  if (w.has_alarm) return TriggerKind::kAlarm;
  if (has_manual) return TriggerKind::kManual;
  return TriggerKind::kNone;
}

const char* TriggerName(TriggerKind t) {
  switch (t) {
    case TriggerKind::kInit:
      return "init";
    case TriggerKind::kMessage:
      return "message";
    case TriggerKind::kEvent:
      return "event";
    case TriggerKind::kAlarm:
      return "alarm";
    case TriggerKind::kManual:
      return "manual";
    case TriggerKind::kNone:
      return "none";
  }
  return "none";
}

int64_t TriggerAttempts(TriggerKind t, const Work& w) {
  switch (t) {
    case TriggerKind::kInit:
      return w.init_attempts;
    case TriggerKind::kMessage:
      return w.attempts;
    case TriggerKind::kEvent:
      return w.event_attempts;
    case TriggerKind::kAlarm:
      return w.alarm_attempts;
    case TriggerKind::kManual:
    case TriggerKind::kNone:
      return 0;
  }
  return 0;
}

Result<bool> ConsumeTrigger(Conn& c, const std::string& agent, TriggerKind t, const Work& w,
                            int64_t now) {
  switch (t) {
    case TriggerKind::kInit: {
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * u, c.Prepare("UPDATE agents SET init_pending=0, init_attempts=0 WHERE id=? AND "
                              "init_pending=1"));
      u->Bind(1, agent);
      AGENT9_RETURN_IF_ERROR(u->Run());
      return c.Changes() > 0;
    }
    case TriggerKind::kMessage: {
      AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM inbox WHERE agent=? AND seq=?"));
      d->Bind(1, agent).Bind(2, w.seq);
      AGENT9_RETURN_IF_ERROR(d->Run());
      return c.Changes() > 0;
    }
    case TriggerKind::kEvent: {
      AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM events_in WHERE agent=? AND seq=?"));
      d->Bind(1, agent).Bind(2, w.event_seq);
      AGENT9_RETURN_IF_ERROR(d->Run());
      return c.Changes() > 0;
    }
    case TriggerKind::kAlarm:
      return ConsumeAlarm(c, agent, w.alarm_id, w.alarm_every, now);
    case TriggerKind::kManual:
    case TriggerKind::kNone:
      return true;
  }
  return true;
}

Result<bool> RecordFailedTrigger(Conn& c, const std::string& agent, TriggerKind t, const Work& w,
                                 int64_t max_attempts, const std::string& reason, int64_t now) {
  switch (t) {
    case TriggerKind::kMessage:
      return RecordFailedAttempt(c, agent, w.seq, max_attempts, reason, now);
    case TriggerKind::kInit: {
      bool give_up = w.init_attempts + 1 >= max_attempts;
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * u, c.Prepare("UPDATE agents SET init_attempts=init_attempts+1, "
                              "init_pending=CASE WHEN ? THEN 0 ELSE init_pending END WHERE id=?"));
      u->Bind(1, int64_t{give_up ? 1 : 0}).Bind(2, agent);
      AGENT9_RETURN_IF_ERROR(u->Run());
      return give_up;
    }
    case TriggerKind::kEvent: {
      if (w.event_attempts + 1 < max_attempts) {
        AGENT9_ASSIGN_OR_RETURN(
            Stmt * u,
            c.Prepare("UPDATE events_in SET attempts=attempts+1 WHERE agent=? AND seq=?"));
        u->Bind(1, agent).Bind(2, w.event_seq);
        AGENT9_RETURN_IF_ERROR(u->Run());
        return false;
      }
      AGENT9_ASSIGN_OR_RETURN(Stmt * d, c.Prepare("DELETE FROM events_in WHERE agent=? AND seq=?"));
      d->Bind(1, agent).Bind(2, w.event_seq);
      AGENT9_RETURN_IF_ERROR(d->Run());
      if (c.Changes() == 0) return false;
      Json envelope{{"id", "event-" + std::to_string(w.event_seq)},
                    {"from", "runtime"},
                    {"ts", Rfc3339(now)},
                    {"body", Json{{"type", "event"}, {"event", w.event}}}};
      AGENT9_RETURN_IF_ERROR(InsertDeadletterInTransaction(
          c, agent,
          DeadLetter{w.event_seq, DumpJson(envelope), reason, w.event_attempts + 1, now}));
      return true;
    }
    case TriggerKind::kAlarm: {
      if (w.alarm_attempts + 1 < max_attempts) {
        AGENT9_ASSIGN_OR_RETURN(
            Stmt * u, c.Prepare("UPDATE alarms SET attempts=attempts+1 WHERE agent=? AND id=?"));
        u->Bind(1, agent).Bind(2, w.alarm_id);
        AGENT9_RETURN_IF_ERROR(u->Run());
        return false;
      }
      AGENT9_RETURN_IF_ERROR(ConsumeAlarm(c, agent, w.alarm_id, w.alarm_every, now).status());
      return true;
    }
    case TriggerKind::kManual:
    case TriggerKind::kNone:
      return false;
  }
  return false;
}

}  // namespace agent9
