#include "tick/agent_files.h"

#include <cstdint>

#include "fs/base/clock.h"
#include "fs/base/numbers.h"
#include "fs/base/path.h"
#include "tick/agent_bundle.h"
#include "tick/agent_docs.h"
#include "tick/agent_files_internal.h"
#include "tick/engine.h"
#include "tick/hud_settings.h"

namespace agent9 {
namespace {

using Deps = std::shared_ptr<const AgentTreeDeps>;

constexpr Access kPublicRead{Who::kPublic, Who::kNobody, Who::kNobody, Who::kNobody};
constexpr Access kOwnerDocDir{Who::kOwner, Who::kNobody, Who::kOwner, Who::kOwner};
constexpr Access kOwnerDoc{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};

// ---- ctl, config, status, mounts --------------------------------------------------------

Result<int64_t> ParsePositiveMs(const std::string& s) {
  auto v = ParseDecimal(s, 0, 315'360'000'000);  // ten years
  if (!v) return Status::InvalidArgument("in_ms must be an integer of milliseconds", s);
  return *v;
}

std::shared_ptr<Node> AgentCtl(NodeId id, const std::string& agent, AgentService* agents,
                               Engine* engine) {
  auto table = std::make_shared<std::vector<CtlCommand>>();
  table->push_back(
      CtlCommand{"tick", 0, 1, "tick [reason]",
                 [engine, agent](const Caller& who, const std::vector<std::string>& a) {
                   if (!engine) {
                     return Status::Unimplemented("tick: no tick engine runs here");
                   }
                   return engine->RequestTick(agent, a.empty() ? who.Name() : a[0]);
                 }});
  table->push_back(CtlCommand{"hibernate", 0, 0, "hibernate",
                              [agents, agent](const Caller&, const std::vector<std::string>&) {
                                return agents->SetLifecycle(agent, "hibernated");
                              }});
  table->push_back(
      CtlCommand{"wake", 0, 0, "wake",
                 [agents, agent, engine](const Caller&, const std::vector<std::string>&) {
                   AGENT9_RETURN_IF_ERROR(agents->SetLifecycle(agent, "active"));
                   if (engine) engine->Notify(agent);
                   return Status::OK();
                 }});
  table->push_back(CtlCommand{
      "alarm", 1, 2, "alarm <in_ms> [payload]",
      [agents, agent, engine](const Caller&, const std::vector<std::string>& a) -> Status {
        AGENT9_ASSIGN_OR_RETURN(int64_t ms, ParsePositiveMs(a[0]));
        // The payload is JSON when it parses as JSON (nested at most kMaxInputJsonDepth
        // levels, since ticks copy it), else text.
        Json payload = nullptr;
        if (a.size() > 1) {
          auto j = ParseJson(a[1], "payload", kMaxInputJsonDepth);
          payload = j.ok() ? std::move(j).value() : Json(a[1]);
        }
        AGENT9_RETURN_IF_ERROR(agents->AddAlarm(agent, ms, std::nullopt, payload).status());
        if (engine) engine->WakeAlarms();
        return Status::OK();
      }});
  table->push_back(
      CtlCommand{"cancel-alarm", 1, 1, "cancel-alarm <id>",
                 [agents, agent](const Caller&, const std::vector<std::string>& a) -> Status {
                   auto alarm = ParseDecimal(a[0], 1, INT64_MAX);
                   if (!alarm)
                     return Status::InvalidArgument("cancel-alarm wants an alarm id", a[0]);
                   return agents->CancelAlarm(agent, *alarm);
                 }});
  std::string usage;
  for (const auto& c : *table) usage += c.usage + "\n";
  ContentFn show = [agents, agent, usage]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(std::string alarms, agents->DescribeAlarms(agent));
    return usage + alarms;
  };
  return std::make_shared<CtlFile>(id, agent,
                                   Access{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody},
                                   std::move(table), std::move(show));
}

std::shared_ptr<Node> ConfigFile(NodeId id, const std::string& agent, AgentService* agents,
                                 Engine* engine) {
  DocOps ops;
  ops.load = [agents, agent]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(AgentConfig c, agents->GetConfig(agent));
    return PrettyJson(c.ToJson());
  };
  ops.commit = [agents, agent, engine](std::string text) -> Status {
    AGENT9_ASSIGN_OR_RETURN(AgentConfig c, AgentConfig::Parse(text));
    AGENT9_RETURN_IF_ERROR(agents->SetConfig(agent, c));
    if (engine) engine->Notify(agent);  // a new kind may run what queued meanwhile
    return Status::OK();
  };
  // env may hold secrets: no message (nor the trace) quotes the document.
  ops.new_check =
      JsonDocChecks({.what = "config",
                     .syntax = {.object = true},
                     .max_bytes = 64 * 1024,
                     .excerpt = false,
                     .validate = [](const Json& j) { return AgentConfig::FromJson(j).status(); }});
  return std::make_shared<DocFile>(
      id, agent, Access{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody}, std::move(ops));
}

std::shared_ptr<Node> HudSettingsFile(NodeId id, const std::string& agent, AgentService* agents) {
  DocOps ops;
  ops.load = [agents, agent]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(Json j, agents->GetHudSettings(agent));
    return PrettyJson(j);
  };
  ops.commit = [agents, agent](std::string text) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Json j, ParseJsonObject(text, "hud/settings"));
    return agents->SetHudSettings(agent, j);
  };
  ops.new_check =
      JsonDocChecks({.what = "hud/settings",
                     .syntax = {.object = true},
                     .max_bytes = 64 * 1024,
                     .validate = [](const Json& j) { return CleanHudSettings(j).status(); }});
  return std::make_shared<DocFile>(
      id, agent, Access{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody}, std::move(ops));
}

