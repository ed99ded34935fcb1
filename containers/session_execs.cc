// SessionService, execs: commands run in a live interactive session (exec/new), their
// status, result and output, live and, once ended, from the store.
#include <thread>

#include "containers/session_service.h"
#include "containers/session_service_internal.h"
#include "fs/base/clock.h"

namespace agent9::containers {

namespace {

Json ExecResultJson(const std::string& eid, const std::string& state, const Exit& e) {
  Json j{{"exec_id", eid},
         {"state", state},
         {"exit_code", e.exit_code >= 0 ? Json(e.exit_code) : Json(nullptr)},
         {"usage", e.usage.ToJson()}};
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

}  // namespace

Result<Json> SessionService::Exec(std::string_view agent, std::string_view sid,
                                  std::string_view request_text) {
  AGENT9_ASSIGN_OR_RETURN(ExecRequest req, ExecRequest::Parse(request_text));
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  if (r.kind != "interactive") {
    return Status::InvalidArgument("exec: the session is not interactive", r.id);
  }
  AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, LiveSandbox(agent, sid));
  std::shared_ptr<Live> live = FindLive(r.id);
  if (!live) return Status::Unavailable("session ended");
  auto ex = std::make_shared<ExecLive>();
  ex->command = req.command;
  ex->created_at = clock_->NowMs();
  {
    std::lock_guard<std::mutex> l(live->mu);
    if (live->execs.size() >= kMaxExecsPerSession) {
      return Status::ResourceExhausted("exec: at most 1000 execs per session");
    }
    ex->id = "e" + std::to_string(++live->exec_seq);
    live->execs[ex->id] = ex;
  }
  ExecLive* raw = ex.get();
  auto proc = sb->Exec(req.command, req.env, [raw](std::string_view stream, std::string_view data) {
    raw->output->Append(OutputLine(stream, data));
  });
  if (!proc.ok()) {
    std::lock_guard<std::mutex> l(live->mu);
    live->execs.erase(ex->id);
    return proc.status();
  }
  ex->process = std::move(proc).value();
  {
    std::lock_guard<std::mutex> l(mu_);
    ++threads_;
  }
  std::string session = r.id;
  std::thread([this, ex, session] {
    Exit e = ex->process->Wait();
    std::string state = e.reason.empty()                                  ? std::string(kExited)
                        : (e.reason == "stopped" || e.reason == "killed") ? std::string(kStopped)
                                                                          : std::string(kFailed);
    const int64_t now = clock_->NowMs();
    Json res = ExecResultJson(ex->id, state, e);
    ex->output->Append(DumpJson(Json{{"end", res}}) + "\n");
    const std::string output = ex->output->Retained();
    (void)db_->Write([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * s,
          c.Prepare("INSERT INTO container_execs(id, session, command, state, result, output, "
                    "created_at, ended_at) VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(session, id) DO "
                    "NOTHING"));
      s->Bind(1, ex->id).Bind(2, session).Bind(3, ex->command).Bind(4, state);
      s->Bind(5, DumpJson(res)).Bind(6, output).Bind(7, ex->created_at).Bind(8, now);
      return s->Run();
    });
    {
      std::lock_guard<std::mutex> l(ex->mu);
      ex->state = state;
      ex->exit = e;
      ex->ended_at = now;
    }
    ex->output->Close();
    std::lock_guard<std::mutex> l(mu_);
    --threads_;
    idle_cv_.notify_all();
  }).detach();
  std::string base = "containers/sessions/" + r.id + "/exec/" + ex->id + "/";
  return Json{{"exec_id", ex->id},
              {"state", kRunning},
              {"status_path", base + "status"},
              {"output_path", base + "output"}};
}

