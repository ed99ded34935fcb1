// SQL of the tick engine: what LOAD reads and what REMEMBER writes, over the core schema
// (agents, inbox, outbox, trajectory, deadletter). Called only by Engine.
// Thread-safety: free functions; the Conn rules of fs/base/sqlite.h apply.
#pragma once

#include <optional>
#include <string>

#include "fs/agent_config.h"
#include "fs/base/json.h"
#include "fs/base/sqlite.h"
#include "fs/module.h"

namespace agent9 {

// What LOAD reads for one tick: the agent, and only the pending trigger that wins (init,
// else the inbox head, else the oldest event, else the earliest due alarm); none for an
// agent that is not active.
struct Work {
  std::string kind;
  std::string state;
  Json state_json;
  int64_t tick_count = 0;
  AgentConfig config;
  bool has_message = false;
  int64_t seq = 0;
  Json message;  // the envelope
  int64_t attempts = 0;
  bool has_alarm = false;  // an alarm due now (the earliest)
  int64_t alarm_id = 0;
  int64_t alarm_due = 0;
  std::optional<int64_t> alarm_every;
  Json alarm_payload;
  int64_t alarm_attempts = 0;
  bool init_pending = false;  // the agent has not had its init tick yet
  int64_t init_attempts = 0;
  bool has_event = false;  // the oldest pending event (a job, session or payment finished)
  int64_t event_seq = 0;
  Json event;
  int64_t event_attempts = 0;
  Json agent;  // {"id", and the modules' status fields: "pubkey", "npub", ...}
};

// The trigger one tick runs, in priority order: init first (right after creation), then
// the inbox head, then events, then due alarms, then manual requests.
enum class TriggerKind { kInit, kMessage, kEvent, kAlarm, kManual, kNone };
TriggerKind PickTrigger(const Work& w, bool has_manual);
const char* TriggerName(TriggerKind t);

// nullopt when the agent does not exist. now_ms decides which alarms are due. modules (may be
// null) add their status fields to Work::agent in the same read transaction.
Result<std::optional<Work>> LoadWork(Database* db, const std::string& agent, int64_t now_ms,
                                     const Modules* modules = nullptr);
// Consumes a fired alarm: deletes a once alarm, moves a recurring one to now + every (so an
// alarm overdue after downtime fires once, not once per missed period). false when the
// alarm is gone (cancelled meanwhile).
Result<bool> ConsumeAlarm(Conn& c, const std::string& agent, int64_t id,
                          std::optional<int64_t> every_ms, int64_t now_ms);
// Appends one trajectory record (of a tick that started at at_ms) and drops records beyond
// `retain`.
Status AppendTrajectory(Conn& c, const std::string& agent, const Json& record, int64_t at_ms,
                        int64_t retain);
// Appends one outbox event (JSON text) and drops events beyond `retain`; returns its seq.
Result<int64_t> AppendEvent(Conn& c, const std::string& agent, const std::string& event,
                            int64_t now, int64_t retain);
// The same two without the counters: record number n and event seq are the caller's, who
// bumps agents.next_record / next_event in its own UPDATE (a tick: tick/engine_tick.cc, one
// statement for its counters, state and tick count instead of one per log).
Status InsertTrajectory(Conn& c, std::string_view agent, int64_t n, const Json& record,
                        int64_t at_ms, int64_t retain);
Status InsertEvent(Conn& c, std::string_view agent, int64_t seq, std::string_view event,
                   int64_t now);
// Drops the outbox events of agent beyond `retain`, the newest being `last`.
Status TrimEvents(Conn& c, std::string_view agent, int64_t last, int64_t retain);
// The retention of every per-agent log (outbox, trajectory, tick_records): runs delete_sql,
// "DELETE FROM <log> WHERE agent=? AND <number><=?", for the rows numbered last - retain and
// below. Numbers start at 1, so while last <= retain nothing is that old and nothing runs.
Status TrimLog(Conn& c, std::string_view delete_sql, std::string_view agent, int64_t last,
               int64_t retain);
Result<bool> AgentExists(Conn& c, const std::string& id);
// A failed attempt at message `seq`: bumps its attempts and, at max_attempts, moves it to the
// deadletter with `reason`. Returns true when it was dead-lettered.
Result<bool> RecordFailedAttempt(Conn& c, const std::string& agent, int64_t seq,
                                 int64_t max_attempts, const std::string& reason, int64_t now);
// A failed tick of trigger t (loaded in w): bumps that trigger's attempts; at max_attempts a
// message or an event moves to the deadletter (an event as a message from "runtime" whose
// body is {"type":"event","event":...}), an alarm is consumed as if it had fired, and init is
// given up. Returns true when the trigger was retired that way; manual triggers are never
// retried (false).
Result<bool> RecordFailedTrigger(Conn& c, const std::string& agent, TriggerKind t, const Work& w,
                                 int64_t max_attempts, const std::string& reason, int64_t now);
// Consumes a trigger that ticked successfully. false when it vanished meanwhile (a message
// removed, an alarm cancelled): the tick must then roll back.
Result<bool> ConsumeTrigger(Conn& c, const std::string& agent, TriggerKind t, const Work& w,
                            int64_t now);
// Attempts made so far at trigger t.
int64_t TriggerAttempts(TriggerKind t, const Work& w);

}  // namespace agent9
