// The nostr module (fs/module.h): nostr/ in every agent's tree and at the root, relay
// connections shared by every agent, inbound DMs into inboxes, and messages to npubs sent as
// NIP-17 DMs (nostr_service.h). Builds on the identity module, whose keys sign everything.
// Runtime config: [nostr] (docs/CONFIG.md).
// Thread-safety: hooks are thread-safe once Open returned.
#pragma once

#include <memory>

#include "fs/module.h"
#include "identity/identity_module.h"
#include "nostr/nostr_service.h"

namespace agent9::nostr {

class NostrModule final : public Module {
 public:
  // identity must outlive the module and be opened before it (added to Modules first).
  explicit NostrModule(identity::IdentityModule* identity) : identity_(identity) {}
  std::string_view name() const override { return "nostr"; }
  Status Configure(const RuntimeConfig& config) override;
  Status Open(const ModuleContext& ctx) override;
  Status Start() override;
  void Stop() override;
  std::vector<TableEntry> AgentEntries() override;
  std::vector<TableEntry> GlobalEntries() override;
  Status OnAgentCreated(Conn& c, std::string_view agent) override;
  void AgentCreated(std::string_view agent) override;
  bool Routes(std::string_view to) const override { return NostrService::IsAddress(to); }
  Status Route(Conn& c, std::string_view from_agent, std::string_view to,
               const Json& envelope) override;
  void Routed() override;
  bool VerifiesHttpAuth(std::string_view scheme) const override;
  Result<std::string> VerifyHttpAuth(const HttpAuth& req) override;
  std::string MetricsText() override;

  NostrService* service() const { return service_.get(); }

 private:
  identity::IdentityModule* identity_;
  NostrOptions opts_;
  ModuleContext ctx_;
  std::unique_ptr<NostrService> service_;
};

}  // namespace agent9::nostr
