// Engine::RunOne: the eight phases of one tick.
#include <chrono>
#include <map>

#include "fs/base/log.h"
#include "fs/base/path.h"
#include "tick/agent_docs.h"
#include "tick/alarms.h"
#include "tick/engine.h"
#include "tick/inbox.h"
#include "tick/tick_record.h"
#include "tick/tick_store.h"

namespace agent9 {
namespace {

int64_t MonoUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

constexpr const char* kPhases[] = {"wake", "load",     "perceive", "think",
                                   "act",  "remember", "schedule", "sleep"};

// Phase timer: Mark(i) closes phase i.
class PhaseClock {
 public:
  explicit PhaseClock(int64_t start_us) : last_(start_us) {}
  void Mark(int i) {
    int64_t now = MonoUs();
    us_[i] = now - last_;
    last_ = now;
  }
  Json ToJson() const {
    Json j = Json::object();
    for (int i = 0; i < 8; ++i) j[kPhases[i]] = us_[i];
    return j;
  }

 private:
  int64_t last_;
  int64_t us_[8] = {};
};

}  // namespace

Engine::After Engine::RunOne(const std::string& agent, const std::optional<std::string>& manual,
                             bool* manual_used, int64_t* retry_ms) {
  const int64_t start_us = MonoUs();
  const int64_t now = clock_->NowMs();
  PhaseClock phases(start_us);
  phases.Mark(0);  // WAKE: taken off the ready queue

  // LOAD
  auto loaded = LoadWork(db_, agent, now, &agents_->modules());
  if (!loaded.ok()) {
    LogError("tick load of " + agent + ": " + loaded.status().ToString());
    *retry_ms = opts_.retry_max_ms;
    return After::kRetry;
  }
  if (!*loaded) return After::kIdle;  // deleted
  Work& w = **loaded;
  std::shared_ptr<Agent> impl = kinds_->Find(w.kind);
  if (w.state != "active" || !impl) return After::kParked;
  const TriggerKind trigger = PickTrigger(w, manual.has_value());
  if (trigger == TriggerKind::kNone) return After::kIdle;
  phases.Mark(1);

  // PERCEIVE
  TickInput in;
  in.agent_id = agent;
  // Moved: from here on the tick reads them from `in`.
  in.agent = std::move(w.agent);
  in.tick = w.tick_count + 1;
  in.now_ms = now;
  in.state = std::move(w.state_json);
  in.config = std::move(w.config);
  // What the kind reads of its memory files, kept for replay.
  std::map<std::string, Json> memory_reads;
  in.read_memory = [this, &agent, &memory_reads](std::string_view path,
                                                 size_t max_tail) -> Result<std::string> {
    std::string body;
    Status st = db_->Read([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(body, ReadMemoryDoc(c, agent, path));
      return Status::OK();
    });
    if (st.ok()) {
      body = std::string(TailLines(body, max_tail));
      memory_reads[std::string(path)] = body;
      return body;
    }
    if (st.code() == Code::kNotFound) memory_reads[std::string(path)] = nullptr;
    return st;
  };
  const std::string cause = TriggerName(trigger);
  Json trigger_summary;
  switch (trigger) {
    case TriggerKind::kInit:
      in.trigger = Json{{"type", "init"}};
      trigger_summary = Json{{"type", "init"}, {"attempt", w.init_attempts + 1}};
      break;
    case TriggerKind::kMessage:
      in.trigger = Json{{"type", "message"}, {"seq", w.seq}, {"message", w.message}};
      trigger_summary = Json{{"type", "message"},
                             {"seq", w.seq},
                             {"message_id", w.message.value("id", "")},
                             {"from", w.message.value("from", "")},
                             {"attempt", w.attempts + 1}};
      break;
    case TriggerKind::kEvent:
      in.trigger = Json{{"type", "event"}, {"seq", w.event_seq}, {"event", w.event}};
      trigger_summary = Json{{"type", "event"},
                             {"seq", w.event_seq},
                             {"event_type", w.event.value("type", "")},
                             {"attempt", w.event_attempts + 1}};
      break;
    case TriggerKind::kAlarm:
      in.trigger = Json{{"type", "alarm"},
                        {"id", w.alarm_id},
                        {"due_at", Rfc3339(w.alarm_due)},
                        {"payload", w.alarm_payload}};
      trigger_summary = Json{{"type", "alarm"},
                             {"id", w.alarm_id},
                             {"due_at", Rfc3339(w.alarm_due)},
                             {"attempt", w.alarm_attempts + 1}};
      break;
    case TriggerKind::kManual:
    case TriggerKind::kNone:
      *manual_used = true;
      in.trigger = Json{{"type", "manual"}, {"reason", *manual}};
      trigger_summary = in.trigger;
      break;
  }
  const bool is_message = trigger == TriggerKind::kMessage;
  phases.Mark(2);

  // THINK
  Result<TickOutput> out = Status::Internal("no output");
  try {
    out = impl->Tick(in);
  } catch (const std::exception& e) {
    out = Status::Internal("agent threw", e.what());
  }
  phases.Mark(3);

  // ACT: turn the output into effects, checking every target before anything is written.
  std::vector<std::string> events;
  std::vector<std::pair<std::string, Envelope>> sends;
  // Sends to addresses a module delivers (npub1...: fs/module.h), taken in REMEMBER.
  struct Routed {
    Module* module;
    std::string to;
    Envelope env;
  };
  std::vector<Routed> routed;
  std::vector<std::pair<Module*, std::string>> actors;  // the module taking each action
  const Modules& modules = agents_->modules();
  Status act = out.ok() ? Status::OK() : out.status();
  if (act.ok()) {
    for (const auto& e : out->emit) events.push_back(DumpJson(e));
    for (const auto& s : out->send) {
      if (Module* m = modules.RouterFor(s.to)) {
        routed.push_back(Routed{
            m, s.to, Envelope{RandomHexId(), false, agent, now, s.body, s.reply_to, nullptr}});
        continue;
      }
      if (!ValidateAgentId(s.to).ok()) {
        act = Status::InvalidArgument("send to a bad agent id", s.to);
        break;
      }
      Envelope env;
      env.id = RandomHexId();
      env.from = agent;
      env.ts_ms = now;
      env.body = s.body;
      env.reply_to = s.reply_to;
      env.sender = in.agent;  // the receiving agent learns who sent it: id, pubkey, npub
      sends.emplace_back(s.to, std::move(env));
    }
    for (const auto& [key, value] : out->actions) {
      Module* m = modules.ActorFor(key);
      act = m ? m->CheckAction(key, value) : Status::InvalidArgument("output: unknown field", key);
      if (!act.ok()) break;
      actors.emplace_back(m, key);
    }
    for (size_t i = 0; act.ok() && i < out->memory_append.size(); ++i) {
      act = CheckMemoryAppend(out->memory_append[i].path, out->memory_append[i].data);
    }
    if (act.ok() && out->reply && is_message) {
      std::string to = w.message.value("from", "");
      Envelope env;
      env.id = RandomHexId();
      env.from = agent;
      env.ts_ms = now;
      env.body = *out->reply;
      env.reply_to = w.message.value("id", "");
      if (Module* m = modules.RouterFor(to)) {
        routed.push_back(Routed{m, to, std::move(env)});
      } else if (ValidateAgentId(to).ok() && to != agent) {
        env.sender = in.agent;
        sends.emplace_back(to, std::move(env));  // a local agent, if it exists (checked below)
      } else {
        events.push_back(DumpJson(Json{
            {"type", "reply"}, {"to", to}, {"in_reply_to", env.reply_to}, {"body", env.body}}));
      }
    }
  }
  phases.Mark(4);

  // REMEMBER: one transaction, or only the failure record.
  Json record{{"tick", in.tick},
              {"agent", agent},
              {"trigger", trigger_summary},
              {"started_at", Rfc3339(now)}};
  size_t delivered = 0;              // messages that landed in a local agent's inbox
  std::vector<std::string> to_wake;  // those agents that can tick (EnqueueResult::runnable)
  std::vector<std::string> committed_events;
  Status commit = act;
  // What the write stores, made before it: the callback runs inside the serial commit (one
  // writer for every agent), so the JSON is dumped here, in parallel with other ticks.
  std::string state_text, input_text, output_text;
  if (commit.ok()) {
    state_text = DumpJson(out->state ? *out->state : in.state);
    if (in.config.retain_replay > 0) {
      input_text = DumpJson(TickInputToJson(in, memory_reads));
      output_text = DumpJson(TickOutputToJson(*out));
    }
    // The trajectory record, but for what only the write knows (effects, phases, duration).
    Json ok = record;
    ok["result"] = "ok";
    ok["error"] = nullptr;
    commit = db_->Write([&](Conn& c) -> Status {
      delivered = 0;
      to_wake.clear();
      committed_events.clear();
      AGENT9_ASSIGN_OR_RETURN(bool live, ConsumeTrigger(c, agent, trigger, w, now));
      if (!live) return Status::Aborted("the " + cause + " trigger went away during the tick");
      for (auto& [to, env] : sends) {
        AGENT9_ASSIGN_OR_RETURN(bool exists, AgentExists(c, to));
        if (!exists) {
          if (!env.reply_to.empty()) {  // a reply to a sender that is not a local agent
            committed_events.push_back(DumpJson(Json{
                {"type", "reply"}, {"to", to}, {"in_reply_to", env.reply_to}, {"body", env.body}}));
            continue;
          }
          return Status::NotFound("send to an agent that does not exist", to);
        }
        AGENT9_ASSIGN_OR_RETURN(EnqueueResult r, EnqueueInTransaction(c, to, env, now));
        if (r.deadlettered) continue;
        ++delivered;
        if (r.runnable) to_wake.push_back(to);
      }
      for (const auto& r : routed) {
        AGENT9_RETURN_IF_ERROR(r.module->Route(c, agent, r.to, r.env.ToJson()));
      }
      committed_events.insert(committed_events.end(), events.begin(), events.end());
      for (const auto& a : out->alarms) {
        AGENT9_RETURN_IF_ERROR(
            AddAlarmInTransaction(c, agent, now + a.in_ms, a.every_ms, a.payload).status());
      }
      const TickActionContext actx{agent, in.tick, now};
      for (const auto& [m, key] : actors) {
        AGENT9_RETURN_IF_ERROR(m->Act(c, actx, key, out->actions.at(key)));
      }
      for (const auto& m : out->memory_append) {
        AGENT9_RETURN_IF_ERROR(AppendMemoryDoc(c, agent, m.path, m.data, now));
      }
      AGENT9_RETURN_IF_ERROR(
          RecordTick(c, agent, in.tick, input_text, output_text, in.config.retain_replay));
      // The outbox events and the trajectory record, numbered from the agent's counters,
      // which the tick's one UPDATE then moves on (with its state and tick count): nothing
      // else appends to this agent's logs between the SELECT and the UPDATE.
      AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                              c.Prepare("SELECT next_event, next_record FROM agents WHERE id=?"));
      q->Bind(1, agent);
      AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
      const int64_t first_event = row ? q->Int(0) : 0;
      const int64_t record_n = row ? q->Int(1) : 0;
      q->Reset();
      if (!row) return Status::NotFound("no such agent", agent);
      const auto n_events = static_cast<int64_t>(committed_events.size());
      for (int64_t i = 0; i < n_events; ++i) {
        AGENT9_RETURN_IF_ERROR(
            InsertEvent(c, agent, first_event + i, committed_events[static_cast<size_t>(i)], now));
      }
      if (n_events > 0) {
        AGENT9_RETURN_IF_ERROR(
            TrimEvents(c, agent, first_event + n_events - 1, in.config.retain_events));
      }
      AGENT9_ASSIGN_OR_RETURN(
          Stmt * u,
          c.Prepare("UPDATE agents SET state_json=?, tick_count=tick_count+1, last_tick_at=?, "
                    "last_tick_cause=?, updated_at=?, state=CASE WHEN ? THEN 'hibernated' ELSE "
                    "state END, next_event=?, next_record=? WHERE id=?"));
      u->Bind(1, state_text).Bind(2, now).Bind(3, cause).Bind(4, now);
      u->Bind(5, int64_t{out->hibernate ? 1 : 0}).Bind(6, first_event + n_events);
      u->Bind(7, record_n + 1).Bind(8, agent);
      AGENT9_RETURN_IF_ERROR(u->Run());
      ok["effects"] = Json{{"sent", delivered + routed.size()},
                           {"emitted", committed_events.size()},
                           {"alarms", out->alarms.size()}};
      phases.Mark(5);
      ok["phases_us"] = phases.ToJson();
      ok["duration_us"] = MonoUs() - start_us;
      return InsertTrajectory(c, agent, record_n, ok, now, in.config.retain_trajectory);
    });
  }
  if (commit.code() == Code::kAborted) return After::kMore;  // someone took the message

