// SessionService, running sessions: their live state, the thread that waits on each
// sandbox, the end (result, settled money and event in one transaction), stop and kill,
// events a crash lost, and what a start and a stop of the daemon do.
#include <algorithm>
#include <thread>

#include "compute/ledger.h"
#include "containers/session_service.h"
#include "containers/session_service_internal.h"
#include "fs/base/log.h"

namespace agent9::containers {

using compute::Ledger;

namespace {

Limits LimitsFrom(const Json& j) {
  Limits l;
  l.wall_ms = j.value("wall_ms", int64_t{60'000});
  l.cpu_ms = j.value("cpu_ms", l.wall_ms);
  l.memory_bytes = j.value("memory_bytes", int64_t{512} << 20);
  l.pids = j.value("pids", int64_t{256});
  l.output_bytes = j.value("output_bytes", int64_t{1} << 20);
  return l;
}

}  // namespace

std::shared_ptr<SessionService::Live> SessionService::LiveFor(const std::string& id,
                                                              const std::string& agent) {
  std::lock_guard<std::mutex> l(mu_);
  auto& live = live_[id];
  if (!live) {
    live = std::make_shared<Live>();
    live->id = id;
    live->agent = agent;
  }
  return live;
}

std::shared_ptr<SessionService::Live> SessionService::FindLive(const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second;
}

void SessionService::Run(std::shared_ptr<Live> live) {
  const int64_t start = clock_->NowMs();
  std::string state, request, limits, prices, provider;
  Status st = db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT state, request, limits, prices, provider FROM "
                                      "container_sessions WHERE id=?"));
    q->Bind(1, live->id);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      state = q->Text(0);
      request = q->Text(1);
      limits = q->Text(2);
      prices = q->Text(3);
      provider = q->Text(4);
    }
    q->Reset();
    if (!row || state != kPending) return Status::OK();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * u, c.Prepare("UPDATE container_sessions SET state='running', started_at=? WHERE "
                            "id=? AND state='pending'"));
    u->Bind(1, start).Bind(2, live->id);
    return u->Run();
  });
  if (!st.ok()) LogError("containers: claiming session " + live->id + ": " + st.ToString());
  if (!st.ok() || state != kPending) {
    // Ended before it started (stopped while pending): readers find it in the store.
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = live_.find(live->id);
      if (it != live_.end() && it->second == live) live_.erase(it);
    }
    live->output->Close();
    Pump(live->agent);
    return;
  }
  started_.fetch_add(1);
  auto req = ParseJson(request);
  auto r = req.ok() ? SessionRequest::FromJson(*req) : Result<SessionRequest>(req.status());
  auto pol = ParseJson(prices);
  auto lim = ParseJson(limits);
  if (r.ok()) live->request = *r;
  if (pol.ok()) {
    auto p = ContainerPolicy::FromJson(*pol);
    if (p.ok()) live->policy = *p;
  }
  if (lim.ok()) live->limits = LimitsFrom(*lim);
  live->provider = FindProvider(provider);
  Exit exit;
  std::string end_state;
  auto resolved =
      r.ok() ? Resolve(*r) : Result<std::pair<SandboxProvider*, std::string>>(r.status());
  if (!r.ok() || !live->provider || !resolved.ok()) {
    exit.reason = !r.ok()           ? "stored request unreadable: " + r.status().message()
                  : !live->provider ? "provider '" + provider + "' is no longer configured"
                                    : resolved.status().message();
    end_state = kFailed;
  } else {
    SandboxSpec spec;
    spec.id = live->id;
    spec.image = live->request.image;
    spec.rootfs = resolved->second;
    spec.command = live->request.commands.empty() ? "" : live->request.Script();
    spec.interactive = live->request.kind == "interactive";
    spec.files = live->request.files;
    spec.env = live->request.env;
    spec.workdir = "/work";
    if (!live->request.workdir.empty()) {
      // The command starts in its directory (made first, so `cd` cannot fail).
      spec.command = "mkdir -p " + live->request.SandboxWorkdir() + " && cd " +
                     live->request.SandboxWorkdir() + " && " + spec.command;
    }
    spec.limits = live->limits;
    spec.network = live->request.network;
    Live* raw = live.get();
    OutputFn on_output = [raw](std::string_view stream, std::string_view data) {
      {
        std::lock_guard<std::mutex> l(raw->mu);
        (stream == "stderr" ? raw->err : raw->out).append(data);
      }
      raw->output->Append(OutputLine(stream, data));
    };
    auto sb = live->provider->Start(spec, on_output);
    if (!sb.ok()) {
      exit.reason = "sandbox failed to start: " + sb.status().message();
      end_state = kFailed;
    } else {
      std::shared_ptr<Sandbox> sandbox(std::move(sb).value());
      bool stop = false, force = false, stopping = false;
      {
        std::lock_guard<std::mutex> l(live->mu);
        live->sandbox = sandbox;
        live->running = true;
        stop = live->stop;
        force = live->force;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        stopping = stopping_;
      }
      if (stop || stopping) sandbox->Stop(force || stopping);
      exit = sandbox->Wait();
      {
        std::lock_guard<std::mutex> l(live->mu);
        live->running = false;
        live->sandbox.reset();
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        stopping = stopping_;
      }
      if (stopping) {
        end_state = kFailed;
        exit.reason = "interrupted";
      } else if (exit.reason.empty()) {
        end_state = kExited;
      } else if (exit.reason == "stopped" || exit.reason == "killed") {
        end_state = kStopped;
      } else {
        end_state = kFailed;
      }
    }
  }
  Finish(live, end_state, exit);
  Pump(live->agent);
}