// A read-only JSON document built at open.
std::shared_ptr<Node> JsonSnapshot(NodeId id, const std::string& owner, Access a,
                                   std::function<Result<Json>()> fn) {
  return Snapshot(id, owner, a, [fn = std::move(fn)]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(Json j, fn());
    return PrettyJson(j);
  });
}

// logs/trajectory: NDJSON, one record per tick; the open parameters from and to (HTTP
// ?from=&to=) select a tick range.
std::shared_ptr<Node> TrajectoryFile(NodeId id, const std::string& agent, AgentService* agents) {
  ParamContentFn gen = [agents, agent](const OpenFlags& f) -> Result<std::string> {
    std::optional<int64_t> bound[2];
    const char* names[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
      const std::string* v = f.Param(names[i]);
      if (!v) continue;
      bound[i] = ParseDecimal(*v, 0, INT64_MAX);
      if (!bound[i]) {
        return Status::InvalidArgument(std::string(names[i]) + " must be a tick number", *v);
      }
    }
    if (bound[0] && bound[1] && *bound[0] > *bound[1]) {
      return Status::InvalidArgument("from is after to");
    }
    AGENT9_ASSIGN_OR_RETURN(auto records, agents->Trajectory(agent, bound[0], bound[1]));
    std::string out;
    for (const auto& r : records) out += r + "\n";
    return out;
  };
  return std::make_shared<SnapshotFile>(id, agent, kOwnerRead, std::move(gen));
}

// public_read: goals/ is among what a public agent shows (DESIGN section 3).
std::shared_ptr<Node> DocDirOf(NodeId id, const std::string& agent, AgentService* agents,
                               DocRules rules, bool public_read = false) {
  auto store =
      std::make_shared<AgentDocStore>(agents->db(), agents->clock(), agent, std::move(rules));
  Access dir = kOwnerDocDir, file = kOwnerDoc;
  if (public_read) dir.read = file.read = Who::kPublic;
  return std::make_shared<DocDir>(id, agent, dir, file, std::move(store));
}