  if (commit.ok()) {
    phases.Mark(6);
    for (const auto& ev : committed_events) outbox_->Get(agent)->Append(ev + "\n");
    for (const auto& to : to_wake) Notify(to);
    for (const auto& r : routed) r.module->Routed();
    for (const auto& [m, key] : actors) m->Acted();
    if (!out->alarms.empty()) WakeAlarms();
    if (trace_) {
      trace_->Record(agent, Json{{"ts", Rfc3339(now)},
                                 {"type", "tick"},
                                 {"tick", in.tick},
                                 {"trigger", cause},
                                 {"result", "ok"}});
    }
    if (out->hibernate) return After::kParked;
    return trigger == TriggerKind::kManual ? After::kIdle : After::kMore;
  }

  // The tick failed: commit only the failure record (and the attempt count).
  std::string reason = commit.ToString();
  bool retired = false;  // dead-lettered, or given up (init, alarm)
  Status st = db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(
        retired, RecordFailedTrigger(c, agent, trigger, w, in.config.max_attempts, reason, now));
    Json failed = record;
    failed["result"] = "error";
    failed["error"] = reason;
    failed["effects"] = Json{{"sent", 0}, {"emitted", 0}, {"alarms", 0}};
    phases.Mark(5);
    failed["phases_us"] = phases.ToJson();
    failed["duration_us"] = MonoUs() - start_us;
    return AppendTrajectory(c, agent, failed, now, in.config.retain_trajectory);
  });
  if (!st.ok()) LogError("recording a failed tick of " + agent + ": " + st.ToString());
  if (trace_) {
    trace_->Record(agent, Json{{"ts", Rfc3339(now)},
                               {"type", "tick"},
                               {"tick", in.tick},
                               {"trigger", cause},
                               {"result", "error"},
                               {"error", reason},
                               {"retired", retired}});
  }
  if (trigger == TriggerKind::kManual) return After::kIdle;  // a manual tick is not retried
  if (!st.ok()) {
    *retry_ms = opts_.retry_max_ms;
    return After::kRetry;
  }
  if (retired) return After::kMore;
  int64_t delay = opts_.retry_base_ms << std::min<int64_t>(TriggerAttempts(trigger, w), 16);
  *retry_ms = std::min(delay, opts_.retry_max_ms);
  return After::kRetry;
}

}  // namespace agent9
