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
  struct Start {
    std::string agent, id;
    int64_t max_concurrent = 0;  // the agent's policy's, as the tick's transaction read it
  };
  std::vector<Start> start;
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
                              bool refuse_as_failed, std::string* id, bool* existing, bool* failed,
                              int64_t* max_concurrent) {
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
  *max_concurrent = policy.MaxConcurrent();
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
    AGENT9_RETURN_IF_ERROR(
        Insert(c, agent, tick, now, r, "call", false, &id, &existing, &failed, &max_concurrent));
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
    int64_t max_concurrent = 0;
    AGENT9_RETURN_IF_ERROR(
        Insert(c, agent, tick, now_ms, r, "tick", true, &id, &existing, &failed, &max_concurrent));
    if (existing) continue;
    if (!failed) {
      t_acted.start.push_back({std::string(agent), id, max_concurrent});
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
    {
      std::lock_guard<std::mutex> l(mu_);
      queues_[started.agent].max_concurrent = started.max_concurrent;
    }
    Enqueue(started.agent, started.id);
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

}  // namespace agent9::containers
