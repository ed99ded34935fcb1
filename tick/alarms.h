// Alarms and events: the agent's timer and `event` triggers (tables alarms and events_in; the
// agents column next_alarm; events take their seq from next_seq, the inbox's sequence).
// AgentService's AddAlarm, CancelAlarm, DescribeAlarms and AddEvent are declared in
// tick/agents.h and defined in alarms.cc; the tick engine fires due alarms and consumes events
// (tick/tick_store.cc).
// Thread-safety: AgentService's alarm and event methods are thread-safe; writes go through
// Database::Write (group commit). The *InTransaction functions: inside the caller's Write only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "fs/base/json.h"
#include "fs/base/sqlite.h"
#include "fs/base/status.h"

namespace agent9 {

// Adds an alarm inside the caller's transaction; returns its id.
Result<int64_t> AddAlarmInTransaction(Conn& c, std::string_view agent, int64_t due_at_ms,
                                      std::optional<int64_t> every_ms, const Json& payload);

// Queues an event for agent (the `event` trigger: a job, session or payment finished) inside
// the caller's transaction; returns its seq. kNotFound.
Result<int64_t> AddEventInTransaction(Conn& c, std::string_view agent, const Json& event,
                                      int64_t now_ms);

}  // namespace agent9
