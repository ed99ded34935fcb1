#include "tick/alarms.h"

#include "tick/agents.h"

namespace agent9 {

Result<int64_t> AddAlarmInTransaction(Conn& c, std::string_view agent, int64_t due_at,
                                      std::optional<int64_t> every_ms, const Json& payload) {
  AGENT9_ASSIGN_OR_RETURN(int64_t id, NextAgentCounter(c, agent, "next_alarm"));
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s,
      c.Prepare("INSERT INTO alarms(agent, id, due_at, every_ms, payload) VALUES(?,?,?,?,?)"));
  s->Bind(1, agent).Bind(2, id).Bind(3, due_at);
  if (every_ms) {
    s->Bind(4, *every_ms);
  } else {
    s->BindNull(4);
  }
  s->Bind(5, DumpJson(payload));
  AGENT9_RETURN_IF_ERROR(s->Run());
  return id;
}

Result<int64_t> AddEventInTransaction(Conn& c, std::string_view agent, const Json& event,
                                      int64_t now_ms) {
  // Events share the inbox's sequence, so a dead-lettered event keeps its number.
  AGENT9_ASSIGN_OR_RETURN(int64_t seq, NextAgentCounter(c, agent, "next_seq"));
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO events_in(agent, seq, event, at) VALUES(?,?,?,?)"));
  s->Bind(1, agent).Bind(2, seq).Bind(3, DumpJson(event)).Bind(4, now_ms);
  AGENT9_RETURN_IF_ERROR(s->Run());
  return seq;
}

Result<int64_t> AgentService::AddEvent(std::string_view id, const Json& event) {
  if (!event.is_object()) return Status::InvalidArgument("an event must be a JSON object");
  int64_t seq = 0;
  int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(seq, AddEventInTransaction(c, id, event, now));
    return Status::OK();
  }));
  NotifyEnqueued(id);
  return seq;
}

Result<int64_t> AgentService::AddAlarm(std::string_view id, int64_t in_ms,
                                       std::optional<int64_t> every_ms, const Json& payload) {
  if (in_ms < 0) return Status::InvalidArgument("in_ms must not be negative");
  if (every_ms && *every_ms < 10) return Status::InvalidArgument("every_ms must be at least 10");
  int64_t alarm = 0;
  int64_t due = clock_->NowMs() + in_ms;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(alarm, AddAlarmInTransaction(c, id, due, every_ms, payload));
    return Status::OK();
  }));
  NotifyEnqueued(id);
  return alarm;
}

Status AgentService::CancelAlarm(std::string_view id, int64_t alarm) {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM alarms WHERE agent=? AND id=?"));
    s->Bind(1, id).Bind(2, alarm);
    AGENT9_RETURN_IF_ERROR(s->Run());
    return c.Changes() ? Status::OK() : Status::NotFound("no such alarm", std::to_string(alarm));
  });
}

Result<std::string> AgentService::DescribeAlarms(std::string_view id) const {
  std::string out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT id, due_at, every_ms FROM alarms WHERE agent=? ORDER BY due_at, id"));
    s->Bind(1, id);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out += "alarm " + std::to_string(s->Int(0)) + " due " + Rfc3339(s->Int(1));
      if (!s->IsNull(2)) out += " every " + std::to_string(s->Int(2)) + "ms";
      out += "\n";
    }
    return Status::OK();
  }));
  return out;
}

}  // namespace agent9
