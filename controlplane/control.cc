#include "controlplane/control.h"

#include "fs/base/path.h"
#include "tick/agent_bundle.h"
#include "tick/agent_files.h"
#include "tick/replay.h"

namespace agent9 {
namespace {

Status RequireAdmin(const Caller& who) {
  if (who.principal == Principal::kAdmin) return Status::OK();
  if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
  return Status::PermissionDenied("this needs the admin token");
}

Result<Path> AgentPath(std::string_view id, std::string_view file) {
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  Path p = Path().Child("agents").Child(id);
  return file.empty() ? p : p.Child(file);
}

}  // namespace

Result<Json> Control::CreateAgent(const Caller& who, const Json& body) {
  AGENT9_RETURN_IF_ERROR(RequireAdmin(who));
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "id" && k != "kind" && k != "config") {
      return Status::InvalidArgument("unknown field", k);
    }
  }
  std::string id;
  if (body.contains("id")) {
    if (!body["id"].is_string()) return Status::InvalidArgument("id must be a string");
    id = body["id"].get<std::string>();
  } else {
    id = "agent-" + RandomHexId(4);
  }
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  AgentConfig config;
  if (body.contains("config")) {
    AGENT9_ASSIGN_OR_RETURN(config, AgentConfig::FromJson(body["config"]));
  }
  if (body.contains("kind")) {
    // Whether the kind exists is AgentService::Create's check.
    if (!body["kind"].is_string()) return Status::InvalidArgument("kind must be a string");
    std::string kind = body["kind"].get<std::string>();
    if (body.contains("config") && body["config"].contains("kind") && config.kind != kind) {
      return Status::InvalidArgument("kind and config.kind differ");
    }
    config.kind = kind;
    AGENT9_ASSIGN_OR_RETURN(config, AgentConfig::FromJson(config.ToJson()));
  }
  // The agent and its first token commit together: one commit per create, and no agent
  // is left behind without the token its creator was never shown.
  std::string token;
  AGENT9_ASSIGN_OR_RETURN(AgentInfo info,
                          agents_->Create(id, config, /*run_init=*/true, [&](Conn& c) -> Status {
                            AGENT9_ASSIGN_OR_RETURN(token, auth_->MintAgentTokenIn(c, id));
                            return Status::OK();
                          }));
  // pubkey and npub: the key the identity module made in the creating transaction.
  AGENT9_ASSIGN_OR_RETURN(Json status, agents_->StatusJson(info.id));
  return Json{{"id", info.id},
              {"kind", info.kind},
              {"state", info.state},
              {"pubkey", status.value("pubkey", Json(nullptr))},
              {"npub", status.value("npub", Json(nullptr))},
              {"token", token}};
}

Result<Json> Control::ListAgents(const Caller& who, size_t limit, std::string_view after) {
  AGENT9_RETURN_IF_ERROR(RequireAdmin(who));
  if (limit == 0 || limit > 1000) return Status::InvalidArgument("limit must be 1..1000");
  if (!after.empty()) AGENT9_RETURN_IF_ERROR(ValidateAgentId(after));
  AGENT9_ASSIGN_OR_RETURN(auto list, agents_->List(after, limit));
  Json arr = Json::array();
  for (const auto& a : list) {
    arr.push_back(Json{{"id", a.id},
                       {"kind", a.kind},
                       {"state", a.state},
                       {"created_at", Rfc3339(a.created_at)},
                       {"tick_count", a.tick_count}});
  }
  Json next = list.size() == limit ? Json(list.back().id) : Json(nullptr);
  return Json{{"agents", std::move(arr)}, {"next", std::move(next)}};
}

Result<Json> Control::AgentStatus(const Caller& who, std::string_view id) {
  AGENT9_ASSIGN_OR_RETURN(Path p, AgentPath(id, "status"));
  AGENT9_ASSIGN_OR_RETURN(std::string text, fs_->ReadAll(p, who));
  return ParseJson(text, "status");
}

Status Control::DeleteAgent(const Caller& who, std::string_view id) {
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  AGENT9_ASSIGN_OR_RETURN(auto dir, fs_->Walk(Path().Child("agents"), who));
  return fs_->Remove(*dir, id, who);
}

Result<Json> Control::MintToken(const Caller& who, std::string_view id) {
  AGENT9_RETURN_IF_ERROR(RequireAdmin(who));
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  AGENT9_ASSIGN_OR_RETURN(std::string token, auth_->MintAgentToken(id));
  return Json{{"token", token}};
}

Result<Json> Control::Send(const Caller& who, std::string_view id, std::string_view body,
                           std::string_view from) {
  AGENT9_ASSIGN_OR_RETURN(Path p, AgentPath(id, "inbox"));
  std::string sender = who.principal == Principal::kAgent ? who.agent_id : std::string(from);
  if (who.principal == Principal::kPublic && !who.npub.empty()) {
    // A stranger who proved an npub (NIP-98) may send, unless the agent refuses strangers.
    AGENT9_ASSIGN_OR_RETURN(AgentConfig config, agents_->GetConfig(id));
    if (!config.accept_strangers) {
      return Status::PermissionDenied("this agent accepts no messages from strangers");
    }
    sender = who.npub;
  } else {
    AGENT9_ASSIGN_OR_RETURN(auto inbox, fs_->Walk(p, who));
    // The same check FileService::Create makes for a new inbox file.
    AGENT9_RETURN_IF_ERROR(CheckAccess(who, *inbox, Op::kCreate, is_public_));
    if (!who.npub.empty()) sender = who.npub;  // an operator signs as its npub
  }
  AGENT9_ASSIGN_OR_RETURN(EnqueueResult r, agents_->Enqueue(id, body, sender));
  Json j{{"id", r.id}, {"seq", r.seq}};
  if (r.duplicate) j["duplicate"] = true;
  if (r.deadlettered) j["deadlettered"] = true;
  return j;
}

