// ComputeService, the read side: what a job's files and the agent's compute/ show.
#include "compute/compute_service.h"
#include "compute/compute_service_internal.h"

namespace agent9::compute {
namespace {

Json Opt(bool has, int64_t v) { return has ? Json(v) : Json(nullptr); }

}  // namespace

Result<ComputeService::Row> ComputeService::LoadRow(std::string_view agent,
                                                    std::string_view job_id) {
  Row r;
  bool found = false;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q,
        c.Prepare("SELECT id, agent, provider, model, kind, state, error, request, result, "
                  "attempts, reserved, cost, tick, created_at, started_at, ended_at FROM "
                  "compute_jobs WHERE id=? AND agent=?"));
    q->Bind(1, job_id).Bind(2, agent);
    AGENT9_ASSIGN_OR_RETURN(found, q->Step());
    if (found) {
      r.id = q->Text(0);
      r.agent = q->Text(1);
      r.provider = q->Text(2);
      r.model = q->Text(3);
      r.kind = q->Text(4);
      r.state = q->Text(5);
      r.error = q->IsNull(6) ? "" : q->Text(6);
      auto req = ParseJson(q->Text(7));
      if (req.ok()) r.request = std::move(req).value();
      if (!q->IsNull(8)) {
        auto res = ParseJson(q->Text(8));
        if (res.ok()) r.result = std::move(res).value();
      }
      r.attempts = q->Int(9);
      r.reserved = q->Int(10);
      r.has_cost = !q->IsNull(11);
      r.cost = r.has_cost ? q->Int(11) : 0;
      r.tick = q->Int(12);
      r.created_at = q->Int(13);
      r.has_started = !q->IsNull(14);
      r.started_at = r.has_started ? q->Int(14) : 0;
      r.has_ended = !q->IsNull(15);
      r.ended_at = r.has_ended ? q->Int(15) : 0;
    }
    q->Reset();
    return Status::OK();
  }));
  if (!found) return Status::NotFound("no such job", job_id);
  return r;
}

Status ComputeService::JobExists(std::string_view agent, std::string_view job_id) {
  return LoadRow(agent, job_id).status();
}

Result<Json> ComputeService::JobStatus(std::string_view agent, std::string_view job_id) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, job_id));
  if (r.state == kRunning) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(r.id);
    if (it != live_.end() && it->second->streaming.load()) r.state = kStreaming;
  }
  Json j{{"job_id", r.id},
         {"state", r.state},
         {"kind", r.kind},
         {"provider", r.provider},
         {"model", r.model},
         {"attempts", r.attempts},
         {"tick", r.tick},
         {"reserved_usd", r.reserved},
         {"cost_usd", Opt(r.has_cost, r.cost)},
         {"created_at", Rfc3339(r.created_at)}};
  if (r.has_started) j["started_at"] = Rfc3339(r.started_at);
  if (r.has_ended) j["ended_at"] = Rfc3339(r.ended_at);
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

Result<Json> ComputeService::JobRequestDoc(std::string_view agent, std::string_view job_id) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, job_id));
  return r.request;
}

Result<Json> ComputeService::JobResult(std::string_view agent, std::string_view job_id) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, job_id));
  if (r.state == kComplete) return r.result;
  if (IsFinal(r.state)) {
    return Json{{"job_id", r.id}, {"state", r.state}, {"error", r.error}};
  }
  return Status::Unavailable("job not finished", "state " + r.state);
}

Result<std::shared_ptr<Stream>> ComputeService::JobStream(std::string_view agent,
                                                          std::string_view job_id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = live_.find(std::string(job_id));
    if (it != live_.end() && it->second->agent == agent) return it->second->stream;
  }
  std::string state, stream, error;
  bool found = false;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q,
        c.Prepare("SELECT state, stream, error FROM compute_jobs WHERE id=? AND agent=?"));
    q->Bind(1, job_id).Bind(2, agent);
    AGENT9_ASSIGN_OR_RETURN(found, q->Step());
    if (found) {
      state = q->Text(0);
      stream = q->IsNull(1) ? "" : q->Text(1);
      error = q->IsNull(2) ? "" : q->Text(2);
    }
    q->Reset();
    return Status::OK();
  }));
  if (!found) return Status::NotFound("no such job", job_id);
  if (!IsFinal(state)) {
    // Live but not in the map yet (a pending job another thread is about to queue), or one
    // that ended between the two looks: a fresh live entry; Finish closes it either way.
    std::shared_ptr<Live> live = LiveFor(std::string(job_id), std::string(agent));
    return live->stream;
  }
  if (stream.empty()) {  // refused at submit: it never ran
    stream = DumpJson(Json{{"error", {{"state", state}, {"message", error}}}}) + "\n";
  }
  auto s = std::make_shared<Stream>(std::max<size_t>(stream.size(), 1));
  s->Append(stream);
  s->Close();
  return s;
}

Result<std::vector<DirEntry>> ComputeService::ListJobs(std::string_view agent) {
  std::vector<DirEntry> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT id, created_at FROM compute_jobs WHERE agent=? ORDER BY seq"));
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

Result<BudgetPolicy> ComputeService::Policy(std::string_view agent) {
  BudgetPolicy p;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(p, Ledger::GetPolicy(c, agent));
    return Status::OK();
  }));
  return p;
}

Status ComputeService::SetPolicy(std::string_view agent, const BudgetPolicy& p) {
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) { return Ledger::SetPolicy(c, agent, p, now); });
}

Result<BudgetUsage> ComputeService::Usage(std::string_view agent) {
  BudgetUsage u;
  int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(BudgetPolicy p, Ledger::GetPolicy(c, agent));
    AGENT9_ASSIGN_OR_RETURN(int64_t tick, Ledger::CurrentTick(c, agent));
    AGENT9_ASSIGN_OR_RETURN(u, Ledger::Usage(c, agent, p, tick, now));
    return Status::OK();
  }));
  return u;
}

std::string ComputeService::MetricsText() {
  std::string out;
  out += "# HELP agent9_compute_jobs_total Compute jobs that ended, by state.\n";
  out += "# TYPE agent9_compute_jobs_total counter\n";
  out +=
      "agent9_compute_jobs_total{state=\"complete\"} " + std::to_string(completed_.load()) + "\n";
  out += "agent9_compute_jobs_total{state=\"failed\"} " + std::to_string(failed_.load()) + "\n";
  out +=
      "agent9_compute_jobs_total{state=\"cancelled\"} " + std::to_string(cancelled_.load()) + "\n";
  out += "# HELP agent9_compute_retries_total Provider attempts retried.\n";
  out += "# TYPE agent9_compute_retries_total counter\n";
  out += "agent9_compute_retries_total " + std::to_string(retries_.load()) + "\n";
  out += "# HELP agent9_compute_running Jobs running now, by provider.\n";
  out += "# TYPE agent9_compute_running gauge\n";
  for (const auto& l : lanes_) {
    out += "agent9_compute_running{provider=\"" + l->provider->config().id + "\"} " +
           std::to_string(l->running.load()) + "\n";
  }
  out += "# HELP agent9_compute_queued Jobs waiting for a worker, by provider.\n";
  out += "# TYPE agent9_compute_queued gauge\n";
  std::lock_guard<std::mutex> g(mu_);
  for (const auto& l : lanes_) {
    out += "agent9_compute_queued{provider=\"" + l->provider->config().id + "\"} " +
           std::to_string(l->queue.size()) + "\n";
  }
  return out;
}

}  // namespace agent9::compute
