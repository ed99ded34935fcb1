#include "tick/inbox.h"

#include "tick/agents.h"
#include "tick/agents_internal.h"
#include "tick/deadletter.h"

namespace agent9 {

Result<int64_t> InsertInbox(Conn& c, std::string_view agent, const std::string& msg_id,
                            const std::string& sender, int64_t ts, const std::string& envelope,
                            int64_t attempts) {
  AGENT9_ASSIGN_OR_RETURN(int64_t seq, NextAgentCounter(c, agent, "next_seq"));
  return InsertInboxAt(c, agent, seq, msg_id, sender, ts, envelope, attempts);
}

Result<int64_t> InsertInboxAt(Conn& c, std::string_view agent, int64_t seq,
                              const std::string& msg_id, const std::string& sender, int64_t ts,
                              const std::string& envelope, int64_t attempts) {
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * ins, c.Prepare("INSERT INTO inbox(agent, seq, msg_id, sender, ts, envelope, attempts) "
                            "VALUES(?,?,?,?,?,?,?)"));
  ins->Bind(1, agent).Bind(2, seq).Bind(3, msg_id).Bind(4, sender).Bind(5, ts).Bind(6, envelope);
  ins->Bind(7, attempts);
  AGENT9_RETURN_IF_ERROR(ins->Run());
  return seq;
}

Result<EnqueueResult> EnqueueInTransaction(Conn& c, std::string_view id, const Envelope& env,
                                           int64_t now) {
  std::string text = DumpJson(env.ToJson());
  EnqueueResult out;
  out.id = env.id;
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * a, c.Prepare("SELECT max_depth, overflow, inbox_count, state = 'active' AND kind != "
                          "'none', next_seq FROM agents WHERE id=?"));
  a->Bind(1, id);
  AGENT9_ASSIGN_OR_RETURN(bool row, a->Step());
  if (!row) return Status::NotFound("no such agent", id);
  int64_t max_depth = a->Int(0);
  std::string overflow = a->Text(1);
  int64_t depth = a->Int(2);
  out.runnable = a->Int(3) != 0;
  const int64_t next_seq = a->Int(4);
  a->Reset();
  if (env.client_id) {
    AGENT9_ASSIGN_OR_RETURN(Stmt * d,
                            c.Prepare("SELECT seq FROM message_ids WHERE agent=? AND msg_id=?"));
    d->Bind(1, id).Bind(2, env.id);
    AGENT9_ASSIGN_OR_RETURN(bool dup, d->Step());
    if (dup) {
      out.seq = d->Int(0);
      out.duplicate = true;
      return out;
    }
  }
  if (depth >= max_depth) {
    if (overflow == "reject") {
      return Status::ResourceExhausted("inbox full", "max_depth " + std::to_string(max_depth));
    }
    if (overflow == "drop_oldest") {
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * del,
          c.Prepare("DELETE FROM inbox WHERE agent=?1 AND seq=(SELECT min(seq) FROM inbox WHERE "
                    "agent=?1)"));
      del->Bind(1, id);
      AGENT9_RETURN_IF_ERROR(del->Run());
    } else {  // deadletter
      AGENT9_ASSIGN_OR_RETURN(out.seq, NextAgentCounter(c, id, "next_seq"));
      AGENT9_RETURN_IF_ERROR(InsertDeadletterInTransaction(
          c, id,
          DeadLetter{out.seq, text, "inbox full (max_depth " + std::to_string(max_depth) + ")", 0,
                     now}));
      out.deadlettered = true;
    }
  }
  if (!out.deadlettered) {
    // next_seq as read above: nothing in between numbered a message (deadletter did not run).
    AGENT9_RETURN_IF_ERROR(BumpAgentCounter(c, id, "next_seq"));
    AGENT9_ASSIGN_OR_RETURN(out.seq,
                            InsertInboxAt(c, id, next_seq, env.id, env.from, now, text, 0));
  }
  if (env.client_id) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * m, c.Prepare("INSERT INTO message_ids(agent, msg_id, seq, at) VALUES(?,?,?,?)"));
    m->Bind(1, id).Bind(2, env.id).Bind(3, out.seq).Bind(4, now);
    AGENT9_RETURN_IF_ERROR(m->Run());
  }
  return out;
}

Result<EnqueueResult> AgentService::Enqueue(std::string_view id, std::string_view bytes,
                                            std::string_view from) {
  int64_t now = clock_->NowMs();
  AGENT9_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(bytes, from, now, RandomHexId()));
  EnqueueResult out;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(out, EnqueueInTransaction(c, id, env, now));
    return Status::OK();
  }));
  if (!out.duplicate && !out.deadlettered && out.runnable) NotifyEnqueued(id);
  return out;
}

void AgentService::SetEnqueueListener(std::function<void(std::string_view)> fn) {
  MutexLock l(&listener_mu_);
  on_enqueue_ = std::move(fn);
}

void AgentService::NotifyEnqueued(std::string_view id) const {
  std::function<void(std::string_view)> fn;
  {
    MutexLock l(&listener_mu_);
    fn = on_enqueue_;
  }
  if (fn) fn(id);
}

Result<std::vector<QueuedMessage>> AgentService::ListInbox(std::string_view id) const {
  std::vector<QueuedMessage> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT seq, envelope, attempts, ts FROM inbox WHERE agent=? ORDER BY seq"));
    s->Bind(1, id);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(QueuedMessage{s->Int(0), s->Text(1), s->Int(2), s->Int(3)});
    }
    return Status::OK();
  }));
  return out;
}

Result<QueuedMessage> AgentService::GetInbox(std::string_view id, int64_t seq) const {
  QueuedMessage m;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT seq, envelope, attempts, ts FROM inbox WHERE agent=? AND seq=?"));
    s->Bind(1, id).Bind(2, seq);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such message", std::to_string(seq));
    m = QueuedMessage{s->Int(0), s->Text(1), s->Int(2), s->Int(3)};
    return Status::OK();
  }));
  return m;
}

Status AgentService::DropInbox(std::string_view id, int64_t seq) {
  return db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM inbox WHERE agent=? AND seq=?"));
    s->Bind(1, id).Bind(2, seq);
    AGENT9_RETURN_IF_ERROR(s->Run());
    return c.Changes() ? Status::OK() : Status::NotFound("no such message", std::to_string(seq));
  });
}

Result<int64_t> AgentService::QueueDepth(std::string_view id) const {
  int64_t n = 0;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT inbox_count FROM agents WHERE id=?"));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such agent", id);
    n = s->Int(0);
    return Status::OK();
  }));
  return n;
}

}  // namespace agent9
