#include "compute/compute_service.h"

#include <algorithm>
#include <chrono>
#include <random>

#include "compute/compute_service_internal.h"
#include "fs/base/log.h"
#include "fs/base/path.h"

namespace agent9::compute {
namespace {

constexpr std::string_view kSchema[] = {
    // 1: jobs. seq orders them (FIFO per provider); notified=0 marks an ended job whose event
    // has not reached its agent yet (sent again at the next start).
    R"sql(
CREATE TABLE compute_jobs(
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  request TEXT NOT NULL,
  result TEXT,
  stream TEXT,
  error TEXT,
  attempts INTEGER NOT NULL,
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
CREATE UNIQUE INDEX compute_jobs_seq ON compute_jobs(seq);
CREATE INDEX compute_jobs_agent ON compute_jobs(agent, seq);
CREATE INDEX compute_jobs_idem ON compute_jobs(agent, idempotency_key);
CREATE INDEX compute_jobs_state ON compute_jobs(state);
CREATE INDEX compute_jobs_unnotified ON compute_jobs(notified) WHERE notified = 0;
)sql",
};

constexpr int64_t kRetainJobs = 1000;         // ended jobs kept per agent...
constexpr int64_t kRetainJobMs = 3'600'000;   // ...and every job that ended in the last hour
constexpr size_t kMaxActionJobs = 100;        // jobs one tick may submit
constexpr size_t kMaxEventResult = 64 << 10;  // results larger than this stay out of events

std::string NewJobId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  uint64_t v = rng();
  std::string id = "j";
  for (int i = 0; i < 16; ++i) id += kHex[(v >> (i * 4)) & 15];
  return id;
}

std::string HoldId(std::string_view job) { return "compute:" + std::string(job); }

// The `event` trigger a job's end raises for its agent (docs/COMPUTE.md).
Json JobEvent(const std::string& id, const std::string& state, const std::string& provider,
              const std::string& model, const Json& tag, const Json& result,
              const std::string& error) {
  Json ev{{"type", "compute.job"},
          {"job_id", id},
          {"state", state},
          {"provider", provider},
          {"model", model},
          {"tag", tag},
          {"result_path", "compute/jobs/" + id + "/result"}};
  if (!result.is_null()) ev["result"] = result;
  if (!error.empty()) ev["error"] = error;
  return ev;
}

int64_t MonoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Jobs a tick's Act inserted, started by Acted on the same thread after the commit. An id
// whose transaction rolled back finds no row and is skipped.
struct ActedJobs {
  std::vector<std::pair<std::string, void*>> start;  // id, lane
  std::vector<std::string> woken;                    // agents given an event
};
thread_local ActedJobs t_acted;

}  // namespace

ComputeService::ComputeService(Database* db, const Clock* clock, AgentHost* host,
                               ComputeConfig config,
                               std::vector<std::unique_ptr<Provider>> providers)
    : db_(db),
      clock_(clock),
      host_(host),
      config_(std::move(config)),
      providers_(std::move(providers)) {
  for (const auto& p : providers_) {
    auto lane = std::make_unique<Lane>();
    lane->provider = p.get();
    lane->max_workers = std::max<int64_t>(1, p->config().max_concurrent);
    lanes_.push_back(std::move(lane));
  }
}

ComputeService::~ComputeService() { Stop(); }

Status ComputeService::Migrate(Database& db) {
  AGENT9_RETURN_IF_ERROR(Ledger::Migrate(db));
  return db.Migrate("compute", kSchema);
}

Provider* ComputeService::FindProvider(std::string_view id) const {
  for (const auto& p : providers_) {
    if (p->config().id == id) return p.get();
  }
  return nullptr;
}

