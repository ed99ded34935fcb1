// Agent kinds: what runs in a tick's THINK phase. Embedders add kinds by implementing Agent
// and registering it with AgentKinds; the engine never knows which kind it runs.
// Thread-safety: Agent::Tick may be called for different agents from several threads at
// once (never twice at once for one agent); AgentKinds is read-only after start.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/status.h"
#include "tick/agent_config.h"

namespace agent9 {

struct TickInput {
  std::string agent_id;
  Json agent;        // {"id","pubkey","npub"}: the agent as programs see it (DESIGN 5.1)
  int64_t tick = 0;  // the number this tick gets if it commits
  int64_t now_ms = 0;
  Json trigger;        // {"type":"message","seq","message":{envelope}} | {"type":"manual","reason"}
  Json state;          // the state the last committed tick left
  AgentConfig config;  // the agent's config (program, args, env, timeout_ms, sandbox, ...)
};

struct SendSpec {
  std::string to;  // a local agent id
  Json body;
};

struct AlarmSpec {
  int64_t in_ms = 0;
  std::optional<int64_t> every_ms;  // recurring when set
  Json payload;
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
};

class Agent {
 public:
  virtual ~Agent() = default;
  // Runs one tick. An error fails the tick: nothing it asked for happens, the failure is
  // recorded, and the trigger is retried (then dead-lettered after max_attempts).
  virtual Result<TickOutput> Tick(const TickInput& in) = 0;
};

// echo: replies to the sender of each message with the same body. A message that is itself
// a reply (it has reply_to) gets no reply, so two echo agents cannot ping-pong forever.
class EchoAgent final : public Agent {
 public:
  Result<TickOutput> Tick(const TickInput& in) override;
};

class AgentKinds {
 public:
  // With the built-in kinds (echo) registered.
  static AgentKinds WithBuiltins();
  void Register(std::string name, std::shared_ptr<Agent> agent) {
    kinds_[std::move(name)] = std::move(agent);
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, agent] : kinds_) out.push_back(name);
    return out;
  }
  // nullptr for unknown kinds and for "none".
  std::shared_ptr<Agent> Find(const std::string& name) const {
    auto it = kinds_.find(name);
    return it == kinds_.end() ? nullptr : it->second;
  }

 private:
  std::map<std::string, std::shared_ptr<Agent>> kinds_;
};

}  // namespace agent9