std::shared_ptr<const std::vector<TableEntry>> AgentTable(Deps deps) {
  AgentService* agents = deps->agents;
  auto memory =
      std::make_shared<std::vector<TableEntry>>(std::
                                                    vector<TableEntry>{
                                                        {"conversations", NodeType::kDir,
                                                         [agents](NodeId id, const std::string& a) {
                                                           return DocDirOf(id, a, agents,
                                                                           ConversationRules());
                                                         }},
                                                        {"patterns", NodeType::kDir,
                                                         [agents](NodeId id, const std::string& a) {
                                                           return DocDirOf(id, a, agents,
                                                                           PatternRules());
                                                         }},
                                                        // The whole agent as a tar bundle, built
                                                        // once per open (DESIGN section 8).
                                                        {"export", NodeType::kFile,
                                                         [agents](NodeId id, const std::string& a) {
                                                           return Snapshot(
                                                               id, a, kOwnerRead, [agents, a] {
                                                                 return ExportAgent(*agents, a);
                                                               });
                                                         }},
                                                    });
  auto hud = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      {"settings", NodeType::kFile,
       [agents](NodeId id, const std::string& a) { return HudSettingsFile(id, a, agents); }},
  });
  StreamHub* trace = deps->trace;
  auto logs = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      {"trace", NodeType::kFile,
       [trace](NodeId id, const std::string& a) -> std::shared_ptr<Node> {
         return std::make_shared<StreamFile>(id, a, kOwnerRead, trace->Get(a));
       }},
      {"trajectory", NodeType::kFile,
       [agents](NodeId id, const std::string& a) { return TrajectoryFile(id, a, agents); }},
  });
  // metrics/ is among what a public agent shows (DESIGN section 3).
  auto metrics = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      {"apm", NodeType::kFile,
       [agents](NodeId id, const std::string& a) {
         return JsonSnapshot(id, a, kPublicRead, [agents, a] { return agents->ApmJson(a); });
       }},
      {"queue", NodeType::kFile,
       [agents](NodeId id, const std::string& a) {
         return JsonSnapshot(id, a, kPublicRead, [agents, a] { return agents->QueueJson(a); });
       }},
  });
  auto table = std::make_shared<std::vector<TableEntry>>();
  Engine* engine = deps->engine;
  table->push_back({"ctl", NodeType::kFile, [agents, engine](NodeId id, const std::string& a) {
                      return AgentCtl(id, a, agents, engine);
                    }});
  table->push_back({"status", NodeType::kFile, [agents](NodeId id, const std::string& a) {
                      return JsonSnapshot(id, a, kPublicRead,
                                          [agents, a] { return agents->StatusJson(a); });
                    }});
  table->push_back({"state", NodeType::kFile, [agents](NodeId id, const std::string& a) {
                      return Snapshot(id, a, kOwnerRead, [agents, a]() -> Result<std::string> {
                        AGENT9_ASSIGN_OR_RETURN(std::string s, agents->GetState(a));
                        return s + "\n";
                      });
                    }});
  table->push_back({"config", NodeType::kFile, [agents, engine](NodeId id, const std::string& a) {
                      return ConfigFile(id, a, agents, engine);
                    }});
  table->push_back({"inbox", NodeType::kDir,
                    [deps](NodeId id, const std::string& a) { return MakeInboxDir(id, a, deps); }});
  table->push_back({"outbox", NodeType::kDir, [deps](NodeId id, const std::string& a) {
                      return MakeOutboxDir(id, a, deps);
                    }});
  table->push_back({"deadletter", NodeType::kDir, [deps](NodeId id, const std::string& a) {
                      return MakeDeadletterDir(id, a, deps);
                    }});
  table->push_back({"goals", NodeType::kDir, [agents](NodeId id, const std::string& a) {
                      return DocDirOf(id, a, agents, GoalRules(), /*public_read=*/true);
                    }});
  table->push_back({"memory", NodeType::kDir, [memory](NodeId id, const std::string& a) {
                      return std::make_shared<TableDir>(id, a, kOwnerRead, memory);
                    }});
  table->push_back({"hud", NodeType::kDir, [hud](NodeId id, const std::string& a) {
                      return std::make_shared<TableDir>(id, a, kOwnerRead, hud);
                    }});
  table->push_back({"logs", NodeType::kDir, [logs](NodeId id, const std::string& a) {
                      return std::make_shared<TableDir>(id, a, kOwnerRead, logs);
                    }});
  table->push_back({"metrics", NodeType::kDir, [metrics](NodeId id, const std::string& a) {
                      return std::make_shared<TableDir>(id, a, kPublicRead, metrics);
                    }});
  auto extra = deps->extra_mounts;
  std::string builtin = "path\taccess\tprovider\n";
  for (const auto& e : *table) {
    builtin += "/" + e.name + (e.type == NodeType::kDir ? "/" : "") + "\tagent\tlocal\n";
  }
  if (deps->modules) {
    for (const auto& m : deps->modules->list()) {
      for (auto& e : m->AgentEntries()) {
        builtin += "/" + e.name + (e.type == NodeType::kDir ? "/" : "") + "\tagent\t" +
                   std::string(m->name()) + "\n";
        table->push_back(std::move(e));
      }
    }
  }
  builtin += "/mounts\tagent\tlocal\n";
  table->push_back({"mounts", NodeType::kFile, [extra, builtin](NodeId id, const std::string& a) {
                      return Snapshot(id, a, kOwnerRead,
                                      [extra, builtin, a]() -> Result<std::string> {
                                        std::string out = builtin;
                                        if (extra) {
                                          for (const auto& line : extra(a)) out += line + "\n";
                                        }
                                        return out;
                                      });
                    }});
  return table;
}