Result<ComputeService::Resolved> ComputeService::Resolve(const JobRequest& r) const {
  if (lanes_.empty()) {
    return Status::Unavailable(
        "no compute provider is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL), "
        "ANTHROPIC_API_KEY, run Ollama on 127.0.0.1:11434, or add [[compute.providers]] to the "
        "runtime config (docs/COMPUTE.md)");
  }
  auto model_in = [&](const Lane& l) -> const ModelConfig* {
    for (const auto& m : l.provider->config().models) {
      if (m.id == r.model) return &m;
    }
    return nullptr;
  };
  if (!r.provider.empty()) {
    for (const auto& l : lanes_) {
      if (l->provider->config().id != r.provider) continue;
      if (const ModelConfig* m = model_in(*l)) return Resolved{l.get(), *m};
      if (!l->provider->config().models.empty()) {
        return Status::InvalidArgument("job: model '" + r.model + "' is not offered by provider",
                                       r.provider);
      }
      return Resolved{l.get(), ModelConfig{r.model, 0, 0}};  // a provider with no price list
    }
    return Status::InvalidArgument("job: provider: no such provider", r.provider);
  }
  for (const auto& l : lanes_) {
    if (const ModelConfig* m = model_in(*l)) return Resolved{l.get(), *m};
  }
  for (const auto& l : lanes_) {
    if (l->provider->config().models.empty()) return Resolved{l.get(), ModelConfig{r.model, 0, 0}};
  }
  return Status::InvalidArgument("job: model: no provider offers '" + r.model + "'");
}

Json ComputeService::SubmitAnswer(const std::string& id, const std::string& state,
                                  bool existing) const {
  std::string base = "compute/jobs/" + id + "/";
  Json j{{"job_id", id},
         {"status", state},
         {"status_path", base + "status"},
         {"result_path", base + "result"},
         {"stream_path", base + "stream"}};
  if (existing) j["existing"] = true;
  return j;
}

Status ComputeService::Insert(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms,
                              const JobRequest& r, const Resolved& res, const std::string& origin,
                              bool refuse_as_failed, std::string* id, bool* existing,
                              bool* failed) {
  *existing = false;
  *failed = false;
  if (!r.idempotency_key.empty()) {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT id FROM compute_jobs WHERE agent=? AND idempotency_key=?"));
    q->Bind(1, agent).Bind(2, r.idempotency_key);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) *id = q->Text(0);
    q->Reset();
    if (row) {
      *existing = true;
      return Status::OK();
    }
  }
  *id = NewJobId();
  AGENT9_ASSIGN_OR_RETURN(BudgetPolicy policy, Ledger::GetPolicy(c, agent));
  int64_t amount = r.max_cost_usd                ? *r.max_cost_usd
                   : policy.default_max_cost_usd ? *policy.default_max_cost_usd
                                                 : config_.default_max_cost_usd;
  const std::string& provider = res.lane->provider->config().id;
  Status refused = policy.Allows(provider, r.model);
  if (refused.ok()) {
    refused = Ledger::Reserve(
        c, Hold{HoldId(*id), std::string(agent), "compute", tick, amount, now_ms}, policy);
  }
  if (!refused.ok() && !(refuse_as_failed && (refused.code() == Code::kBudgetExceeded ||
                                              refused.code() == Code::kPermissionDenied))) {
    return refused;
  }
  *failed = !refused.ok();
  AGENT9_ASSIGN_OR_RETURN(Stmt * m,
                          c.Prepare("SELECT coalesce(max(seq), 0) + 1 FROM compute_jobs"));
  AGENT9_ASSIGN_OR_RETURN(bool mrow, m->Step());
  int64_t seq = mrow ? m->Int(0) : 1;
  m->Reset();
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * s,
      c.Prepare("INSERT INTO compute_jobs(id, agent, seq, provider, model, kind, state, request, "
                "error, attempts, idempotency_key, reserved, tick, origin, notify, notified, "
                "created_at, ended_at) VALUES(?,?,?,?,?,?,?,?,?,0,?,?,?,?,?,?,?,?)"));
  s->Bind(1, *id).Bind(2, agent).Bind(3, seq).Bind(4, provider).Bind(5, r.model).Bind(6, r.kind);
  s->Bind(7, *failed ? kFailed : kPending).Bind(8, DumpJson(r.ToJson()));
  if (*failed) {
    s->Bind(9, refused.message());
  } else {
    s->BindNull(9);
  }
  if (r.idempotency_key.empty()) {
    s->BindNull(10);
  } else {
    s->Bind(10, r.idempotency_key);
  }
  s->Bind(11, *failed ? 0 : amount).Bind(12, tick).Bind(13, origin);
  s->Bind(14, int64_t{r.notify ? 1 : 0});
  s->Bind(15, int64_t{1}).Bind(16, now_ms);  // a refused job's event is the caller's to add
  if (*failed) {
    s->Bind(17, now_ms);
  } else {
    s->BindNull(17);
  }
  AGENT9_RETURN_IF_ERROR(s->Run());
  // Keep the last kRetainJobs ended jobs of the agent, and every job that ended in the last
  // hour: a job is never gone before its submitter had time to read it, however many follow.
  // The sweep reads the agent's older jobs, so it runs on every 256th submit, not each one.
  if (seq % 256 != 0) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(
      Stmt * d, c.Prepare("DELETE FROM compute_jobs WHERE agent=? AND seq <= ? AND state IN "
                          "('complete','failed','cancelled') AND notified=1 AND ended_at < ?"));
  d->Bind(1, agent).Bind(2, seq - kRetainJobs).Bind(3, now_ms - kRetainJobMs);
  return d->Run();
}

