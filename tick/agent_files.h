// The agent tree (DESIGN section 4) built from fs/files kinds over AgentService: agents/,
// and per agent status, state, config, ctl, inbox/, deadletter/, goals/, memory/, logs/,
// mounts. Nodes are built on lookup and hold only the agent id, so idle agents cost nothing.
// Thread-safety: everything here is thread-safe; deps must outlive every node.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fs/files/files.h"
#include "fs/module.h"
#include "tick/agents.h"
#include "tick/stream_hub.h"

namespace agent9 {

class Engine;

struct AgentTreeDeps {
  AgentService* agents = nullptr;
  StreamHub* trace = nullptr;
  StreamHub* outbox = nullptr;  // outbox/stream; may be null (then an empty stream)
  Engine* engine = nullptr;     // ctl tick; null: tick answers "not supported"
  std::shared_ptr<CallCache> calls;
  // Lines for an agent's `mounts` file beyond the built-in namespace (e.g. FUSE mounts of its
  // agent-local view). May be null.
  std::function<std::vector<std::string>(const std::string& agent)> extra_mounts;
  // Domain modules (fs/module.h): their AgentEntries join every agent's directory, listed in
  // `mounts` with the module as provider. May be null.
  const Modules* modules = nullptr;
};

// The global agents/ directory: ls (paged), mkdir = create, rmdir = delete (admin only).
std::shared_ptr<Node> MakeAgentsDir(NodeId id, std::shared_ptr<const AgentTreeDeps> deps);
// One agent's directory, the same node agents/<agent> is (agents_dir_id: the id of agents/);
// the root of the agent-local view. kNotFound when the agent does not exist.
Result<std::shared_ptr<Node>> MakeAgentDir(NodeId agents_dir_id, const std::string& agent,
                                           std::shared_ptr<const AgentTreeDeps> deps);

// The `from` a message written by `who` gets: "operator" for the admin, the agent id for an
// agent.
std::string SenderName(const Caller& who);

}  // namespace agent9
