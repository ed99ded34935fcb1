#include "tick/deadletter.h"

#include "tick/agents.h"
#include "tick/agents_internal.h"

namespace agent9 {

Status InsertDeadletterInTransaction(Conn& c, std::string_view agent, const DeadLetter& d) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO deadletter(agent, seq, envelope, reason, attempts, at) "
                          "VALUES(?,?,?,?,?,?)"));
  s->Bind(1, agent).Bind(2, d.seq).Bind(3, d.envelope).Bind(4, d.reason).Bind(5, d.attempts);
  s->Bind(6, d.at);
  return s->Run();
}

Result<std::vector<DeadLetter>> AgentService::ListDeadletter(std::string_view id) const {
  std::vector<DeadLetter> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT seq, envelope, reason, attempts, at FROM "
                                                "deadletter WHERE agent=? ORDER BY seq"));
    s->Bind(1, id);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(DeadLetter{s->Int(0), s->Text(1), s->Text(2), s->Int(3), s->Int(4)});
    }
    return Status::OK();
  }));
  return out;
}

Result<DeadLetter> AgentService::GetDeadletter(std::string_view id, int64_t seq) const {
  DeadLetter d;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare(
            "SELECT seq, envelope, reason, attempts, at FROM deadletter WHERE agent=? AND seq=?"));
    s->Bind(1, id).Bind(2, seq);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such dead letter", std::to_string(seq));
    d = DeadLetter{s->Int(0), s->Text(1), s->Text(2), s->Int(3), s->Int(4)};
    return Status::OK();
  }));
  return d;
}

Result<int64_t> AgentService::ReplayDeadletter(std::string_view id, int64_t seq) {
  int64_t moved = 0;
  int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT seq, envelope FROM deadletter WHERE agent=?1 AND (?2 < 0 OR seq=?2) "
                  "ORDER BY seq"));
    s->Bind(1, id).Bind(2, seq);
    std::vector<std::pair<int64_t, std::string>> rows;
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      rows.emplace_back(s->Int(0), s->Text(1));
    }
    s->Reset();
    if (rows.empty() && seq >= 0)
      return Status::NotFound("no such dead letter", std::to_string(seq));
    for (auto& [old_seq, envelope] : rows) {
      auto env = ParseJson(envelope);
      std::string msg_id = env.ok() ? env->value("id", "") : "";
      std::string sender = env.ok() ? env->value("from", "") : "";
      AGENT9_ASSIGN_OR_RETURN(int64_t new_seq,
                              InsertInbox(c, id, msg_id, sender, now, envelope, 0));
      (void)new_seq;
      AGENT9_ASSIGN_OR_RETURN(Stmt * d,
                              c.Prepare("DELETE FROM deadletter WHERE agent=? AND seq=?"));
      d->Bind(1, id).Bind(2, old_seq);
      AGENT9_RETURN_IF_ERROR(d->Run());
      ++moved;
    }
    return Status::OK();
  }));
  if (moved > 0) NotifyEnqueued(id);
  return moved;
}

Result<int64_t> AgentService::DiscardDeadletter(std::string_view id, int64_t seq) {
  int64_t n = 0;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("DELETE FROM deadletter WHERE agent=?1 AND (?2 < 0 OR seq=?2)"));
    s->Bind(1, id).Bind(2, seq);
    AGENT9_RETURN_IF_ERROR(s->Run());
    n = c.Changes();
    if (n == 0 && seq >= 0) return Status::NotFound("no such dead letter", std::to_string(seq));
    return Status::OK();
  }));
  return n;
}

}  // namespace agent9