Result<Json> ComputeService::Submit(std::string_view agent, std::string_view request_text) {
  AGENT9_ASSIGN_OR_RETURN(JobRequest r, JobRequest::Parse(request_text, config_.max_request_bytes));
  AGENT9_ASSIGN_OR_RETURN(Resolved res, Resolve(r));
  std::string id, state = kPending;
  bool existing = false, failed = false;
  int64_t now = clock_->NowMs();
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(int64_t tick, Ledger::CurrentTick(c, agent));
    AGENT9_RETURN_IF_ERROR(
        Insert(c, agent, tick, now, r, res, "call", false, &id, &existing, &failed));
    if (existing) {
      AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare("SELECT state FROM compute_jobs WHERE id=?"));
      q->Bind(1, id);
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (row) state = q->Text(0);
      q->Reset();
    }
    return Status::OK();
  }));
  if (!existing) {
    host_->Trace(agent, Json{{"type", "compute"},
                             {"op", "submit"},
                             {"job_id", id},
                             {"provider", res.lane->provider->config().id},
                             {"model", r.model}});
    LiveFor(id, std::string(agent));
    Enqueue(id, res.lane);
  }
  return SubmitAnswer(id, state, existing);
}

Status ComputeService::CheckAction(const Json& value) const {
  const Json list = value.is_array() ? value : Json::array({value});
  if (list.empty() || list.size() > kMaxActionJobs) {
    return Status::InvalidArgument("output: compute: want 1 to 100 job requests");
  }
  for (const auto& j : list) {
    auto r = JobRequest::FromJson(j);
    if (!r.ok()) return Status::InvalidArgument("output: compute", r.status().message());
    auto res = Resolve(*r);
    if (!res.ok()) return Status(res.status().code(), "output: compute: " + res.status().message());
  }
  return Status::OK();
}

Status ComputeService::Act(Conn& c, std::string_view agent, int64_t tick, int64_t now_ms,
                           const Json& value) {
  const Json list = value.is_array() ? value : Json::array({value});
  for (const auto& j : list) {
    AGENT9_ASSIGN_OR_RETURN(JobRequest r, JobRequest::FromJson(j));
    AGENT9_ASSIGN_OR_RETURN(Resolved res, Resolve(r));
    std::string id;
    bool existing = false, failed = false;
    AGENT9_RETURN_IF_ERROR(
        Insert(c, agent, tick, now_ms, r, res, "tick", true, &id, &existing, &failed));
    if (existing) continue;
    if (failed) {
      if (r.notify) {  // its event commits with the tick
        std::string error;
        AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare("SELECT error FROM compute_jobs WHERE id=?"));
        q->Bind(1, id);
        AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
        if (row) error = q->Text(0);
        q->Reset();
        Json ev =
            JobEvent(id, kFailed, res.lane->provider->config().id, r.model, r.tag, Json(), error);
        AGENT9_RETURN_IF_ERROR(host_->AddEventInTransaction(c, agent, ev).status());
        t_acted.woken.push_back(std::string(agent));
      }
    } else {
      t_acted.start.emplace_back(id, res.lane);
    }
  }
  return Status::OK();
}

