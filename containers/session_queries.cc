// SessionService, the read side: what a session's files and the agent's containers/ show
// (status, result, output, listings, the live sandbox for files/, policy, usage, metrics).
#include <chrono>
#include <thread>

#include "compute/ledger.h"
#include "containers/session_service.h"
#include "containers/session_service_internal.h"
#include "fs/base/clock.h"

namespace agent9::containers {

using compute::BudgetPolicy;
using compute::BudgetUsage;
using compute::Ledger;

Result<SessionService::Row> SessionService::LoadRow(std::string_view agent, std::string_view sid) {
  Row r;
  bool found = false;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q,
        c.Prepare("SELECT id, agent, provider, kind, state, reason, request, result, exit_code, "
                  "reserved, cost, created_at, started_at, ended_at FROM container_sessions "
                  "WHERE id=? AND agent=?"));
    q->Bind(1, sid).Bind(2, agent);
    AGENT9_ASSIGN_OR_RETURN(found, q->Step());
    if (found) {
      r.id = q->Text(0);
      r.agent = q->Text(1);
      r.provider = q->Text(2);
      r.kind = q->Text(3);
      r.state = q->Text(4);
      r.reason = q->IsNull(5) ? "" : q->Text(5);
      auto req = ParseJson(q->Text(6));
      if (req.ok()) r.request = std::move(req).value();
      if (!q->IsNull(7)) {
        auto res = ParseJson(q->Text(7));
        if (res.ok()) r.result = std::move(res).value();
      }
      r.has_exit = !q->IsNull(8);
      r.exit_code = r.has_exit ? q->Int(8) : -1;
      r.reserved = q->Int(9);
      r.has_cost = !q->IsNull(10);
      r.cost = r.has_cost ? q->Int(10) : 0;
      r.created_at = q->Int(11);
      r.started_at = q->IsNull(12) ? 0 : q->Int(12);
      r.ended_at = q->IsNull(13) ? 0 : q->Int(13);
    }
    q->Reset();
    return Status::OK();
  }));
  if (!found) return Status::NotFound("no such session", sid);
  return r;
}

Status SessionService::SessionExists(std::string_view agent, std::string_view sid) {
  return LoadRow(agent, sid).status();
}

Result<Json> SessionService::SessionStatus(std::string_view agent, std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  Json j{{"session_id", r.id},
         {"state", r.state},
         {"kind", r.kind},
         {"provider", r.provider},
         {"reserved_usd", r.reserved},
         {"created_at", Rfc3339(r.created_at)}};
  if (r.started_at) j["started_at"] = Rfc3339(r.started_at);
  if (r.ended_at) j["ended_at"] = Rfc3339(r.ended_at);
  if (r.has_exit) j["exit_code"] = r.exit_code;
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (r.has_cost) j["cost_usd"] = r.cost;
  return j;
}

Result<Json> SessionService::SessionRequestDoc(std::string_view agent, std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  return r.request;
}

Result<Json> SessionService::SessionResult(std::string_view agent, std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  if (!IsFinal(r.state)) return Status::Unavailable("session not finished", "state " + r.state);
  if (!r.result.is_null()) return r.result;
  // Refused at submit (a tick's `run`): it never ran.
  return Json{{"session_id", r.id},
              {"state", r.state},
              {"exit_code", nullptr},
              {"reason", r.reason},
              {"usage", containers::Usage{}.ToJson()},
              {"cost_usd", 0},
              {"stdout_tail", ""}};
}

Result<Json> SessionService::SessionUsage(std::string_view agent, std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  Json j{{"session_id", r.id}, {"state", r.state}, {"reserved_usd", r.reserved}};
  if (IsFinal(r.state)) {
    j["usage"] = r.result.is_object() ? r.result.value("usage", containers::Usage{}.ToJson())
                                      : containers::Usage{}.ToJson();
    j["cost_usd"] = r.cost;
  } else {
    containers::Usage u;
    if (r.started_at) u.wall_ms = clock_->NowMs() - r.started_at;
    if (auto live = FindLive(r.id)) {
      std::lock_guard<std::mutex> l(live->mu);
      u.output_bytes = static_cast<int64_t>(live->out.size() + live->err.size());
    }
    j["usage"] = u.ToJson();  // so far: wall time and output; CPU is measured at the end
  }
  return j;
}

Result<std::string> SessionService::SessionText(std::string_view agent, std::string_view sid,
                                                std::string_view stream) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  if (auto live = FindLive(r.id)) {
    std::lock_guard<std::mutex> l(live->mu);
    return stream == "stderr" ? live->err : live->out;
  }
  std::string text;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare(stream == "stderr"
                                ? "SELECT stderr FROM container_sessions WHERE id=? AND agent=?"
                                : "SELECT stdout FROM container_sessions WHERE id=? AND agent=?"));
    q->Bind(1, sid).Bind(2, agent);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row && !q->IsNull(0)) text = q->Text(0);
    q->Reset();
    return Status::OK();
  }));
  return text;
}