bool SessionService::Finish(const std::shared_ptr<Live>& live, const std::string& state,
                            const Exit& exit, bool pending_only) {
  const int64_t now = clock_->NowMs();
  std::string out, err;
  {
    std::lock_guard<std::mutex> l(live->mu);
    out = live->out;
    err = live->err;
  }
  const int64_t cost = pending_only ? 0 : Cost(exit.usage, live->policy);
  Json result{{"session_id", live->id},
              {"state", state},
              {"exit_code", exit.exit_code >= 0 ? Json(exit.exit_code) : Json(nullptr)},
              {"usage", exit.usage.ToJson()},
              {"stdout_tail", Tail(out, static_cast<size_t>(tail_bytes_))}};
  if (!exit.reason.empty()) result["reason"] = exit.reason;
  const std::string stream_text = live->output->Retained();
  bool done = false, event_added = false;
  int64_t charged = 0;
  // The end is written in one transaction; a failed write (a full disk, a busy store) is tried
  // again a few times, and failing that the next start ends the session `interrupted`.
  auto write_end = [&](Conn& c) -> Status {
    event_added = false;
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT notify, request, reserved FROM container_sessions WHERE id=? "
                            "AND state IN ('pending', ?)"));
    q->Bind(1, live->id).Bind(2, pending_only ? kPending : kRunning);
    AGENT9_ASSIGN_OR_RETURN(done, q->Step());
    bool notify = done && q->Int(0) != 0;
    std::string request = done ? q->Text(1) : "";
    int64_t reserved = done ? q->Int(2) : 0;
    q->Reset();
    if (!done) return Status::OK();
    // What the session used, at the prices of its submit, up to what was reserved.
    charged = std::min(cost, reserved);
    Json res = result;
    res["cost_usd"] = charged;
    if (cost > reserved) res["unbilled_usd"] = cost - reserved;
    std::string end_line = DumpJson(Json{{"end", res}}) + "\n";
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * u,
        c.Prepare("UPDATE container_sessions SET state=?, result=?, stdout=?, stderr=?, "
                  "output=?, exit_code=?, reason=?, cost=?, ended_at=?, notified=1 WHERE id=?"));
    u->Bind(1, state).Bind(2, DumpJson(res));
    u->BindBlob(3, std::as_bytes(std::span(out))).BindBlob(4, std::as_bytes(std::span(err)));
    u->Bind(5, stream_text + end_line);
    if (exit.exit_code >= 0) {
      u->Bind(6, int64_t{exit.exit_code});
    } else {
      u->BindNull(6);
    }
    if (exit.reason.empty()) {
      u->BindNull(7);
    } else {
      u->Bind(7, exit.reason);
    }
    u->Bind(8, charged).Bind(9, now).Bind(10, live->id);
    AGENT9_RETURN_IF_ERROR(u->Run());
    if (reserved > 0) {  // free sessions (no prices) hold nothing
      AGENT9_RETURN_IF_ERROR(Ledger::Settle(c, HoldId(live->id), cost, now).status());
    }
    if (!notify) return Status::OK();
    auto cfg = host_->AgentConfigJson(live->agent);
    if (cfg.ok() && cfg->value("kind", "none") == "none") return Status::OK();
    auto req = ParseJson(request);
    Json ev{{"type", "containers.session"},
            {"session_id", live->id},
            {"state", state},
            {"exit_code", res["exit_code"]},
            {"usage", res["usage"]},
            {"cost_usd", charged},
            {"stdout_tail", res["stdout_tail"]},
            {"tag", req.ok() ? req->value("tag", Json()) : Json()},
            {"result_path", "containers/sessions/" + live->id + "/result"}};
    if (!exit.reason.empty()) ev["reason"] = exit.reason;
    AGENT9_RETURN_IF_ERROR(host_->AddEventInTransaction(c, live->agent, ev).status());
    event_added = true;
    result = std::move(res);
    return Status::OK();
  };
  Status st = db_->Write(write_end);
  for (int attempt = 1; !st.ok() && attempt < 4; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << attempt));
    st = db_->Write(write_end);
  }
  if (!st.ok()) LogError("containers: finishing session " + live->id + ": " + st.ToString());
  if (!done && pending_only) return false;  // its thread has it now
  if (!result.contains("cost_usd")) result["cost_usd"] = charged;
  live->output->Append(DumpJson(Json{{"end", result}}) + "\n");
  live->output->Close();
  {
    std::lock_guard<std::mutex> l(mu_);
    live_.erase(live->id);
  }
  if (!done) return false;
  (state == kExited ? exited_ : state == kStopped ? stopped_ : failed_).fetch_add(1);
  host_->Trace(live->agent,
               Json{{"type", "containers"},
                    {"op", "end"},
                    {"session_id", live->id},
                    {"state", state},
                    {"reason", exit.reason.empty() ? Json(nullptr) : Json(exit.reason)}});
  if (event_added) host_->EventAdded(live->agent);
  return true;
}