Result<Json> Control::Lifecycle(const Caller& who, std::string_view id, std::string_view verb,
                                std::string_view arg) {
  if (verb != "tick" && verb != "hibernate" && verb != "wake") {
    return Status::NotFound("no such action", verb);
  }
  AGENT9_ASSIGN_OR_RETURN(Path p, AgentPath(id, "ctl"));
  std::string line(verb);
  if (!arg.empty()) {
    line += ' ';
    line += arg;
  }
  AGENT9_ASSIGN_OR_RETURN(auto node, fs_->Walk(p, who));
  OpenFlags flags;
  flags.read = false;
  flags.write = true;
  AGENT9_ASSIGN_OR_RETURN(auto h, fs_->Open(*node, flags, who));
  AGENT9_ASSIGN_OR_RETURN(size_t n,
                          h->Write(0, std::as_bytes(std::span(line.data(), line.size()))));
  (void)n;
  AGENT9_RETURN_IF_ERROR(h->Flush());
  return AgentStatus(who, id);
}

Result<std::string> Control::ExportAgent(const Caller& who, std::string_view id,
                                         const ExportRequest& req) {
  if (!req.key_passphrase.empty()) {
    // The key, even encrypted, leaves only at the admin's request (DESIGN 4.3).
    AGENT9_RETURN_IF_ERROR(RequireAdmin(who));
    AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
    return agent9::ExportAgent(*agents_, id, req);
  }
  // Through the file, so HTTP and FUSE give the same bytes under the same permission check.
  AGENT9_ASSIGN_OR_RETURN(Path p, AgentPath(id, "memory"));
  return fs_->ReadAll(p.Child("export"), who);
}

Result<Json> Control::ImportAgent(const Caller& who, std::string_view bundle, std::string_view mode,
                                  std::string_view new_id, const std::string& key_passphrase) {
  AGENT9_RETURN_IF_ERROR(RequireAdmin(who));
  AGENT9_ASSIGN_OR_RETURN(ImportMode m, ParseImportMode(mode));
  std::optional<std::string> id;
  if (!new_id.empty()) id = std::string(new_id);
  AGENT9_ASSIGN_OR_RETURN(std::string created,
                          agent9::ImportAgent(*agents_, bundle, m, id, key_passphrase));
  AGENT9_ASSIGN_OR_RETURN(Json status, agents_->StatusJson(created));
  return Json{{"id", created},
              {"kind", status["kind"]},
              {"mode", std::string(ImportModeName(m))},
              {"pubkey", status.value("pubkey", Json(nullptr))},
              {"npub", status.value("npub", Json(nullptr))}};
}

Result<Json> Control::Replay(const Caller& who, std::string_view id, const Json& body) {
  AGENT9_RETURN_IF_ERROR(RequireAdmin(who));
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  if (!body.is_object()) return Status::InvalidArgument("body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (k != "tick" && k != "program") return Status::InvalidArgument("unknown field", k);
  }
  auto tick = body.find("tick");
  if (tick == body.end() || !tick->is_number_integer() || tick->get<int64_t>() < 1) {
    return Status::InvalidArgument("tick", "want a tick number (an integer >= 1)");
  }
  ReplayOptions opts;
  if (auto p = body.find("program"); p != body.end()) {
    if (!p->is_string()) return Status::InvalidArgument("program", "want an absolute path");
    opts.program = p->get<std::string>();
  }
  const AgentKinds* kinds = agents_->kinds();
  if (!kinds) return Status::Unimplemented("replay: this runtime has no agent kinds");
  return ReplayTick(agents_->db(), *kinds, id, tick->get<int64_t>(), opts);
}

Result<Json> Control::Runtime(const Caller& who) {
  AGENT9_ASSIGN_OR_RETURN(std::string text, fs_->ReadAll(Path().Child("status"), who));
  return ParseJson(text, "runtime status");
}

Result<std::string> Control::Metrics(const Caller& who) {
  return fs_->ReadAll(Path().Child("metrics"), who);
}

std::shared_ptr<Node> MakeRootDir(std::shared_ptr<const AgentTreeDeps> deps, ContentFn status_fn,
                                  ContentFn metrics_fn) {
  static constexpr Access kAdminRead{Who::kAdmin, Who::kNobody, Who::kNobody, Who::kNobody};
  // Built once: it holds the agent directory table every lookup shares.
  const Modules* modules = deps->modules;
  std::shared_ptr<Node> agents = MakeAgentsDir(ChildId(kRootNodeId, "agents"), std::move(deps));
  auto table = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      {"agents", NodeType::kDir, [agents](NodeId, const std::string&) { return agents; }},
      {"status", NodeType::kFile,
       [status_fn](NodeId id, const std::string&) -> std::shared_ptr<Node> {
         return std::make_shared<SnapshotFile>(id, "", kAdminRead, status_fn);
       }},
      {"metrics", NodeType::kFile,
       [metrics_fn](NodeId id, const std::string&) -> std::shared_ptr<Node> {
         return std::make_shared<SnapshotFile>(id, "", kAdminRead, metrics_fn);
       }},
  });
  if (modules) {
    for (const auto& m : modules->list()) {
      for (auto& e : m->GlobalEntries()) table->push_back(std::move(e));
    }
  }
  // Everyone who authenticated may walk through the root; listing it is for the admin.
  return std::make_shared<TableDir>(kRootNodeId, "", kAdminRead, std::move(table));
}

}  // namespace agent9