void ComputeService::Acted() {
  ActedJobs acted = std::move(t_acted);
  t_acted = ActedJobs{};
  for (auto& [id, lane] : acted.start) Enqueue(id, static_cast<Lane*>(lane));
  for (auto& agent : acted.woken) host_->EventAdded(agent);
}

std::shared_ptr<ComputeService::Live> ComputeService::LiveFor(const std::string& id,
                                                              const std::string& agent) {
  std::lock_guard<std::mutex> l(mu_);
  auto& live = live_[id];
  if (!live) {
    live = std::make_shared<Live>();
    live->agent = agent;
  }
  return live;
}

void ComputeService::Enqueue(const std::string& id, Lane* lane) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;  // stays pending; runs after the next start
  lane->queue.push_back(id);
  if (lane->idle == 0 && static_cast<int64_t>(lane->workers.size()) < lane->max_workers) {
    lane->workers.emplace_back([this, lane] { WorkerLoop(lane); });
  } else {
    lane->cv.notify_one();
  }
}

void ComputeService::WorkerLoop(Lane* lane) {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    ++lane->idle;
    lane->cv.wait(l, [&] { return stopping_ || !lane->queue.empty(); });
    --lane->idle;
    if (stopping_) return;
    std::string id = std::move(lane->queue.front());
    lane->queue.pop_front();
    l.unlock();
    lane->running.fetch_add(1);
    RunJob(id, lane);
    lane->running.fetch_sub(1);
    l.lock();
  }
}