Status SessionService::StopSession(std::string_view agent, std::string_view sid, bool force) {
  AGENT9_ASSIGN_OR_RETURN(Row row, LoadRow(agent, sid));
  if (IsFinal(row.state)) return Status::Aborted("session already ended", row.state);
  std::string id(sid);
  if (row.state == kPending) {
    std::shared_ptr<Live> live = LiveFor(id, row.agent);
    Exit exit;
    exit.reason = force ? "killed" : "stopped";
    if (Finish(live, std::string(kStopped), exit, true)) {
      std::lock_guard<std::mutex> l(mu_);
      auto& q = queues_[row.agent].pending;
      q.erase(std::remove(q.begin(), q.end(), id), q.end());
      return Status::OK();
    }
  }
  // Running (or claimed meanwhile): stop its sandbox, or have its thread stop it once made.
  for (int i = 0; i < 200; ++i) {
    std::shared_ptr<Live> live = FindLive(id);
    if (live) {
      std::shared_ptr<Sandbox> sb;
      {
        std::lock_guard<std::mutex> l(live->mu);
        live->stop = true;
        live->force = live->force || force;
        sb = live->sandbox;
      }
      if (sb) sb->Stop(force);
      return Status::OK();
    }
    auto again = LoadRow(agent, sid);
    if (!again.ok() || IsFinal(again->state)) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Unavailable("session is starting; try again");
}

void SessionService::Notify(const std::string& id) {
  std::string agent, state, reason, request, result;
  bool found = false;
  Status st = db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare("SELECT agent, state, reason, request, result FROM "
                                                "container_sessions WHERE id=? AND notified=0"));
    q->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(found, q->Step());
    if (found) {
      agent = q->Text(0);
      state = q->Text(1);
      reason = q->IsNull(2) ? "" : q->Text(2);
      request = q->Text(3);
      result = q->IsNull(4) ? "" : q->Text(4);
    }
    q->Reset();
    return Status::OK();
  });
  if (!st.ok() || !found || !IsFinal(state)) return;
  auto req = ParseJson(request);
  bool send = req.ok() ? req->value("notify", true) : true;
  if (send) {
    auto cfg = host_->AgentConfigJson(agent);
    send = cfg.ok() && cfg->value("kind", "none") != "none";
  }
  if (send) {
    auto res = ParseJson(result.empty() ? "{}" : result);
    Json r = res.ok() ? *res : Json::object();
    Json ev{{"type", "containers.session"},
            {"session_id", id},
            {"state", state},
            {"exit_code", r.value("exit_code", Json())},
            {"usage", r.value("usage", containers::Usage{}.ToJson())},
            {"cost_usd", r.value("cost_usd", int64_t{0})},
            {"stdout_tail", r.value("stdout_tail", std::string())},
            {"tag", req.ok() ? req->value("tag", Json()) : Json()},
            {"result_path", "containers/sessions/" + id + "/result"}};
    if (!reason.empty()) ev["reason"] = reason;
    auto added = host_->AddEvent(agent, ev);
    if (!added.ok()) {
      LogError("containers: event for session " + id + ": " + added.status().ToString());
      return;  // sent again at the next start
    }
  }
  (void)db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * u,
                            c.Prepare("UPDATE container_sessions SET notified=1 WHERE id=?"));
    u->Bind(1, id);
    return u->Run();
  });
}

