// The agent-kind interface: what runs in a tick's THINK phase (DESIGN 5). The tick engine
// (tick/) runs kinds; modules (compute's `llm`) and embedders provide them, so the interface
// lives here, below both. A kind sees its tick's input and returns the effects it asks for;
// it never writes the store itself, so a tick commits or fails as one transaction.
// Thread-safety: Agent::Tick may be called for different agents from several threads at
// once (never twice at once for one agent, except that a replay, TickInput::replay, may run
// alongside a tick of the same agent).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fs/agent_config.h"
#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9 {

// Reads one of the agent's memory files by its path under memory/ ("conversations/bob.jsonl"):
// its bytes as the last committed tick left them, or with max_tail_bytes > 0 only its last
// whole lines that fit in that many bytes (TailLines); kNotFound when it does not exist. During
// a tick the engine records what was read (only the tail, so a long conversation is not copied
// into every tick record), and `agent9 replay` answers the same.
using MemoryReader =
    std::function<Result<std::string>(std::string_view path, size_t max_tail_bytes)>;

// The last whole lines of text that fit in max bytes (all of it when max is 0 or it fits).
inline std::string_view TailLines(std::string_view text, size_t max) {
  if (max == 0 || text.size() <= max) return text;
  std::string_view tail = text.substr(text.size() - max);
  size_t nl = tail.find('\n');
  return nl == std::string_view::npos ? std::string_view() : tail.substr(nl + 1);
}

struct TickInput {
  std::string agent_id;
  Json agent;        // {"id","pubkey","npub"}: the agent as programs see it (DESIGN 5.1)
  int64_t tick = 0;  // the number this tick gets if it commits
  int64_t now_ms = 0;
  Json trigger;        // {"type":"message","seq","message":{envelope}} | {"type":"manual","reason"}
  Json state;          // the state the last committed tick left
  AgentConfig config;  // the agent's config (program, args, env, timeout_ms, sandbox, ...)
  MemoryReader read_memory;  // never empty during a tick
  // A replay (`agent9 replay`): the same input again, offline. Nothing the tick asks for
  // happens; a kind must not reach the network or the daemon (an exec program gets no
  // AGENT9_URL or token).
  bool replay = false;
};

struct SendSpec {
  std::string to;  // a local agent id, or an address a module routes (npub1...)
  Json body;
  // Non-empty: the message answers that message id. A reply to a sender that is not a local
  // agent (operator, http) lands in outbox/ as a `reply` event instead of failing the tick.
  std::string reply_to;
};

struct AlarmSpec {
  int64_t in_ms = 0;
  std::optional<int64_t> every_ms;  // recurring when set
  Json payload;
};

// A line appended to one of the agent's memory files in the tick's transaction.
struct MemoryAppend {
  std::string path;  // under memory/: "conversations/<id>.jsonl"
  std::string data;  // appended as is (a JSONL line ends in '\n')
};

// What a tick asks for (DESIGN 5.1); every field optional.
struct TickOutput {
  std::optional<Json> state;
  std::vector<Json> emit;
  std::vector<SendSpec> send;
  std::optional<Json> reply;
  std::vector<AlarmSpec> alarms;
  bool hibernate = false;
  std::vector<std::string> log;
  // Actions a module takes in the tick's transaction, by output key ({"compute":[...]}:
  // Module::ActionKeys). A key no module takes fails the tick.
  std::map<std::string, Json> actions;
  std::vector<MemoryAppend> memory_append;
};

// kInvalidArgument naming the first key of extra, if any ("config: x: unknown field").
Status RejectUnknownConfig(const Json& extra);

class Agent {
 public:
  virtual ~Agent() = default;
  // Runs one tick. An error fails the tick: nothing it asked for happens, the failure is
  // recorded, and the trigger is retried (then dead-lettered after max_attempts).
  virtual Result<TickOutput> Tick(const TickInput& in) = 0;
  // Checks the config keys this kind adds (AgentConfig::extra); a key it does not know is
  // kInvalidArgument naming it. The default knows none.
  virtual Status CheckConfig(const Json& extra) const { return RejectUnknownConfig(extra); }
};

}  // namespace agent9
