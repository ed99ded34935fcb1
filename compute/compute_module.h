// The compute module (fs/module.h; DESIGN 4.2; docs/COMPUTE.md): providers from the runtime
// config, compute/ in every agent's tree, the `compute` tick action, the `llm` agent kind,
// the day's budget in status, and metrics.
// Thread-safety: hooks are thread-safe once Open returned.
#pragma once

#include <memory>

#include "compute/compute_config.h"
#include "compute/compute_service.h"
#include "fs/module.h"

namespace agent9::compute {

class ComputeModule final : public Module {
 public:
  std::string_view name() const override { return "compute"; }
  Status Configure(const RuntimeConfig& config) override;
  Status Open(const ModuleContext& ctx) override;
  Status Start() override;
  void Stop() override;
  std::vector<TableEntry> AgentEntries() override;
  std::vector<std::pair<std::string, std::shared_ptr<Agent>>> AgentKinds() override;
  std::vector<std::string> ActionKeys() const override { return {"compute"}; }
  Status CheckAction(std::string_view key, const Json& value) const override;
  Status Act(Conn& c, const TickActionContext& ctx, std::string_view key,
             const Json& value) override;
  void Acted() override;
  Status AddStatus(Conn& c, std::string_view agent, Json* status, int64_t* expires_ms) override;
  // Bundles carry the agent's compute policy (compute/policy.json), not its jobs or spend.
  Status Export(Conn& c, std::string_view agent, const ExportRequest& req, Json* manifest,
                std::vector<BundleFile>* files) override;
  Result<ImportApply> PrepareImport(const ImportRequest& req) override;
  bool OwnsBundleFile(std::string_view name) const override { return name == kPolicyFile; }
  static constexpr std::string_view kPolicyFile = "compute/policy.json";
  std::string MetricsText() override;

  ComputeService* service() const { return service_.get(); }

 private:
  ComputeConfig config_;
  ModuleContext ctx_;
  std::unique_ptr<ComputeService> service_;
};

}  // namespace agent9::compute
