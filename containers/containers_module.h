// The containers module (fs/module.h; DESIGN 4.4; docs/CONTAINERS.md): sandbox providers from
// the runtime config (the local bubblewrap one by default, Daytona-API remotes), containers/
// in every agent's tree, the `run` tick action, sealed provider credentials (the admin's
// write-only containers/credentials/<provider>), and metrics. Builds on identity (Nostr auth
// signs with the agent's key; credentials are sealed under its master key) and charges the
// shared budget ledger (compute/ledger.h).
// Thread-safety: hooks are thread-safe once Open returned.
#pragma once

#include <memory>

#include "containers/containers_config.h"
#include "containers/credentials.h"
#include "containers/nostr_auth.h"
#include "containers/session_service.h"
#include "fs/module.h"

namespace agent9::identity {
class IdentityModule;
}

namespace agent9::containers {

class ContainersModule final : public Module {
 public:
  // identity may be null (no Nostr auth, no sealed credentials: env variables only).
  explicit ContainersModule(identity::IdentityModule* identity) : identity_(identity) {}
  std::string_view name() const override { return "containers"; }
  Status Configure(const RuntimeConfig& config) override;
  Status Open(const ModuleContext& ctx) override;
  Status Start() override;
  void Stop() override;
  std::vector<TableEntry> AgentEntries() override;
  std::vector<TableEntry> GlobalEntries() override;
  std::vector<std::string> ActionKeys() const override { return {"run"}; }
  Status CheckAction(std::string_view key, const Json& value) const override;
  Status Act(Conn& c, const TickActionContext& ctx, std::string_view key,
             const Json& value) override;
  void Acted() override;
  // Bundles carry the agent's containers policy (containers/policy.json), not its sessions.
  Status Export(Conn& c, std::string_view agent, const ExportRequest& req, Json* manifest,
                std::vector<BundleFile>* files) override;
  Result<ImportApply> PrepareImport(const ImportRequest& req) override;
  bool OwnsBundleFile(std::string_view name) const override { return name == kPolicyFile; }
  static constexpr std::string_view kPolicyFile = "containers/policy.json";
  std::string MetricsText() override { return service_->MetricsText(); }

  SessionService* service() const { return service_.get(); }

 private:
  identity::IdentityModule* identity_;
  ContainersConfig config_;
  ModuleContext ctx_;
  std::unique_ptr<Credentials> credentials_;
  std::unique_ptr<SessionService> service_;
  std::unique_ptr<NostrAuth> auth_;
};

}  // namespace agent9::containers