void ComputeService::RunJob(const std::string& id, Lane* lane) {
  Provider* p = lane->provider;
  const int64_t start = clock_->NowMs();
  std::string agent, model_id, state;
  Json request;
  int64_t reserved = 0;
  // Claim: pending → running (a cancelled or vanished job is skipped).
  Status st = db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT agent, model, state, request, reserved FROM compute_jobs "
                            "WHERE id=?"));
    q->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    if (row) {
      agent = q->Text(0);
      model_id = q->Text(1);
      state = q->Text(2);
      reserved = q->Int(4);
      auto j = ParseJson(q->Text(3));
      if (j.ok()) request = std::move(j).value();
    }
    q->Reset();
    if (!row || state != kPending) return Status::OK();
    AGENT9_ASSIGN_OR_RETURN(Stmt * u,
                            c.Prepare("UPDATE compute_jobs SET state='running', started_at=?, "
                                      "attempts=1 WHERE id=?"));
    u->Bind(1, start).Bind(2, id);
    return u->Run();
  });
  if (!st.ok()) {
    LogError("compute: claiming job " + id + ": " + st.ToString());
    return;
  }
  if (state != kPending) return;
  std::shared_ptr<Live> live = LiveFor(id, agent);
  auto req = JobRequest::FromJson(request);
  if (!req.ok()) {
    Finish(id, agent, kFailed, nullptr, "stored request unreadable: " + req.status().message(), 0);
    return;  // NOLINT
  }
  ModelConfig model{model_id, 0, 0};
  for (const auto& m : p->config().models) {
    if (m.id == model_id) model = m;
  }
  JobSpec spec;
  spec.kind = req->kind;
  spec.model = req->model;
  spec.input = req->input;
  spec.stream = req->stream;
  spec.max_output_tokens = req->max_output_tokens;
  // Keep the answer inside the reservation: no more output tokens than what is left of it
  // once the (over-)estimated input is paid for.
  if (model.output_micro_per_mtok > 0 && req->kind == "chat") {
    int64_t in_cost = CostMicro(model, EstimateInputTokens(*req), 0);
    __int128 left = static_cast<__int128>(std::max<int64_t>(reserved - in_cost, 0)) * 1'000'000 /
                    model.output_micro_per_mtok;
    int64_t cap = static_cast<int64_t>(std::min<__int128>(left, 10'000'000));
    cap = std::max<int64_t>(cap, 1);
    spec.max_output_tokens = spec.max_output_tokens ? std::min(spec.max_output_tokens, cap) : cap;
  }
  const int64_t timeout = req->timeout_ms ? req->timeout_ms : p->config().timeout_ms;
  const int64_t deadline = MonoMs() + timeout;
  auto on_delta = [&](const Delta& d) {
    live->streaming.store(true);
    Json line = Json::object();
    if (!d.text.empty()) line["delta"]["text"] = d.text;
    if (!d.tool_calls.is_null()) line["delta"]["tool_calls"] = d.tool_calls;
    if (!line.empty()) live->stream->Append(DumpJson(line) + "\n");
  };
  std::mt19937_64 rng{std::random_device{}()};
  Attempt a;
  for (int64_t attempt = 1;; ++attempt) {
    spec.timeout_ms = deadline - MonoMs();
    if (spec.timeout_ms <= 0) {
      a.status = Status(Code::kDeadlineExceeded, "timeout");
      break;
    }
    a = p->Run(spec, on_delta, live->cancel);
    if (a.status.ok() || live->cancel.load()) break;
    if (!a.retryable || a.streamed || attempt > config_.max_retries) break;
    int64_t backoff =
        std::min(config_.retry_max_ms, config_.retry_base_ms << std::min<int64_t>(attempt - 1, 20));
    backoff = backoff / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(backoff / 2 + 1));
    int64_t wait = std::max(backoff, a.retry_after_ms);
    if (MonoMs() + wait >= deadline) break;  // no time left for another attempt
    host_->Trace(agent, Json{{"type", "compute"},
                             {"op", "retry"},
                             {"job_id", id},
                             {"attempt", attempt + 1},
                             {"after_ms", wait},
                             {"reason", a.status.message()}});
    retries_.fetch_add(1);
    for (int64_t until = MonoMs() + wait; MonoMs() < until && !live->cancel.load();) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::min<int64_t>(20, until - MonoMs())));
    }
    if (live->cancel.load()) break;
    (void)db_->Write([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(Stmt * u, c.Prepare("UPDATE compute_jobs SET attempts=? WHERE id=?"));
      u->Bind(1, attempt + 1).Bind(2, id);
      return u->Run();
    });
  }
  const int64_t latency = clock_->NowMs() - start;
  if (a.status.ok()) {
    int64_t cost = CostMicro(model, a.output.input_tokens, a.output.output_tokens);
    Json output;
    if (req->kind == "embeddings") {
      output = Json{{"vectors", a.output.vectors}};
    } else {
      output = Json{{"text", a.output.text}, {"finish_reason", a.output.finish_reason}};
      if (!a.output.tool_calls.is_null()) output["tool_calls"] = a.output.tool_calls;
      if (!req->stream && !a.output.text.empty()) {
        live->stream->Append(DumpJson(Json{{"delta", {{"text", a.output.text}}}}) + "\n");
      }
    }
    Json result{
        {"job_id", id},
        {"provider", p->config().id},
        {"model", req->model},
        {"output", std::move(output)},
        {"usage",
         {{"input_tokens", a.output.input_tokens}, {"output_tokens", a.output.output_tokens}}},
        {"cost_usd", std::min(cost, reserved)},
        {"latency_ms", latency}};
    if (cost > reserved) result["unbilled_usd"] = cost - reserved;
    Finish(id, agent, kComplete, result, "", cost);
    return;
  }
  bool stopping;
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping = stopping_;
  }
  if (live->cancel.load() && !stopping) {
    Finish(id, agent, kCancelled, nullptr, "cancelled", 0);
  } else if (stopping) {
    Finish(id, agent, kFailed, nullptr, "interrupted: the daemon stopped while the job ran", 0);
  } else {
    std::string why = a.status.code() == Code::kDeadlineExceeded
                          ? "timeout after " + std::to_string(timeout) + " ms"
                          : a.status.message();
    if (a.http_status && why.find("HTTP") == std::string::npos) {
      why = "HTTP " + std::to_string(a.http_status) + ": " + why;
    }
    Finish(id, agent, kFailed, nullptr, why, 0);
  }
}

