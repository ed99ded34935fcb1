#include "tick/engine.h"

#include <algorithm>
#include <chrono>

#include "fs/agent_config.h"
#include "fs/base/log.h"
#include "fs/base/path.h"
#include "tick/tick_store.h"

namespace agent9 {
namespace {

int64_t MonoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Engine::Engine(Database* db, AgentService* agents, const Clock* clock, const AgentKinds* kinds,
               StreamHub* outbox, StreamHub* trace, EngineOptions opts)
    : db_(db),
      agents_(agents),
      clock_(clock),
      kinds_(kinds),
      outbox_(outbox),
      trace_(trace),
      opts_(opts) {}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  std::vector<std::string> ready;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * s, c.Prepare("SELECT id FROM agents WHERE state = 'active' AND kind != 'none' AND "
                            "(inbox_count > 0 OR init_pending = 1 OR EXISTS (SELECT 1 FROM "
                            "events_in e WHERE e.agent = agents.id))"));
    for (;;) {
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      ready.push_back(s->Text(0));
    }
    return Status::OK();
  }));
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& a : ready) Enqueue(a);
  for (unsigned i = 0; i < std::max(1u, opts_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  alarm_thread_ = std::thread([this] { AlarmLoop(); });
  return Status::OK();
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  alarm_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (alarm_thread_.joinable()) alarm_thread_.join();
  idle_cv_.notify_all();
}

void Engine::Notify(std::string_view agent) {
  std::lock_guard<std::mutex> l(mu_);
  if (stop_) return;
  Enqueue(std::string(agent));
}

void Engine::WakeAlarms() {
  std::lock_guard<std::mutex> l(mu_);
  alarm_poke_ = true;
  alarm_cv_.notify_all();
}

void Engine::AlarmLoop() {
  for (;;) {
    int64_t now = clock_->NowMs();
    std::vector<std::string> due;
    std::optional<int64_t> next;
    Status st = db_->Read([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(Stmt * d,
                              c.Prepare("SELECT DISTINCT a.agent FROM alarms a JOIN agents g ON "
                                        "g.id = a.agent WHERE a.due_at <= ? AND g.state = 'active' "
                                        "AND g.kind != 'none'"));
      d->Bind(1, now);
      for (;;) {
        AGENT9_ASSIGN_OR_RETURN(bool row, d->Step());
        if (!row) break;
        due.push_back(d->Text(0));
      }
      d->Reset();
      AGENT9_ASSIGN_OR_RETURN(Stmt * n,
                              c.Prepare("SELECT min(a.due_at) FROM alarms a JOIN agents g ON "
                                        "g.id = a.agent WHERE a.due_at > ? AND g.state = 'active' "
                                        "AND g.kind != 'none'"));
      n->Bind(1, now);
      AGENT9_ASSIGN_OR_RETURN(bool row, n->Step());
      if (row && !n->IsNull(0)) next = n->Int(0);
      return Status::OK();
    });
    if (!st.ok()) LogError("alarm scan: " + st.ToString());
    std::unique_lock<std::mutex> l(mu_);
    if (stop_) return;
    for (const auto& a : due) Enqueue(a);
    // Due alarms of an agent that is busy are looked at again within a second.
    int64_t wait_ms = 1000;
    if (next) wait_ms = std::clamp<int64_t>(*next - now, 1, 1000);
    alarm_cv_.wait_for(l, std::chrono::milliseconds(wait_ms),
                       [this] { return stop_ || alarm_poke_; });
    alarm_poke_ = false;
    if (stop_) return;
  }
}

Status Engine::RequestTick(std::string_view agent, std::string reason) {
  AGENT9_ASSIGN_OR_RETURN(AgentInfo info, agents_->Get(agent));
  if (!kinds_->Find(info.kind)) {
    return Status::InvalidArgument("agent kind '" + info.kind +
                                   "' runs no ticks; set config.kind first");
  }
  std::lock_guard<std::mutex> l(mu_);
  if (stop_) return Status::Unavailable("the engine is stopping");
  slots_[std::string(agent)].manual.push_back(std::move(reason));
  Enqueue(std::string(agent));
  return Status::OK();
}

void Engine::Enqueue(const std::string& agent) {
  Slot& s = slots_[agent];
  if (s.running) {
    s.again = true;
    return;
  }
  // A failed trigger waits out its backoff; the retry timer queues the agent.
  if (s.queued || s.retry_pending) return;
  s.queued = true;
  ready_.push_back(agent);
  cv_.notify_one();
}

void Engine::DropSlotIfIdle(const std::string& agent) {
  auto it = slots_.find(agent);
  if (it == slots_.end()) return;
  const Slot& s = it->second;
  if (!s.queued && !s.running && !s.retry_pending && s.manual.empty()) slots_.erase(it);
}

bool Engine::WaitIdle(int64_t timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  return idle_cv_.wait_for(l, std::chrono::milliseconds(timeout_ms), [this] {
    for (const auto& [a, s] : slots_) {
      if (s.queued || s.running || s.retry_pending) return false;
    }
    return ready_.empty();
  });
}

void Engine::WorkerLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    int64_t now = MonoMs();
    while (!timers_.empty() && timers_.begin()->first <= now) {
      std::string a = timers_.begin()->second;
      timers_.erase(timers_.begin());
      slots_[a].retry_pending = false;
      Enqueue(a);
    }
    if (stop_) return;
    if (ready_.empty()) {
      if (timers_.empty()) {
        cv_.wait(l);
      } else {
        cv_.wait_for(l, std::chrono::milliseconds(timers_.begin()->first - now));
      }
      continue;
    }
    std::string agent = std::move(ready_.front());
    ready_.pop_front();
    Slot& slot = slots_[agent];
    slot.queued = false;
    slot.running = true;
    slot.again = false;
    std::optional<std::string> manual;
    if (!slot.manual.empty()) {
      manual = std::move(slot.manual.front());
      slot.manual.pop_front();
    }
    l.unlock();
    int64_t retry_ms = 0;
    bool manual_used = false;
    After after = After::kIdle;
    try {
      after = RunOne(agent, manual, &manual_used, &retry_ms);
    } catch (const std::exception& e) {
      LogError("tick of " + agent + " threw: " + e.what());
      after = After::kRetry;
      retry_ms = opts_.retry_max_ms;
    }
    l.lock();
    Slot& s = slots_[agent];
    s.running = false;
    if (manual && !manual_used) s.manual.push_front(std::move(*manual));  // its turn comes later
    switch (after) {
      case After::kMore:
        Enqueue(agent);
        break;
      case After::kRetry:
        s.retry_pending = true;
        timers_.emplace(MonoMs() + retry_ms, agent);
        break;
      case After::kParked:  // manual triggers stay queued until it wakes
        // A wake (or config change) that came while this tick found the agent parked must
        // not be lost: look again.
        if (s.again) Enqueue(agent);
        break;
      case After::kIdle:
        if (s.again || !s.manual.empty()) Enqueue(agent);
        break;
    }
    s.again = false;
    DropSlotIfIdle(agent);
    idle_cv_.notify_all();
  }
}

}  // namespace agent9
