#include "containers/session_service.h"

#include <algorithm>
#include <random>
#include <thread>

#include "compute/ledger.h"
#include "containers/session_service_internal.h"
#include "fs/base/log.h"

namespace agent9::containers {

using compute::BudgetPolicy;
using compute::Hold;
using compute::Ledger;

namespace {

constexpr std::string_view kSchema[] = {
    // 1: sessions, their execs, and the per-agent policy. seq orders sessions (FIFO per
    // agent); notified=0 marks an ended session whose event has not reached its agent yet.
    R"sql(
CREATE TABLE container_sessions(
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  provider TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  limits TEXT NOT NULL,
  prices TEXT NOT NULL,
  result TEXT,
  stdout BLOB,
  stderr BLOB,
  output TEXT,
  exit_code INTEGER,
  reason TEXT,
  idempotency_key TEXT,
  reserved INTEGER NOT NULL,
  cost INTEGER,
  tick INTEGER NOT NULL,
  origin TEXT NOT NULL,
  notify INTEGER NOT NULL,
  notified INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  ended_at INTEGER
);
CREATE UNIQUE INDEX container_sessions_seq ON container_sessions(seq);
CREATE INDEX container_sessions_agent ON container_sessions(agent, seq);
CREATE INDEX container_sessions_idem ON container_sessions(agent, idempotency_key);
CREATE INDEX container_sessions_state ON container_sessions(state);
CREATE TABLE container_execs(
  id TEXT NOT NULL,
  session TEXT NOT NULL REFERENCES container_sessions(id) ON DELETE CASCADE,
  command TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT NOT NULL,
  output TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  PRIMARY KEY(session, id)
);
CREATE TABLE container_policies(
  agent TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  policy TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql",
};

constexpr int64_t kRetainSessions = 1000;        // ended sessions kept per agent...
constexpr int64_t kRetainSessionMs = 3'600'000;  // ...and every one that ended in the last hour
constexpr size_t kMaxActionSessions = 20;        // sessions one tick may start

std::string NewId(char prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  uint64_t v = rng();
  std::string id(1, prefix);
  for (int i = 0; i < 16; ++i) id += kHex[(v >> (i * 4)) & 15];
  return id;
}

Json LimitsJson(const Limits& l) {
  return Json{{"wall_ms", l.wall_ms},
              {"cpu_ms", l.cpu_ms},
              {"memory_bytes", l.memory_bytes},
              {"pids", l.pids},
              {"output_bytes", l.output_bytes}};
}

Limits LimitsFrom(const Json& j) {
  Limits l;
  l.wall_ms = j.value("wall_ms", int64_t{60'000});
  l.cpu_ms = j.value("cpu_ms", l.wall_ms);
  l.memory_bytes = j.value("memory_bytes", int64_t{512} << 20);
  l.pids = j.value("pids", int64_t{256});
  l.output_bytes = j.value("output_bytes", int64_t{1} << 20);
  return l;
}

// Shrinks wall and CPU time so that the most the session can cost fits max_cost.
void FitToCost(Limits* l, const ContainerPolicy& p, int64_t max_cost) {
  while (MaxCost(*l, p) > max_cost && (l->wall_ms > 1 || l->cpu_ms > 1)) {
    int64_t cost = MaxCost(*l, p);
    double f = static_cast<double>(max_cost) / static_cast<double>(cost);
    l->wall_ms = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(l->wall_ms) * f));
    l->cpu_ms = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(l->cpu_ms) * f));
    if (MaxCost(*l, p) > max_cost) {
      l->wall_ms = std::max<int64_t>(1, l->wall_ms - 1);
      l->cpu_ms = std::max<int64_t>(1, l->cpu_ms - 1);
    }
  }
}

// Sessions a tick's Act inserted, started by Acted on the same thread after the commit.
struct ActedSessions {
  std::vector<std::pair<std::string, std::string>> start;  // agent, id
  std::vector<std::string> woken;
};
thread_local ActedSessions t_acted;

}  // namespace

std::string HoldId(std::string_view sid) { return "containers:" + std::string(sid); }

std::string OutputLine(std::string_view stream, std::string_view data) {
  return DumpJson(Json{{"stream", stream}, {"data", data}}) + "\n";
}

std::string Tail(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t at = s.size() - n;
  while (at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) ++at;
  return s.substr(at);
}

