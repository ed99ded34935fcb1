// LlmAgent: the built-in `llm` agent kind (DESIGN 4.2). Each inbox message becomes a chat job
// (the agent's system prompt, the conversation with that sender so far, the message), the
// tick that submits it ends at once, and the job's end wakes the agent with an `event`
// trigger, whose tick sends the answer to the message's sender (its inbox for a local agent,
// Nostr for an npub, outbox/ as a `reply` event otherwise) and appends the exchange to
// memory/conversations/<sender>.jsonl. No worker waits while the model thinks.
// Config (AgentConfig::extra): provider, model, system, max_history (default 20),
// max_cost_usd (micro-USD per answer; default: the policy's default_max_cost_usd).
// Thread-safety: Tick may run for several agents at once.
#pragma once

#include "compute/compute_service.h"
#include "fs/agent_kind.h"

namespace agent9::compute {

class LlmAgent final : public Agent {
 public:
  explicit LlmAgent(ComputeService* service) : service_(service) {}
  Result<TickOutput> Tick(const TickInput& in) override;
  Status CheckConfig(const Json& extra) const override;

  // The memory file of a sender's conversation: "conversations/<sender>.jsonl", with bytes
  // a file name may not hold replaced by '_'.
  static std::string ConversationPath(std::string_view sender);

 private:
  ComputeService* service_;
};

}  // namespace agent9::compute
