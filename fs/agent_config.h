// AgentConfig: the validated `config` document of an agent (DESIGN section 4). Parsing is
// strict: wrong types and out-of-range values are kInvalidArgument with a message naming the
// field, so a bad write leaves the old config in place. Unknown top-level keys are kept in
// `extra` for the agent's kind to accept or refuse (AgentService checks them with the kind).
// Thread-safety: value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9 {

enum class Overflow : uint8_t { kReject, kDeadletter, kDropOldest };

struct AgentConfig {
  std::string kind = "none";  // none | echo | exec
  std::string program;        // exec: the program to run each tick
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  int64_t timeout_ms = 10'000;
  int64_t max_depth = 1000;
  Overflow overflow = Overflow::kReject;
  int64_t max_attempts = 3;
  int64_t retain_events = 1000;
  int64_t retain_trajectory = 10'000;
  bool sandbox = true;   // exec: run the program under bubblewrap
  bool network = false;  // exec: let the sandbox reach the network
  // Messages from npubs that are neither local agents nor operators (a Nostr DM, a NIP-98
  // signed send) are taken; false refuses them (DESIGN 4.3).
  bool accept_strangers = true;
  // Ticks whose full input and output are kept for `agent9 replay` (retention.replay).
  int64_t retain_replay = 100;
  // Top-level keys the core does not know, for the agent's kind to check and use (an llm
  // agent's provider, model, system...: Agent::CheckConfig). An object, possibly empty.
  Json extra = Json::object();

  // The full document with every default filled in.
  Json ToJson() const;
  // Fields absent from j keep their defaults.
  static Result<AgentConfig> FromJson(const Json& j);
  static Result<AgentConfig> Parse(std::string_view text);
};

std::string_view OverflowName(Overflow o);
// A kind's name is syntactically valid ([a-z0-9][a-z0-9._-]{0,62}). Whether the kind exists
// is the AgentService's check (AgentService::SetKinds), since embedders register kinds.
Status ValidateKindName(std::string_view kind);

}  // namespace agent9