SessionService::SessionService(Database* db, const Clock* clock, AgentHost* host,
                               std::vector<std::unique_ptr<SandboxProvider>> providers,
                               std::map<std::string, std::string> local_images,
                               int64_t event_tail_bytes)
    : db_(db),
      clock_(clock),
      host_(host),
      providers_(std::move(providers)),
      local_images_(std::move(local_images)),
      tail_bytes_(event_tail_bytes) {}

SessionService::~SessionService() { Stop(); }

Status SessionService::Migrate(Database& db) {
  AGENT9_RETURN_IF_ERROR(Ledger::Migrate(db));
  return db.Migrate("containers", kSchema);
}

SandboxProvider* SessionService::FindProvider(std::string_view id) const {
  for (const auto& p : providers_) {
    if (p->id() == id) return p.get();
  }
  return nullptr;
}

Result<std::pair<SandboxProvider*, std::string>> SessionService::Resolve(
    const SessionRequest& r) const {
  if (providers_.empty()) {
    return Status::Unavailable(
        "no container provider is configured: install bubblewrap or add "
        "[[containers.providers]] to the runtime config (docs/CONTAINERS.md)");
  }
  SandboxProvider* p = providers_.front().get();
  if (!r.provider.empty()) {
    p = FindProvider(r.provider);
    if (!p) return Status::InvalidArgument("session: provider: no such provider", r.provider);
  }
  std::string rootfs;
  if (p->id() == "local" && !r.image.empty() && r.image != "host") {
    auto it = local_images_.find(r.image);
    if (it == local_images_.end()) {
      return Status::InvalidArgument("session: image: no such image", r.image);
    }
    rootfs = it->second;
  }
  return std::make_pair(p, rootfs);
}

Result<std::optional<ContainerPolicy>> SessionService::StoredPolicy(Conn& c,
                                                                    std::string_view agent) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                          c.Prepare("SELECT policy FROM container_policies WHERE agent=?"));
  q->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
  std::string text = row ? q->Text(0) : "";
  q->Reset();
  if (!row) return std::optional<ContainerPolicy>();
  AGENT9_ASSIGN_OR_RETURN(ContainerPolicy p, ContainerPolicy::Parse(text));
  return std::optional<ContainerPolicy>(std::move(p));
}

Status SessionService::StorePolicy(Conn& c, std::string_view agent, const ContainerPolicy& p,
                                   int64_t now_ms) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * a, c.Prepare("SELECT 1 FROM agents WHERE id=?"));
  a->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool exists, a->Step());
  a->Reset();
  if (!exists) return Status::NotFound("agent", agent);
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s, c.Prepare("INSERT INTO container_policies(agent, policy, updated_at) "
                          "VALUES(?,?,?) ON CONFLICT(agent) DO UPDATE SET policy=excluded.policy, "
                          "updated_at=excluded.updated_at"));
  s->Bind(1, agent).Bind(2, DumpJson(p.ToJson())).Bind(3, now_ms);
  return s->Run();
}

