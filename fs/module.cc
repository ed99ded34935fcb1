#include "fs/module.h"

namespace agent9 {

Module* Modules::Find(std::string_view name) const {
  for (const auto& m : list_) {
    if (m->name() == name) return m.get();
  }
  return nullptr;
}

Status Modules::Configure(const RuntimeConfig& config) {
  for (const auto& m : list_) AGENT9_RETURN_IF_ERROR(m->Configure(config));
  return Status::OK();
}

Status Modules::Open(const ModuleContext& ctx) {
  for (const auto& m : list_) {
    Status st = m->Open(ctx);
    if (!st.ok()) return Status(st.code(), std::string(m->name()) + ": " + st.message());
  }
  return Status::OK();
}

Status Modules::Start() {
  for (const auto& m : list_) {
    Status st = m->Start();
    if (!st.ok()) return Status(st.code(), std::string(m->name()) + ": " + st.message());
  }
  return Status::OK();
}

void Modules::Stop() {
  for (auto it = list_.rbegin(); it != list_.rend(); ++it) (*it)->Stop();
}

Status Modules::OnAgentCreated(Conn& c, std::string_view agent) const {
  for (const auto& m : list_) AGENT9_RETURN_IF_ERROR(m->OnAgentCreated(c, agent));
  return Status::OK();
}

void Modules::AgentCreated(std::string_view agent) const {
  for (const auto& m : list_) m->AgentCreated(agent);
}

Status Modules::AddStatus(Conn& c, std::string_view agent, Json* status,
                          int64_t* expires_ms) const {
  for (const auto& m : list_) AGENT9_RETURN_IF_ERROR(m->AddStatus(c, agent, status, expires_ms));
  return Status::OK();
}

Status Modules::Export(Conn& c, std::string_view agent, const ExportRequest& req, Json* manifest,
                       std::vector<BundleFile>* files) const {
  for (const auto& m : list_) AGENT9_RETURN_IF_ERROR(m->Export(c, agent, req, manifest, files));
  return Status::OK();
}

Result<std::vector<ImportApply>> Modules::PrepareImport(const ImportRequest& req) const {
  std::vector<ImportApply> out;
  for (const auto& m : list_) {
    AGENT9_ASSIGN_OR_RETURN(ImportApply apply, m->PrepareImport(req));
    if (apply) out.push_back(std::move(apply));
  }
  return out;
}

bool Modules::OwnsBundleFile(std::string_view name) const {
  for (const auto& m : list_) {
    if (m->OwnsBundleFile(name)) return true;
  }
  return false;
}

Module* Modules::RouterFor(std::string_view to) const {
  for (const auto& m : list_) {
    if (m->Routes(to)) return m.get();
  }
  return nullptr;
}

Module* Modules::ActorFor(std::string_view key) const {
  for (const auto& m : list_) {
    for (const auto& k : m->ActionKeys()) {
      if (k == key) return m.get();
    }
  }
  return nullptr;
}

Module* Modules::HttpAuthFor(std::string_view scheme) const {
  for (const auto& m : list_) {
    if (m->VerifiesHttpAuth(scheme)) return m.get();
  }
  return nullptr;
}

std::string Modules::MetricsText() const {
  std::string out;
  for (const auto& m : list_) out += m->MetricsText();
  return out;
}

}  // namespace agent9
