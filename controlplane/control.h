// Control: the ControlApi over the FileService and the agent services. Routes that touch an
// agent's files (status, send, lifecycle, delete) go through the same nodes and permission
// checks as FUSE; admin-only routes (create, list, tokens) check the principal here.
// Thread-safety: thread-safe; everything passed in must outlive it.
#pragma once

#include <functional>
#include <memory>

#include "controlplane/auth.h"
#include "controlplane/control_api.h"
#include "fs/file_service.h"
#include "tick/agent_files.h"
#include "tick/agents.h"

namespace agent9 {

class Control final : public ControlApi {
 public:
  Control(std::shared_ptr<const FileService> fs, AgentService* agents, TokenAuth* auth,
          IsPublicFn is_public)
      : fs_(std::move(fs)), agents_(agents), auth_(auth), is_public_(std::move(is_public)) {}

  Result<Json> CreateAgent(const Caller& who, const Json& body) override;
  Result<Json> ListAgents(const Caller& who, size_t limit, std::string_view after) override;
  Result<Json> AgentStatus(const Caller& who, std::string_view id) override;
  Status DeleteAgent(const Caller& who, std::string_view id) override;
  Result<Json> MintToken(const Caller& who, std::string_view id) override;
  Result<Json> Send(const Caller& who, std::string_view id, std::string_view body,
                    std::string_view from) override;
  Result<Json> Lifecycle(const Caller& who, std::string_view id, std::string_view verb,
                         std::string_view arg) override;
  Result<std::string> ExportAgent(const Caller& who, std::string_view id,
                                  const ExportRequest& req = {}) override;
  Result<Json> ImportAgent(const Caller& who, std::string_view bundle, std::string_view mode,
                           std::string_view new_id,
                           const std::string& key_passphrase = "") override;
  Result<Json> Replay(const Caller& who, std::string_view id, const Json& body) override;
  Result<Json> Runtime(const Caller& who) override;
  Result<std::string> Metrics(const Caller& who) override;

 private:
  std::shared_ptr<const FileService> fs_;
  AgentService* agents_;
  TokenAuth* auth_;
  IsPublicFn is_public_;
};

// The global root: agents/, status, metrics. status_fn and metrics_fn build those files.
std::shared_ptr<Node> MakeRootDir(std::shared_ptr<const AgentTreeDeps> deps, ContentFn status_fn,
                                  ContentFn metrics_fn);

}  // namespace agent9