Result<std::shared_ptr<Stream>> SessionService::SessionOutput(std::string_view agent,
                                                              std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  if (!IsFinal(r.state)) {
    std::shared_ptr<Live> live = LiveFor(r.id, r.agent);
    // It may have ended between the two looks: then the stored output is the one to read.
    auto again = LoadRow(agent, sid);
    if (!again.ok() || !IsFinal(again->state)) return live->output;
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(r.id);
    if (it != live_.end() && it->second == live && !live->running) live_.erase(it);
  }
  std::string output;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT output, result FROM container_sessions WHERE id=?"));
    q->Bind(1, sid);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row && !q->IsNull(0)) output = q->Text(0);
    q->Reset();
    return Status::OK();
  }));
  if (output.empty()) {
    AGENT9_ASSIGN_OR_RETURN(Json res, SessionResult(agent, sid));
    output = DumpJson(Json{{"end", res}}) + "\n";
  }
  auto s = std::make_shared<Stream>(std::max<size_t>(output.size(), 1));
  s->Append(output);
  s->Close();
  return s;
}

Result<std::vector<DirEntry>> SessionService::ListSessions(std::string_view agent) {
  std::vector<DirEntry> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q,
        c.Prepare("SELECT id, created_at FROM container_sessions WHERE agent=? ORDER BY seq"));
    q->Bind(1, agent);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      out.push_back(DirEntry{q->Text(0), NodeType::kDir, 0, q->Int(1)});
    }
    q->Reset();
    return Status::OK();
  }));
  return out;
}

Result<std::shared_ptr<Sandbox>> SessionService::LiveSandbox(std::string_view agent,
                                                             std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  if (IsFinal(r.state)) return Status::Unavailable("session ended", "state " + r.state);
  // A session marked running whose sandbox is still starting (a few ms): wait for it.
  for (int waited = 0; waited < 5000; waited += 2) {
    std::shared_ptr<Live> live = FindLive(r.id);
    if (live) {
      std::lock_guard<std::mutex> l(live->mu);
      if (live->sandbox) return live->sandbox;
    }
    if (r.state != kRunning || !live) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return Status::Unavailable("session not started yet", "state " + r.state);
}

// ---- policy, usage, metrics ----------------------------------------------------------------

Result<ContainerPolicy> SessionService::Policy(std::string_view agent) {
  ContainerPolicy p;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * a, c.Prepare("SELECT 1 FROM agents WHERE id=?"));
    a->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool exists, a->Step());
    a->Reset();
    if (!exists) return Status::NotFound("agent", agent);
    AGENT9_ASSIGN_OR_RETURN(auto stored, StoredPolicy(c, agent));
    p = stored.value_or(ContainerPolicy{});
    return Status::OK();
  }));
  return p;
}

Status SessionService::SetPolicy(std::string_view agent, const ContainerPolicy& p) {
  const int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) { return StorePolicy(c, agent, p, now); }));
  {
    std::lock_guard<std::mutex> l(mu_);
    queues_[std::string(agent)].max_concurrent = p.MaxConcurrent();
  }
  Pump(std::string(agent));  // a raised max_concurrent starts queued sessions now
  return Status::OK();
}

Result<Json> SessionService::Usage(std::string_view agent) {
  Json j;
  const int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(BudgetPolicy p, Ledger::GetPolicy(c, agent));
    AGENT9_ASSIGN_OR_RETURN(int64_t tick, Ledger::CurrentTick(c, agent));
    AGENT9_ASSIGN_OR_RETURN(BudgetUsage u, Ledger::Usage(c, agent, p, tick, now));
    j = u.ToJson();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT state, count(*) FROM container_sessions WHERE agent=? AND "
                            "state IN ('pending','running') GROUP BY state"));
    q->Bind(1, agent);
    Json s{{"pending", 0}, {"running", 0}};
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      s[q->Text(0)] = q->Int(1);
    }
    q->Reset();
    j["sessions"] = s;
    return Status::OK();
  }));
  return j;
}

std::string SessionService::MetricsText() {
  std::string out;
  out += "# HELP agent9_containers_sessions_total Container sessions that ended, by state.\n";
  out += "# TYPE agent9_containers_sessions_total counter\n";
  out +=
      "agent9_containers_sessions_total{state=\"exited\"} " + std::to_string(exited_.load()) + "\n";
  out += "agent9_containers_sessions_total{state=\"stopped\"} " + std::to_string(stopped_.load()) +
         "\n";
  out +=
      "agent9_containers_sessions_total{state=\"failed\"} " + std::to_string(failed_.load()) + "\n";
  out += "# HELP agent9_containers_running Container sessions running now.\n";
  out += "# TYPE agent9_containers_running gauge\n";
  int64_t running = 0, queued = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [agent, q] : queues_) {
      running += q.running;
      queued += static_cast<int64_t>(q.pending.size());
    }
  }
  out += "agent9_containers_running " + std::to_string(running) + "\n";
  out += "# HELP agent9_containers_queued Container sessions waiting for a slot.\n";
  out += "# TYPE agent9_containers_queued gauge\n";
  out += "agent9_containers_queued " + std::to_string(queued) + "\n";
  return out;
}

}  // namespace agent9::containers