bool ComputeService::Finish(const std::string& id, const std::string& agent,
                            const std::string& state, const Json& result, const std::string& error,
                            int64_t cost, bool pending_only) {
  std::shared_ptr<Live> live = LiveFor(id, agent);
  const int64_t now = clock_->NowMs();
  Json last = state == kComplete ? Json{{"result", result}}
                                 : Json{{"error", {{"state", state}, {"message", error}}}};
  std::string final_line = DumpJson(last) + "\n";
  // A job whose end wakes nobody (notify false, or an agent of kind none) is marked notified
  // in the finishing transaction: no event, and no further write.
  bool wakes = true;
  if (auto cfg = host_->AgentConfigJson(agent); cfg.ok()) {
    wakes = cfg->value("kind", "none") != "none";
  }
  // What readers saw so far plus the last line: the stored stream.
  std::string stream = live->stream->Retained();
  stream += final_line;
  bool done = false, event_added = false;
  const std::string result_text = result.is_null() ? "" : DumpJson(result);
  Status st = db_->Write([&](Conn& c) -> Status {
    event_added = false;
    // The job's end, its money and its event commit together: one fsync, and a crash loses
    // or doubles none of them.
    AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare("SELECT model, provider, notify, request FROM "
                                                "compute_jobs WHERE id=? AND state IN "
                                                "('pending', ?, ?)"));
    q->Bind(1, id).Bind(2, pending_only ? kPending : kRunning);
    q->Bind(3, pending_only ? kPending : kStreaming);
    AGENT9_ASSIGN_OR_RETURN(done, q->Step());
    std::string model = done ? q->Text(0) : "", provider = done ? q->Text(1) : "";
    bool notify = done && q->Int(2) != 0;
    std::string request = done ? q->Text(3) : "";
    q->Reset();
    if (!done) return Status::OK();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * u, c.Prepare("UPDATE compute_jobs SET state=?, result=?, stream=?, error=?, cost=?, "
                            "ended_at=?, notified=1 WHERE id=?"));
    u->Bind(1, state);
    if (result.is_null()) {
      u->BindNull(2);
    } else {
      u->Bind(2, result_text);
    }
    u->Bind(3, stream);
    if (error.empty()) {
      u->BindNull(4);
    } else {
      u->Bind(4, error);
    }
    u->Bind(5, result.is_null() ? 0 : result.value("cost_usd", int64_t{0}));
    u->Bind(6, now).Bind(7, id);
    AGENT9_RETURN_IF_ERROR(u->Run());
    AGENT9_RETURN_IF_ERROR(
        Ledger::Settle(c, HoldId(id), state == kComplete ? cost : 0, now).status());
    if (!wakes || !notify) return Status::OK();
    auto req = ParseJson(request);
    Json ev = JobEvent(id, state, provider, model, req.ok() ? req->value("tag", Json()) : Json(),
                       result_text.size() <= kMaxEventResult ? result : Json(), error);
    AGENT9_RETURN_IF_ERROR(host_->AddEventInTransaction(c, agent, ev).status());
    event_added = true;
    return Status::OK();
  });
  if (!st.ok()) LogError("compute: finishing job " + id + ": " + st.ToString());
  if (!done && pending_only) return false;  // its worker has it now
  live->stream->Append(final_line);
  live->stream->Close();
  {
    std::lock_guard<std::mutex> l(mu_);
    live_.erase(id);
  }
  if (!done) return false;
  (state == kComplete ? completed_ : state == kCancelled ? cancelled_ : failed_).fetch_add(1);
  host_->Trace(agent, Json{{"type", "compute"},
                           {"op", "end"},
                           {"job_id", id},
                           {"state", state},
                           {"error", error.empty() ? Json(nullptr) : Json(error)}});
  if (event_added) host_->EventAdded(agent);
  return true;
}

