#include "containers/containers_module.h"

#include <cstdlib>
#include <filesystem>

#include "containers/container_files.h"
#include "fs/base/log.h"
#include "identity/identity_module.h"

namespace agent9::containers {
namespace {

constexpr Access kCredentialAccess{Who::kNobody, Who::kAdmin, Who::kNobody, Who::kNobody};

// A write-only file: what the admin writes becomes the provider's credential, sealed; nothing
// ever reads it back.
class CredentialHandle final : public Handle {
 public:
  CredentialHandle(Credentials* creds, std::string provider)
      : creds_(creds), provider_(std::move(provider)) {}
  Result<size_t> Read(uint64_t, std::span<std::byte>) override {
    return Status::PermissionDenied("credentials are write-only");
  }
  Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) override {
    if (offset + in.size() > 64 * 1024) return Status::TooLarge("credential over 64 KiB");
    if (buf_.size() < offset + in.size()) buf_.resize(offset + in.size());
    std::memcpy(buf_.data() + offset, in.data(), in.size());
    dirty_ = true;
    return in.size();
  }
  Status Flush() override {
    if (!dirty_) return Status::OK();
    dirty_ = false;
    std::string secret = std::exchange(buf_, {});
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty()) return creds_->Remove(provider_);
    return creds_->Set(provider_, secret);
  }
  ~CredentialHandle() override { std::fill(buf_.begin(), buf_.end(), '\0'); }

 private:
  Credentials* creds_;
  std::string provider_;
  std::string buf_;
  bool dirty_ = false;
};

class CredentialFile final : public Node {
 public:
  CredentialFile(NodeId id, Credentials* creds, std::string provider)
      : Node(id, "", kCredentialAccess), creds_(creds), provider_(std::move(provider)) {}
  Stat GetStat() const override { return Stat{}; }
  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller&) override {
    if (flags.read) return Status::PermissionDenied("credentials are write-only");
    return std::unique_ptr<Handle>(std::make_unique<CredentialHandle>(creds_, provider_));
  }

 private:
  Credentials* creds_;
  std::string provider_;
};

}  // namespace

Status ContainersModule::Configure(const RuntimeConfig& config) {
  AGENT9_ASSIGN_OR_RETURN(config_, ReadContainersConfig(config));
  return Status::OK();
}

Status ContainersModule::Open(const ModuleContext& ctx) {
  ctx_ = ctx;
  AGENT9_RETURN_IF_ERROR(SessionService::Migrate(*ctx.db));
  if (identity_ && identity_->vault()) {
    credentials_ = std::make_unique<Credentials>(ctx.db, identity_->vault());
  }
  std::vector<std::unique_ptr<SandboxProvider>> providers;
  if (config_.local) {
    LocalConfig lc = config_.local_config;
    lc.run_dir = ctx.data_dir + "/containers/run";
    std::error_code ec;
    std::filesystem::create_directories(lc.run_dir, ec);
    if (ec) return Status::Internal("containers: making " + lc.run_dir, ec.message());
    providers.push_back(std::make_unique<LocalProvider>(lc));
  }
  for (const auto& rc : config_.remotes) {
    Credentials* creds = credentials_.get();
    std::string id = rc.id, env = rc.api_key_env;
    auto key = [creds, id, env]() -> Result<std::string> {
      if (creds) {
        AGENT9_ASSIGN_OR_RETURN(auto stored, creds->Get(id));
        if (stored) return *stored;
      }
      const char* v = env.empty() ? nullptr : std::getenv(env.c_str());
      if (v && *v) return std::string(v);
      return Status::Unavailable("no credential: store one in containers/credentials/" + id +
                                 " or set " + (env.empty() ? "api_key_env" : env));
    };
    providers.push_back(std::make_unique<DaytonaProvider>(rc, key));
    LogInfo("containers: provider " + rc.id + " (daytona) at " +
            (rc.base_url.empty() ? "no URL (unavailable)" : rc.base_url));
  }
  service_ = std::make_unique<SessionService>(ctx.db, ctx.clock, ctx.host, std::move(providers),
                                              config_.local_config.images, config_.max_event_tail);
  auth_ = std::make_unique<NostrAuth>(identity_ ? identity_->identity() : nullptr, ctx.clock,
                                      service_.get());
  return Status::OK();
}

Status ContainersModule::Start() { return service_->Start(); }

void ContainersModule::Stop() {
  if (service_) service_->Stop();
}

std::vector<TableEntry> ContainersModule::AgentEntries() {
  return {ContainersEntry(service_.get(), auth_.get(), ctx_.calls)};
}

std::vector<TableEntry> ContainersModule::GlobalEntries() {
  Credentials* creds = credentials_.get();
  SessionService* svc = service_.get();
  auto make_creds = [creds, svc](NodeId id, const std::string& owner) -> std::shared_ptr<Node> {
    auto entries = std::make_shared<std::vector<TableEntry>>();
    if (creds) {
      for (const auto& p : svc->providers()) {
        if (p->id() == "local") continue;
        std::string pid = p->id();
        entries->push_back(
            TableEntry{pid, NodeType::kFile, [creds, pid](NodeId i, const std::string&) {
                         return std::make_shared<CredentialFile>(i, creds, pid);
                       }});
      }
    }
    return std::make_shared<TableDir>(id, owner, Access{Who::kAdmin}, std::move(entries));
  };
  auto dir = [make_creds](NodeId id, const std::string& owner) -> std::shared_ptr<Node> {
    auto entries = std::make_shared<std::vector<TableEntry>>(
        std::vector<TableEntry>{{"credentials", NodeType::kDir, make_creds}});
    return std::make_shared<TableDir>(id, owner, Access{Who::kAdmin}, std::move(entries));
  };
  return {TableEntry{"containers", NodeType::kDir, dir}};
}

Status ContainersModule::CheckAction(std::string_view, const Json& value) const {
  return service_->CheckAction(value);
}

Status ContainersModule::Act(Conn& c, const TickActionContext& ctx, std::string_view,
                             const Json& value) {
  return service_->Act(c, ctx.agent, ctx.tick, ctx.now_ms, value);
}

void ContainersModule::Acted() { service_->Acted(); }

Status ContainersModule::Export(Conn& c, std::string_view agent, const ExportRequest&, Json*,
                                std::vector<BundleFile>* files) {
  AGENT9_ASSIGN_OR_RETURN(auto p, SessionService::StoredPolicy(c, agent));
  if (p) files->push_back(BundleFile{std::string(kPolicyFile), PrettyJson(p->ToJson())});
  return Status::OK();
}

Result<ImportApply> ContainersModule::PrepareImport(const ImportRequest& req) {
  auto it = req.files->find(std::string(kPolicyFile));
  if (it == req.files->end()) {
    return ImportApply([](Conn&, std::string_view) { return Status::OK(); });
  }
  auto p = ContainerPolicy::Parse(it->second);
  if (!p.ok()) return Status::InvalidArgument(std::string(kPolicyFile), p.status().message());
  const Clock* clock = ctx_.clock;
  return ImportApply([policy = std::move(p).value(), clock](Conn& c, std::string_view agent) {
    return SessionService::StorePolicy(c, agent, policy, clock->NowMs());
  });
}

}  // namespace agent9::containers
