// SQL of the tick engine: what LOAD reads and what REMEMBER writes, over the core schema
// (agents, inbox, outbox, trajectory, deadletter). Called only by Engine.
// Thread-safety: free functions; the Conn rules of fs/base/sqlite.h apply.
#pragma once

#include <optional>
#include <string>

#include "fs/base/json.h"
#include "fs/base/sqlite.h"
#include "tick/agent_config.h"

namespace agent9 {

// What LOAD reads for one tick.
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
};

// nullopt when the agent does not exist. now_ms decides which alarms are due.
Result<std::optional<Work>> LoadWork(Database* db, const std::string& agent, int64_t now_ms);
// Consumes a fired alarm: deletes a once alarm, moves a recurring one to now + every (so an
// alarm overdue after downtime fires once, not once per missed period). false when the
// alarm is gone (cancelled meanwhile).
Result<bool> ConsumeAlarm(Conn& c, const std::string& agent, int64_t id,
                          std::optional<int64_t> every_ms, int64_t now_ms);
// Appends one trajectory record and drops records beyond `retain`.
Status AppendTrajectory(Conn& c, const std::string& agent, const Json& record, int64_t retain);
// Appends one outbox event (JSON text) and drops events beyond `retain`; returns its seq.
Result<int64_t> AppendEvent(Conn& c, const std::string& agent, const std::string& event,
                            int64_t now, int64_t retain);
Result<bool> AgentExists(Conn& c, const std::string& id);
// A failed attempt at message `seq`: bumps its attempts and, at max_attempts, moves it to the
// deadletter with `reason`. Returns true when it was dead-lettered.
Result<bool> RecordFailedAttempt(Conn& c, const std::string& agent, int64_t seq,
                                 int64_t max_attempts, const std::string& reason, int64_t now);

}  // namespace agent9
