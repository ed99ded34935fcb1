// AgentService's read-only views of an agent (declared in tick/agents.h): the status
// document, metrics/apm and metrics/queue, and the outbox and trajectory the tick engine
// writes (tick/tick_store.cc). Owns no table. Thread-safety: thread-safe; reads only
// (Database::Read), and the status documents' cache under status_mu_.
#include <utility>

#include "tick/agents.h"
#include "tick/agents_internal.h"

namespace agent9 {

// ---- status -----------------------------------------------------------------------------

Result<Json> AgentService::StatusJson(std::string_view id) const {
  // Generation and time before the read: a commit or a new day during it makes the document
  // stale at once, never fresh for longer than it is.
  uint64_t generation = db_->Generation();
  int64_t now = clock_->NowMs();
  {
    MutexLock l(&status_mu_);
    auto it = statuses_.find(id);
    if (it != statuses_.end()) {
      const CachedStatus& e = it->second;
      if (e.generation == generation && now >= e.read_ms && now < e.expires_ms) return *e.doc;
    }
  }
  Json j;
  int64_t expires = INT64_MAX;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    static const std::string kSql =
        "SELECT " + std::string(kAgentColumns) +
        ", inbox_count, dead_count, length(config) + length(state_json) + inbox_bytes + "
        "dead_bytes + doc_bytes, (SELECT min(due_at) FROM alarms WHERE agent=agents.id) "
        "FROM agents WHERE id=?";
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(kSql));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such agent", id);
    AgentInfo a = AgentFromRow(*s);
    // Member by member: a braced Json{{k, v}, ...} builds each pair as an array first and
    // copies it, which was most of the JSON cost of a status GET.
    j = Json::object();
    j["id"] = std::move(a.id);
    j["kind"] = std::move(a.kind);
    j["state"] = std::move(a.state);
    j["created_at"] = Rfc3339(a.created_at);
    j["last_tick_at"] = a.last_tick_at ? Json(Rfc3339(*a.last_tick_at)) : Json(nullptr);
    j["last_tick_cause"] =
        a.last_tick_cause.empty() ? Json(nullptr) : Json(std::move(a.last_tick_cause));
    j["tick_count"] = a.tick_count;
    j["queue_depth"] = s->Int(9);
    j["deadletter_depth"] = s->Int(10);
    j["next_alarm_at"] = s->IsNull(12) ? Json(nullptr) : Json(Rfc3339(s->Int(12)));
    j["storage_bytes"] = s->Int(11);
    s->Reset();
    return modules_->AddStatus(c, id, &j, &expires);
  }));
  auto doc = std::make_shared<const Json>(j);
  std::shared_ptr<const Json> evicted;  // freed after the lock
  {
    MutexLock l(&status_mu_);
    CachedStatus e{generation, now, expires, std::move(doc)};
    auto it = statuses_.find(id);
    if (it != statuses_.end()) {
      evicted = std::exchange(it->second.doc, nullptr);
      it->second = std::move(e);
    } else {
      // Full: one entry goes, not all (clearing 4096 documents under the lock put 7 ms on
      // the p99 of reads spread over 100k agents).
      if (statuses_.size() >= kStatusMax) {
        evicted = std::move(statuses_.begin()->second.doc);
        statuses_.erase(statuses_.begin());
      }
      statuses_.emplace(std::string(id), std::move(e));
    }
  }
  return j;
}

// ---- outbox and trajectory ---------------------------------------------------------------

Result<std::vector<std::tuple<int64_t, std::string, int64_t>>> AgentService::ListOutbox(
    std::string_view id) const {
  std::vector<std::tuple<int64_t, std::string, int64_t>> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("SELECT seq, event, at FROM outbox WHERE agent=? ORDER BY seq"));
    s->Bind(1, id);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.emplace_back(s->Int(0), s->Text(1), s->Int(2));
    }
    return Status::OK();
  }));
  return out;
}

Result<std::string> AgentService::GetOutbox(std::string_view id, int64_t seq) const {
  std::string event;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("SELECT event FROM outbox WHERE agent=? AND seq=?"));
    s->Bind(1, id).Bind(2, seq);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such event", std::to_string(seq));
    event = s->Text(0);
    return Status::OK();
  }));
  return event;
}

Result<std::vector<std::string>> AgentService::Trajectory(std::string_view id,
                                                          std::optional<int64_t> from,
                                                          std::optional<int64_t> to) const {
  std::vector<std::string> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("SELECT record FROM trajectory WHERE agent=? AND (?2 IS NULL OR "
                            "tick >= ?2) AND (?3 IS NULL OR tick <= ?3) ORDER BY n"));
    s->Bind(1, id);
    if (from) {
      s->Bind(2, *from);
    } else {
      s->BindNull(2);
    }
    if (to) {
      s->Bind(3, *to);
    } else {
      s->BindNull(3);
    }
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      out.push_back(s->Text(0));
    }
    return Status::OK();
  }));
  return out;
}

// ---- metrics ----------------------------------------------------------------------------

Result<Json> AgentService::ApmJson(std::string_view id) const {
  constexpr int64_t kWindowMs = 60'000;
  Json j;
  int64_t since = clock_->NowMs() - kWindowMs;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(RequireAgent(c, id));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("SELECT count(*), coalesce(sum(actions), 0), coalesce(sum(ok = 0), 0) "
                            "FROM trajectory WHERE agent=? AND at >= ?"));
    s->Bind(1, id).Bind(2, since);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    (void)row;  // an aggregate always has one row
    j = Json{{"window_s", kWindowMs / 1000},
             {"since", Rfc3339(since)},
             {"apm", s->Int(1)},
             {"ticks", s->Int(0)},
             {"failed", s->Int(2)}};
    return Status::OK();
  }));
  return j;
}

Result<Json> AgentService::QueueJson(std::string_view id) const {
  Json j;
  int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s,
        c.Prepare("SELECT inbox_count, inbox_bytes, dead_count, "
                  "(SELECT min(ts) FROM inbox WHERE agent=?1), "
                  "(SELECT count(*) FROM inbox WHERE agent=?1 AND attempts > 0), "
                  "(SELECT count(*) FROM events_in WHERE agent=?1), "
                  "(SELECT count(*) FROM alarms WHERE agent=?1), "
                  "(SELECT min(due_at) FROM alarms WHERE agent=?1) FROM agents WHERE id=?1"));
    s->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return Status::NotFound("no such agent", id);
    j = Json{{"inbox_depth", s->Int(0)},
             {"inbox_bytes", s->Int(1)},
             {"oldest_message_age_ms", s->IsNull(3) ? Json(nullptr) : Json(now - s->Int(3))},
             {"retrying", s->Int(4)},
             {"deadletter_depth", s->Int(2)},
             {"events_pending", s->Int(5)},
             {"alarms_pending", s->Int(6)},
             {"next_alarm_at", s->IsNull(7) ? Json(nullptr) : Json(Rfc3339(s->Int(7)))}};
    return Status::OK();
  }));
  return j;
}

}  // namespace agent9
