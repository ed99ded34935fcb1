// Engine: the tick engine. A scheduler hands ready agents to a pool of workers, at most one
// tick per agent at a time and round-robin across agents (an agent with a deep inbox ticks
// once, then goes to the back of the line). Each tick runs the eight phases WAKE, LOAD,
// PERCEIVE, THINK, ACT, REMEMBER, SCHEDULE, SLEEP; REMEMBER is one SQLite transaction that
// consumes the trigger message and writes the new state, emitted events, messages sent to
// other agents and the trajectory record together. A failed tick commits only its failure
// record; the trigger is retried with backoff and dead-lettered after max_attempts.
// Triggers, in priority order: init (the first tick after creation), message (the inbox
// head), event (AgentService::AddEvent), alarm (due alarms) and manual (ctl tick). Idle
// agents hold no memory here: an agent has a slot only while it is queued, running or
// waiting to retry.
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fs/base/clock.h"
#include "fs/base/sqlite.h"
#include "tick/agent_kind.h"
#include "tick/agents.h"
#include "tick/stream_hub.h"

namespace agent9 {

struct EngineOptions {
  unsigned workers = 2;
  int64_t retry_base_ms = 200;  // first retry delay; doubles per attempt
  int64_t retry_max_ms = 10'000;
};

class Engine {
 public:
  // Everything passed in must outlive the engine. outbox: streams of emitted events.
  Engine(Database* db, AgentService* agents, const Clock* clock, const AgentKinds* kinds,
         StreamHub* outbox, StreamHub* trace, EngineOptions opts = {});
  ~Engine();  // Stop()

  // Starts the workers and queues every active agent with queued messages.
  Status Start();
  // Finishes running ticks (they commit or roll back), then joins the workers. Idempotent.
  void Stop();

  // Something may be ready for agent (a message arrived, it woke up).
  void Notify(std::string_view agent);
  // A manual tick. kInvalidArgument for agents of kind none; kNotFound for unknown agents.
  Status RequestTick(std::string_view agent, std::string reason);

  // Re-reads the earliest alarm (call after adding one).
  void WakeAlarms();

  // Blocks until no agent is queued, running or waiting to retry (tests, benchmarks).
  // Returns false on timeout.
  bool WaitIdle(int64_t timeout_ms);

 private:
  struct Slot {
    bool queued = false;
    bool running = false;
    bool again = false;  // notified while running
    std::deque<std::string> manual;
    bool retry_pending = false;
  };
  // What SCHEDULE decided: nothing left; run again (more queued); retry later; parked
  // (hibernated or a kind that runs no ticks: triggers wait for a wake or a config change).
  enum class After { kIdle, kMore, kRetry, kParked };

  void WorkerLoop();
  // Sleeps until the earliest alarm of an active agent is due, then queues that agent.
  // Alarms of hibernated agents are skipped: they never wake an agent.
  void AlarmLoop();
  void Enqueue(const std::string& agent);  // mu_ held
  // Runs one tick of agent: its inbox head if any, else the manual trigger (then
  // *manual_used is set). *retry_ms is set for kRetry.
  After RunOne(const std::string& agent, const std::optional<std::string>& manual,
               bool* manual_used, int64_t* retry_ms);
  void DropSlotIfIdle(const std::string& agent);  // mu_ held

  Database* db_;
  AgentService* agents_;
  const Clock* clock_;
  const AgentKinds* kinds_;
  StreamHub* outbox_;
  StreamHub* trace_;
  const EngineOptions opts_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::string> ready_;
  std::unordered_map<std::string, Slot> slots_;
  std::multimap<int64_t, std::string> timers_;  // monotonic ms → agent to retry
  bool stop_ = false;
  std::vector<std::thread> workers_;
  std::condition_variable alarm_cv_;
  bool alarm_poke_ = false;
  std::thread alarm_thread_;
};

}  // namespace agent9
