// RuntimeHost: the AgentHost (fs/module.h) the runtime gives its modules, over the agent
// registry, the outbox table and the trace and outbox streams.
// Thread-safety: thread-safe; everything passed in must outlive it.
#pragma once

#include "fs/module.h"
#include "tick/agents.h"
#include "tick/stream_hub.h"

namespace agent9 {

class RuntimeHost final : public AgentHost {
 public:
  RuntimeHost(AgentService* agents, StreamHub* trace, StreamHub* outbox)
      : agents_(agents), trace_(trace), outbox_(outbox) {}
  Result<std::string> Deliver(std::string_view agent, std::string_view bytes,
                              std::string_view from) override;
  Result<int64_t> AddEvent(std::string_view agent, const Json& event) override;
  Result<int64_t> AddEventInTransaction(Conn& c, std::string_view agent,
                                        const Json& event) override;
  void EventAdded(std::string_view agent) override;
  Status Emit(std::string_view agent, const Json& event) override;
  void Trace(std::string_view agent, Json record) override;
  Result<Json> AgentConfigJson(std::string_view agent) override;
  Result<std::vector<std::string>> ListAgents(std::string_view after, size_t limit) override;

 private:
  AgentService* agents_;
  StreamHub* trace_;
  StreamHub* outbox_;
};

}  // namespace agent9