Status SessionService::Insert(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms,
                              const SessionRequest& r, const std::string& origin,
                              bool refuse_as_failed, std::string* id, bool* existing,
                              bool* failed) {
  *existing = false;
  *failed = false;
  if (!r.idempotency_key.empty()) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q,
        c.Prepare("SELECT id FROM container_sessions WHERE agent=? AND idempotency_key=?"));
    q->Bind(1, agent).Bind(2, r.idempotency_key);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) *id = q->Text(0);
    q->Reset();
    if (row) {
      *existing = true;
      return Status::OK();
    }
  }
  AGENT9_ASSIGN_OR_RETURN(auto resolved, Resolve(r));
  AGENT9_ASSIGN_OR_RETURN(auto stored, StoredPolicy(c, agent));
  ContainerPolicy policy = stored.value_or(ContainerPolicy{});
  AGENT9_ASSIGN_OR_RETURN(BudgetPolicy budget, Ledger::GetPolicy(c, agent));
  *id = NewId('s');
  Limits limits;
  int64_t amount = 0;
  // A refusal by policy, queue or budget: returned, or (a tick's `run`) recorded as a failed
  // session whose event tells the agent why.
  Status refused = CheckPolicy(r, policy);
  if (refused.ok() && policy.MaxConcurrent() == 0) {
    refused = Status::PermissionDenied("policy: max_concurrent", "the policy allows 0 sessions");
  }
  if (refused.ok()) {
    auto l = ResolveLimits(r.limits, policy);
    if (l.ok()) {
      limits = *l;
      if (r.max_cost_usd) FitToCost(&limits, policy, *r.max_cost_usd);
      amount = MaxCost(limits, policy);
    } else {
      refused = l.status();
    }
  }
  if (refused.ok()) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT count(*) FROM container_sessions WHERE agent=? AND state IN "
                            "('pending','running')"));
    q->Bind(1, agent);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    int64_t active = row ? q->Int(0) : 0;
    q->Reset();
    if (active >= policy.MaxConcurrent() + policy.MaxQueued()) {
      refused = Status::ResourceExhausted(
          "containers: queue full", std::to_string(active) +
                                        " sessions running or queued (policy max_concurrent " +
                                        std::to_string(policy.MaxConcurrent()) + " + max_queued " +
                                        std::to_string(policy.MaxQueued()) + ")");
    }
  }
  if (refused.ok() && amount > 0) {
    refused = Ledger::Reserve(
        c, Hold{HoldId(*id), std::string(agent), "containers", tick, amount, now_ms}, budget);
  }
  if (!refused.ok() && !refuse_as_failed) return refused;
  *failed = !refused.ok();
  AGENT9_ASSIGN_OR_RETURN(Stmt * m,
                          c.Prepare("SELECT coalesce(max(seq), 0) + 1 FROM container_sessions"));
  AGENT9_ASSIGN_OR_RETURN(bool mrow, m->Step());
  int64_t seq = mrow ? m->Int(0) : 1;
  m->Reset();
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s,
      c.Prepare("INSERT INTO container_sessions(id, agent, seq, provider, kind, state, request, "
                "limits, prices, reason, idempotency_key, reserved, tick, origin, notify, "
                "notified, created_at, ended_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  s->Bind(1, *id).Bind(2, agent).Bind(3, seq).Bind(4, resolved.first->id()).Bind(5, r.kind);
  s->Bind(6, *failed ? kFailed : kPending).Bind(7, DumpJson(r.ToJson()));
  s->Bind(8, DumpJson(LimitsJson(limits))).Bind(9, DumpJson(policy.ToJson()));
  if (*failed) {
    s->Bind(10, refused.message());
  } else {
    s->BindNull(10);
  }
  if (r.idempotency_key.empty()) {
    s->BindNull(11);
  } else {
    s->Bind(11, r.idempotency_key);
  }
  s->Bind(12, *failed ? 0 : amount).Bind(13, tick).Bind(14, origin);
  s->Bind(15, int64_t{r.notify ? 1 : 0}).Bind(16, int64_t{1}).Bind(17, now_ms);
  if (*failed) {
    s->Bind(18, now_ms);
  } else {
    s->BindNull(18);
  }
  AGENT9_RETURN_IF_ERROR(s->Run());
  // Keep the last kRetainSessions ended sessions of the agent and every one that ended in the
  // last hour; swept on every 64th submit, not each one.
  if (seq % 64 != 0) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * d, c.Prepare("DELETE FROM container_sessions WHERE agent=? AND seq <= ? AND state IN "
                          "('exited','stopped','failed') AND notified=1 AND ended_at < ?"));
  d->Bind(1, agent).Bind(2, seq - kRetainSessions).Bind(3, now_ms - kRetainSessionMs);
  return d->Run();
}

Result<Json> SessionService::Submit(std::string_view agent, std::string_view request_text) {
  AGENT9_ASSIGN_OR_RETURN(SessionRequest r, SessionRequest::Parse(request_text));
  AGENT9_RETURN_IF_ERROR(Resolve(r).status());
  std::string id, state{kPending};
  bool existing = false, failed = false;
  int64_t max_concurrent = ContainerPolicy::kDefaultMaxConcurrent;
  const int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(int64_t tick, Ledger::CurrentTick(c, agent));
    AGENT9_RETURN_IF_ERROR(Insert(c, agent, tick, now, r, "call", false, &id, &existing, &failed));
    AGENT9_ASSIGN_OR_RETURN(auto p, StoredPolicy(c, agent));
    max_concurrent = p.value_or(ContainerPolicy{}).MaxConcurrent();
    if (existing) {
      AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                              c.Prepare("SELECT state FROM container_sessions WHERE id=?"));
      q->Bind(1, id);
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (row) state = q->Text(0);
      q->Reset();
    }
    return Status::OK();
  }));
  if (!existing) {
    host_->Trace(
        agent,
        Json{{"type", "containers"}, {"op", "submit"}, {"session_id", id}, {"kind", r.kind}});
    {
      std::lock_guard<std::mutex> l(mu_);
      queues_[std::string(agent)].max_concurrent = max_concurrent;
    }
    Enqueue(std::string(agent), id);
  }
  Json j{{"session_id", id},
         {"state", state},
         {"status_path", "containers/sessions/" + id + "/status"},
         {"output_path", "containers/sessions/" + id + "/output"}};
  if (existing) j["existing"] = true;
  return j;
}