void ComputeService::Notify(const std::string& id) {
  std::string agent, state, error, model, provider;
  Json request, result, tag;
  bool found = false;
  Status st = db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT agent, state, error, request, result, model, provider FROM "
                            "compute_jobs WHERE id=? AND notified=0"));
    q->Bind(1, id);
    AGENT9_ASSIGN_OR_RETURN(found, q->Step());
    if (found) {
      agent = q->Text(0);
      state = q->Text(1);
      error = q->IsNull(2) ? "" : q->Text(2);
      auto r = ParseJson(q->Text(3));
      if (r.ok()) request = std::move(r).value();
      if (!q->IsNull(4) && q->Text(4).size() <= kMaxEventResult) {
        auto res = ParseJson(q->Text(4));
        if (res.ok()) result = std::move(res).value();
      }
      model = q->Text(5);
      provider = q->Text(6);
    }
    q->Reset();
    return Status::OK();
  });
  if (!st.ok() || !found || !IsFinal(state)) return;
  bool send = request.value("notify", true);
  if (send) {
    auto config = host_->AgentConfigJson(agent);
    send = config.ok() && config->value("kind", "none") != "none";
  }
  if (send) {
    Json ev = JobEvent(id, state, provider, model, request.value("tag", Json()), result, error);
    auto r = host_->AddEvent(agent, ev);
    if (!r.ok()) {
      LogError("compute: event for job " + id + ": " + r.status().ToString());
      return;  // sent again at the next start
    }
  }
  (void)db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * u, c.Prepare("UPDATE compute_jobs SET notified=1 WHERE id=?"));
    u->Bind(1, id);
    return u->Run();
  });
}

Status ComputeService::Start() {
  const int64_t now = clock_->NowMs();
  std::vector<std::string> ended, pending;
  std::vector<std::string> pending_provider, pending_agent;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * q, c.Prepare("SELECT id FROM compute_jobs WHERE state IN ('running','streaming')"));
    std::vector<std::string> cut;
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      cut.push_back(q->Text(0));
    }
    q->Reset();
    for (const auto& id : cut) {
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * u, c.Prepare("UPDATE compute_jobs SET state='failed', error=?, ended_at=?, "
                              "notified=0 WHERE id=?"));
      u->Bind(1, "interrupted: the daemon stopped while the job ran").Bind(2, now).Bind(3, id);
      AGENT9_RETURN_IF_ERROR(u->Run());
      AGENT9_RETURN_IF_ERROR(Ledger::Release(c, HoldId(id), now));
    }
    return Status::OK();
  }));
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare("SELECT id FROM compute_jobs WHERE notified=0"));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ended.push_back(q->Text(0));
    }
    q->Reset();
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * p, c.Prepare("SELECT id, provider, agent FROM compute_jobs WHERE state='pending' "
                            "ORDER BY seq"));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, p->Step());
      if (!row) break;
      pending.push_back(p->Text(0));
      pending_provider.push_back(p->Text(1));
      pending_agent.push_back(p->Text(2));
    }
    p->Reset();
    return Status::OK();
  }));
  for (const auto& id : ended) Notify(id);
  for (size_t i = 0; i < pending.size(); ++i) {
    Lane* lane = nullptr;
    for (const auto& l : lanes_) {
      if (l->provider->config().id == pending_provider[i]) lane = l.get();
    }
    if (!lane) {  // its provider is gone from the config
      Finish(pending[i], pending_agent[i], kFailed, nullptr,
             "provider '" + pending_provider[i] + "' is no longer configured", 0);
      continue;
    }
    LiveFor(pending[i], pending_agent[i]);
    Enqueue(pending[i], lane);
  }
  return Status::OK();
}

void ComputeService::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, live] : live_) live->cancel.store(true);
  }
  for (auto& lane : lanes_) {
    lane->cv.notify_all();
    for (auto& t : lane->workers) t.join();
    lane->workers.clear();
  }
}

Status ComputeService::Cancel(std::string_view agent, std::string_view job_id) {
  AGENT9_ASSIGN_OR_RETURN(Row row, LoadRow(agent, job_id));
  if (IsFinal(row.state)) {
    return Status::Aborted("job already ended", row.state);
  }
  std::string id(job_id);
  // Not started: end it here (a worker that picks it up later skips it). If its worker
  // claimed it meanwhile, the cancel flag below stops the attempt.
  if (row.state == kPending && Finish(id, row.agent, kCancelled, nullptr, "cancelled", 0, true)) {
    return Status::OK();
  }
  std::lock_guard<std::mutex> l(mu_);
  auto it = live_.find(id);
  if (it != live_.end()) it->second->cancel.store(true);
  return Status::OK();
}

}  // namespace agent9::compute
