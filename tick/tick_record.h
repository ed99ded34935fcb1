// Tick records: what `agent9 replay` re-runs. Each committed tick keeps its whole input (the
// trigger, the state before it, the config, the time, the memory files it read) and the
// effects it asked for, in tick_records, for the last config.retention.replay ticks.
// Thread-safety: functions over a Conn (the caller's transaction).
#pragma once

#include <map>
#include <string>

#include "fs/agent_kind.h"
#include "fs/base/json.h"
#include "fs/base/sqlite.h"

namespace agent9 {

// The effects of a tick as one canonical document (what replay compares):
// {"state","emit","send":[{"to","body","reply_to"?}],"reply","alarms","hibernate","actions",
//  "memory_append":[{"path","data"}]}. Absent parts are null or empty.
Json TickOutputToJson(const TickOutput& out);

// The recorded input: {"agent","tick","now","trigger","state","config","memory":{path:bytes}}
// (memory: what read_memory answered; a path that was not found maps to null).
Json TickInputToJson(const TickInput& in, const std::map<std::string, Json>& memory_reads);

// Inserts the record (TickInputToJson and TickOutputToJson, dumped: the tick dumps them
// before its write, outside the serial commit) and drops those older than the last `retain`
// (0: keeps none).
Status RecordTick(Conn& c, std::string_view agent, int64_t tick, std::string_view input_json,
                  std::string_view output_json, int64_t retain);

// The record of agent's tick: {"input","output"}. kNotFound naming how many are kept.
Result<Json> LoadTickRecord(Conn& c, std::string_view agent, int64_t tick);

}  // namespace agent9