class AgentsDir final : public Node {
 public:
  AgentsDir(NodeId id, Deps deps)
      : Node(id, "", Access{Who::kAdmin, Who::kNobody, Who::kAdmin, Who::kAdmin}),
        deps_(std::move(deps)),
        table_(AgentTable(deps_)) {}
  Stat GetStat() const override {
    Stat s = DirStat();
    s.paged = true;            // List pages through the store by id: no listing is held whole
    s.names_announced = true;  // AgentService::Delete announces every removal
    return s;
  }
  Result<std::vector<DirEntry>> List(const ListRange& range) override {
    AGENT9_ASSIGN_OR_RETURN(auto agents, deps_->agents->List(range.after, range.limit));
    std::vector<DirEntry> out;
    out.reserve(agents.size());
    for (const auto& a : agents) out.push_back(DirEntry{a.id, NodeType::kDir, 0, a.created_at});
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (!ValidateAgentId(name).ok()) return Status::NotFound("no such agent", name);
    AGENT9_ASSIGN_OR_RETURN(int64_t created_at, deps_->agents->CreatedAt(name));
    return std::shared_ptr<Node>(std::make_shared<TableDir>(
        ChildId(id(), name), std::string(name),
        Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody}, table_, created_at));
  }
  Status Mkdir(std::string_view name, const Caller&) override {
    return deps_->agents->Create(name, AgentConfig{}).status();
  }
  Status Remove(std::string_view name, const Caller&) override {
    AGENT9_RETURN_IF_ERROR(deps_->agents->Delete(name));
    if (deps_->trace) deps_->trace->Drop(std::string(name));
    return Status::OK();
  }

 private:
  Deps deps_;
  std::shared_ptr<const std::vector<TableEntry>> table_;
};

}  // namespace

std::string SenderName(const Caller& who) {
  switch (who.principal) {
    case Principal::kAdmin:
      return "operator";
    case Principal::kAgent:
      return who.agent_id;
    case Principal::kPublic:
      return "public";
  }
  return "public";
}

std::shared_ptr<Node> MakeAgentsDir(NodeId id, Deps deps) {
  return std::make_shared<AgentsDir>(id, std::move(deps));
}

Result<std::shared_ptr<Node>> MakeAgentDir(NodeId agents_dir_id, const std::string& agent,
                                           Deps deps) {
  return AgentsDir(agents_dir_id, std::move(deps)).Lookup(agent);
}

}  // namespace agent9
