// Internal to the agent tree's files: agent_files.cc (agents/, the agent directory table, ctl,
// config, hud, logs, metrics, mounts) and agent_queue_files.cc (inbox/, outbox/, deadletter/).
// Thread-safety: as tick/agent_files.h: every node is thread-safe; deps must outlive them.
#pragma once

#include <memory>
#include <string>

#include "fs/files/files.h"
#include "tick/agent_files.h"

namespace agent9 {

inline constexpr Access kOwnerRead{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};

inline std::shared_ptr<Node> Snapshot(NodeId id, const std::string& owner, Access a, ContentFn fn) {
  return std::make_shared<SnapshotFile>(id, owner, a, std::move(fn));
}

// The agent's inbox/, outbox/ and deadletter/ directories (agent_queue_files.cc).
std::shared_ptr<Node> MakeInboxDir(NodeId id, const std::string& agent,
                                   std::shared_ptr<const AgentTreeDeps> deps);
std::shared_ptr<Node> MakeOutboxDir(NodeId id, const std::string& agent,
                                    std::shared_ptr<const AgentTreeDeps> deps);
std::shared_ptr<Node> MakeDeadletterDir(NodeId id, const std::string& agent,
                                        std::shared_ptr<const AgentTreeDeps> deps);

}  // namespace agent9
