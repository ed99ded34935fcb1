// Replay: re-runs one committed tick of an agent offline, against what that tick saw (its
// tick record: tick/tick_record.h), and compares the effects it asks for now with those it
// asked for then (`agent9 replay`, POST /v1/agents/{id}/replay). A replay writes nothing and
// causes nothing: no module is called, nothing is enqueued, no memory file is read but the
// recorded ones.
// Thread-safety: ReplayTick may run on several threads at once, also while the engine ticks
// the same agent (the kind sees TickInput::replay and must stay offline).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/json.h"
#include "fs/base/sqlite.h"
#include "fs/base/status.h"
#include "tick/agent_kind.h"

namespace agent9 {

struct ReplayOptions {
  // Non-empty: runs this program instead of the recorded config.program (an absolute path
  // to an executable file; otherwise kInvalidArgument).
  std::string program;
};

// Replays `agent`'s tick `tick`. The result:
// {"agent","tick","kind","program"?,"identical":bool,
//  "differences":[{"part","op","path","recorded"?,"replayed"?}...],
//  "unrecorded_reads":[path...],"recorded":{output},"replayed":{output}|null,"error"?}.
// differences are RFC 6902 operations (json::diff) per top-level part of the output
// (TickOutputToJson: "state", "emit", "send", ...), with the recorded value at the path when
// there was one. A replayed tick that fails is still a result: "identical" false, "error"
// its status, "replayed" null. unrecorded_reads: memory paths the replay asked for that the
// original tick never read (answered kNotFound).
// Errors: kNotFound for an unknown agent, an unrecorded tick (naming the ticks kept) or a
// kind that is no longer registered; kInvalidArgument for a bad opts.program.
Result<Json> ReplayTick(Database* db, const AgentKinds& kinds, std::string_view agent, int64_t tick,
                        const ReplayOptions& opts = {});

// The differences between two tick outputs (TickOutputToJson documents), as in ReplayTick.
Json DiffTickOutputs(const Json& recorded, const Json& replayed);

}  // namespace agent9
