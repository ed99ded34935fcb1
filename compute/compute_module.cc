#include "compute/compute_module.h"

#include <algorithm>

#include "compute/compute_files.h"
#include "compute/llm_agent.h"
#include "fs/base/log.h"

namespace agent9::compute {

Status ComputeModule::Configure(const RuntimeConfig& config) {
  AGENT9_ASSIGN_OR_RETURN(config_, ReadComputeConfig(config));
  if (config_.providers.empty() && config_.detect_env) {
    config_.providers = DetectProviders(OllamaListening());
  }
  return Status::OK();
}

Status ComputeModule::Open(const ModuleContext& ctx) {
  ctx_ = ctx;
  AGENT9_RETURN_IF_ERROR(ComputeService::Migrate(*ctx.db));
  std::vector<std::unique_ptr<Provider>> providers;
  for (const auto& pc : config_.providers) {
    AGENT9_ASSIGN_OR_RETURN(auto p, MakeProvider(pc));
    LogInfo(
        "compute: provider " + pc.id + " (" + pc.type + ")" +
        (pc.type == "exec" ? "" : " at " + (pc.base_url.empty() ? "default URL" : pc.base_url)));
    providers.push_back(std::move(p));
  }
  service_ =
      std::make_unique<ComputeService>(ctx.db, ctx.clock, ctx.host, config_, std::move(providers));
  return Status::OK();
}

Status ComputeModule::Start() { return service_->Start(); }

void ComputeModule::Stop() {
  if (service_) service_->Stop();
}

std::vector<TableEntry> ComputeModule::AgentEntries() {
  return {ComputeEntry(service_.get(), ctx_.calls)};
}

std::vector<std::pair<std::string, std::shared_ptr<Agent>>> ComputeModule::AgentKinds() {
  return {{"llm", std::make_shared<LlmAgent>(service_.get())}};
}

Status ComputeModule::CheckAction(std::string_view, const Json& value) const {
  return service_->CheckAction(value);
}

Status ComputeModule::Act(Conn& c, const TickActionContext& ctx, std::string_view,
                          const Json& value) {
  return service_->Act(c, ctx.agent, ctx.tick, ctx.now_ms, value);
}

void ComputeModule::Acted() { service_->Acted(); }

Status ComputeModule::AddStatus(Conn& c, std::string_view agent, Json* status,
                                int64_t* expires_ms) {
  int64_t now = ctx_.clock->NowMs();
  AGENT9_ASSIGN_OR_RETURN(BudgetWindow day, Ledger::DayWindow(c, agent, now));
  (*status)["budget"] = day.ToJson();
  // The day's window: the next UTC day starts another.
  if (expires_ms) *expires_ms = std::min(*expires_ms, UtcDayStartMs(UtcDay(now) + 1));
  return Status::OK();
}

Status ComputeModule::Export(Conn& c, std::string_view agent, const ExportRequest&, Json*,
                             std::vector<BundleFile>* files) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * q, c.Prepare("SELECT 1 FROM budget_policies WHERE agent=?"));
  q->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool set, q->Step());
  q->Reset();
  if (!set) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(BudgetPolicy p, Ledger::GetPolicy(c, agent));
  files->push_back(BundleFile{std::string(kPolicyFile), PrettyJson(p.ToJson())});
  return Status::OK();
}

Result<ImportApply> ComputeModule::PrepareImport(const ImportRequest& req) {
  auto it = req.files->find(std::string(kPolicyFile));
  if (it == req.files->end()) {
    return ImportApply([](Conn&, std::string_view) { return Status::OK(); });
  }
  auto p = BudgetPolicy::Parse(it->second);
  if (!p.ok()) return Status::InvalidArgument(std::string(kPolicyFile), p.status().message());
  const Clock* clock = ctx_.clock;
  return ImportApply([policy = std::move(p).value(), clock](Conn& c, std::string_view agent) {
    return Ledger::SetPolicy(c, agent, policy, clock->NowMs());
  });
}

std::string ComputeModule::MetricsText() { return service_->MetricsText(); }

}  // namespace agent9::compute
