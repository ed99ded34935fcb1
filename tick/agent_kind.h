// Agent kinds: the built-in ones and the registry the engine looks kinds up in. Embedders
// and modules add kinds by implementing Agent (fs/agent_kind.h) and registering it with
// AgentKinds; the engine never knows which kind it runs.
// Thread-safety: Agent::Tick may be called for different agents from several threads at
// once (never twice at once for one agent); AgentKinds is read-only after start.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fs/agent_kind.h"
#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9 {

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