Result<std::shared_ptr<SessionService::ExecLive>> SessionService::FindExec(std::string_view agent,
                                                                           std::string_view sid,
                                                                           std::string_view eid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  if (std::shared_ptr<Live> live = FindLive(r.id)) {
    std::lock_guard<std::mutex> l(live->mu);
    auto it = live->execs.find(std::string(eid));
    if (it != live->execs.end()) return it->second;
  }
  std::shared_ptr<ExecLive> ex;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT command, state, result, output, created_at, ended_at FROM "
                            "container_execs WHERE session=? AND id=?"));
    q->Bind(1, sid).Bind(2, eid);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      ex = std::make_shared<ExecLive>();
      ex->id = std::string(eid);
      ex->command = q->Text(0);
      ex->state = q->Text(1);
      auto res = ParseJson(q->Text(2));
      if (res.ok()) {
        ex->exit.exit_code =
            res->value("exit_code", Json()).is_number() ? res->value("exit_code", -1) : -1;
        ex->exit.reason = res->value("reason", std::string());
        const Json u = res->value("usage", Json::object());
        ex->exit.usage.cpu_ms = u.value("cpu_ms", int64_t{0});
        ex->exit.usage.wall_ms = u.value("wall_ms", int64_t{0});
        ex->exit.usage.memory_peak_bytes = u.value("memory_peak_bytes", int64_t{0});
        ex->exit.usage.output_bytes = u.value("output_bytes", int64_t{0});
      }
      std::string out = q->Text(3);
      ex->output = std::make_shared<Stream>(std::max<size_t>(out.size(), 1));
      ex->output->Append(out);
      ex->output->Close();
      ex->created_at = q->Int(4);
      ex->ended_at = q->Int(5);
    }
    q->Reset();
    return Status::OK();
  }));
  if (!ex) return Status::NotFound("no such exec", eid);
  return ex;
}

Result<Json> SessionService::ExecStatus(std::string_view agent, std::string_view sid,
                                        std::string_view eid) {
  AGENT9_ASSIGN_OR_RETURN(auto ex, FindExec(agent, sid, eid));
  std::lock_guard<std::mutex> l(ex->mu);
  Json j{{"exec_id", ex->id},
         {"command", ex->command},
         {"state", ex->state},
         {"created_at", Rfc3339(ex->created_at)}};
  if (ex->ended_at) {
    j["ended_at"] = Rfc3339(ex->ended_at);
    if (ex->exit.exit_code >= 0) j["exit_code"] = ex->exit.exit_code;
    if (!ex->exit.reason.empty()) j["reason"] = ex->exit.reason;
  }
  return j;
}

Result<Json> SessionService::ExecResult(std::string_view agent, std::string_view sid,
                                        std::string_view eid) {
  AGENT9_ASSIGN_OR_RETURN(auto ex, FindExec(agent, sid, eid));
  std::lock_guard<std::mutex> l(ex->mu);
  if (!IsFinal(ex->state)) return Status::Unavailable("exec not finished", "state " + ex->state);
  return ExecResultJson(ex->id, ex->state, ex->exit);
}

Result<std::shared_ptr<Stream>> SessionService::ExecOutput(std::string_view agent,
                                                           std::string_view sid,
                                                           std::string_view eid) {
  AGENT9_ASSIGN_OR_RETURN(auto ex, FindExec(agent, sid, eid));
  return ex->output;
}

Result<std::vector<DirEntry>> SessionService::ListExecs(std::string_view agent,
                                                        std::string_view sid) {
  AGENT9_ASSIGN_OR_RETURN(Row r, LoadRow(agent, sid));
  std::map<std::string, DirEntry> out;
  if (std::shared_ptr<Live> live = FindLive(r.id)) {
    std::lock_guard<std::mutex> l(live->mu);
    for (const auto& [id, ex] : live->execs) {
      out[id] = DirEntry{id, NodeType::kDir, 0, ex->created_at};
    }
  }
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT id, created_at FROM container_execs WHERE session=?"));
    q->Bind(1, sid);
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      out[q->Text(0)] = DirEntry{q->Text(0), NodeType::kDir, 0, q->Int(1)};
    }
    q->Reset();
    return Status::OK();
  }));
  std::vector<DirEntry> list;
  for (auto& [id, e] : out) list.push_back(std::move(e));
  return list;
}

}  // namespace agent9::containers