Status SessionService::Start() {
  const int64_t now = clock_->NowMs();
  std::map<std::string, std::vector<std::string>> cut_by_provider;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT id, provider, reserved FROM container_sessions WHERE "
                                      "state='running'"));
    std::vector<std::pair<std::string, int64_t>> cut;
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      cut.emplace_back(q->Text(0), q->Int(2));
      cut_by_provider[q->Text(1)].push_back(q->Text(0));
    }
    q->Reset();
    for (const auto& [id, reserved] : cut) {
      // What it used cannot be measured any more: its reservation is released whole.
      Json res{{"session_id", id},
               {"state", kFailed},
               {"exit_code", nullptr},
               {"reason", "interrupted"},
               {"usage", containers::Usage{}.ToJson()},
               {"cost_usd", 0},
               {"stdout_tail", ""}};
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * u, c.Prepare("UPDATE container_sessions SET state='failed', reason=?, "
                              "result=?, cost=0, ended_at=?, notified=0, output=? WHERE id=?"));
      u->Bind(1, "interrupted").Bind(2, DumpJson(res)).Bind(3, now);
      u->Bind(4, DumpJson(Json{{"end", res}}) + "\n").Bind(5, id);
      AGENT9_RETURN_IF_ERROR(u->Run());
      if (reserved > 0) AGENT9_RETURN_IF_ERROR(Ledger::Release(c, HoldId(id), now));
    }
    return Status::OK();
  }));
  for (const auto& p : providers_) {
    Status r = p->Reap(cut_by_provider[p->id()]);
    if (!r.ok()) LogError("containers: reaping provider " + p->id() + ": " + r.ToString());
  }
  std::vector<std::string> ended;
  std::vector<std::pair<std::string, std::string>> pending;  // agent, id
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT id FROM container_sessions WHERE notified=0"));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ended.push_back(q->Text(0));
    }
    q->Reset();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * p, c.Prepare("SELECT agent, id FROM container_sessions WHERE state='pending' "
                            "ORDER BY seq"));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, p->Step());
      if (!row) break;
      pending.emplace_back(p->Text(0), p->Text(1));
    }
    p->Reset();
    for (const auto& [agent, id] : pending) {
      AGENT9_ASSIGN_OR_RETURN(auto pol, StoredPolicy(c, agent));
      std::lock_guard<std::mutex> l(mu_);
      queues_[agent].max_concurrent = pol.value_or(ContainerPolicy{}).MaxConcurrent();
    }
    return Status::OK();
  }));
  for (const auto& id : ended) Notify(id);
  for (const auto& [agent, id] : pending) Enqueue(agent, id);
  return Status::OK();
}

void SessionService::Stop() {
  std::vector<std::shared_ptr<Live>> lives;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, live] : live_) lives.push_back(live);
  }
  for (auto& live : lives) {
    std::shared_ptr<Sandbox> sb;
    {
      std::lock_guard<std::mutex> l(live->mu);
      sb = live->sandbox;
    }
    if (sb) sb->Stop(true);
  }
  std::unique_lock<std::mutex> l(mu_);
  idle_cv_.wait(l, [&] { return threads_ == 0; });
}

}  // namespace agent9::containers