Status SessionService::CheckAction(const Json& value) const {
  const Json list = value.is_array() ? value : Json::array({value});
  if (list.empty() || list.size() > kMaxActionSessions) {
    return Status::InvalidArgument("output: run: want 1 to 20 session requests");
  }
  for (const auto& j : list) {
    auto r = SessionRequest::FromJson(j);
    if (!r.ok()) return Status::InvalidArgument("output: run", r.status().message());
    auto res = Resolve(*r);
    if (!res.ok()) return Status(res.status().code(), "output: run: " + res.status().message());
  }
  return Status::OK();
}

Status SessionService::Act(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms,
                           const Json& value) {
  const Json list = value.is_array() ? value : Json::array({value});
  for (const auto& j : list) {
    AGENT9_ASSIGN_OR_RETURN(SessionRequest r, SessionRequest::FromJson(j));
    std::string id;
    bool existing = false, failed = false;
    AGENT9_RETURN_IF_ERROR(
        Insert(c, agent, tick, now_ms, r, "tick", true, &id, &existing, &failed));
    if (existing) continue;
    if (!failed) {
      t_acted.start.emplace_back(std::string(agent), id);
      continue;
    }
    if (!r.notify) continue;
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT reason FROM container_sessions WHERE id=?"));
    q->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    std::string reason = row ? q->Text(0) : "";
    q->Reset();
    Json ev{{"type", "containers.session"},
            {"session_id", id},
            {"state", kFailed},
            {"exit_code", nullptr},
            {"reason", reason},
            {"usage", containers::Usage{}.ToJson()},
            {"stdout_tail", ""},
            {"tag", r.tag}};
    AGENT9_RETURN_IF_ERROR(host_->AddEventInTransaction(c, agent, ev).status());
    t_acted.woken.push_back(std::string(agent));
  }
  return Status::OK();
}

void SessionService::Acted() {
  ActedSessions acted = std::move(t_acted);
  t_acted = ActedSessions{};
  for (auto& started : acted.start) {
    const std::string& agent = started.first;
    const std::string& id = started.second;
    int64_t max_concurrent = ContainerPolicy::kDefaultMaxConcurrent;
    (void)db_->Read([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(auto p, StoredPolicy(c, agent));
      max_concurrent = p.value_or(ContainerPolicy{}).MaxConcurrent();
      return Status::OK();
    });
    {
      std::lock_guard<std::mutex> l(mu_);
      queues_[agent].max_concurrent = max_concurrent;
    }
    Enqueue(agent, id);
  }
  for (auto& agent : acted.woken) host_->EventAdded(agent);
}

void SessionService::Enqueue(const std::string& agent, const std::string& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;  // stays pending; runs after the next start
    queues_[agent].pending.push_back(id);
  }
  Pump(agent);
}

void SessionService::Pump(const std::string& agent) {
  std::vector<std::string> start;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    AgentQueue& q = queues_[agent];
    while (q.running < q.max_concurrent && !q.pending.empty()) {
      start.push_back(std::move(q.pending.front()));
      q.pending.pop_front();
      ++q.running;
      ++threads_;
    }
  }
  for (auto& id : start) {
    std::thread([this, agent, id] {
      Run(LiveFor(id, agent));
      std::lock_guard<std::mutex> l(mu_);
      --queues_[agent].running;
      --threads_;
      idle_cv_.notify_all();
    }).detach();
  }
  // A session that ended frees its slot: its thread calls Pump again (see Run).
}

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
  std::string stream_text;
  {
    uint64_t pos = live->output->Begin();
    std::string buf(64 << 10, '\0');
    for (;;) {
      auto n = live->output->Read(&pos, std::as_writable_bytes(std::span(buf)), 0, nullptr);
      if (!n.ok() || *n == 0) break;
      stream_text.append(buf.data(), *n);
    }
  }
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
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT agent, state, reason, request, result, notify FROM "
                                      "container_sessions WHERE id=? AND notified=0"));
    q->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(found, q->Step());
    if (found) {
      agent = q->Text(0);
      state = q->Text(1);
      reason = q->IsNull(2) ? "" : q->Text(2);
      request = q->Text(3);
      result = q->IsNull(4) ? "" : q->Text(4);
      found = q->Int(5) != 0 || true;
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
