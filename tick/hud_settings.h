// hud/settings: how the agent's HUD shows it ({"public","embed_allowed","redaction_policy"}),
// stored as the docs row (ns 'hud', name 'settings'), with "public" mirrored in the agents
// column is_public. AgentService's IsPublic, GetHudSettings and SetHudSettings are declared in
// tick/agents.h and defined in hud_settings.cc.
// Thread-safety: CleanHudSettings is a pure function; AgentService's methods are thread-safe,
// and SetHudSettings writes through Database::Write (group commit).
#pragma once

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9 {

// hud/settings validated: every field filled in ({"public","embed_allowed",
// "redaction_policy"}); unknown fields and wrong types are kInvalidArgument.
Result<Json> CleanHudSettings(const Json& settings);

}  // namespace agent9
