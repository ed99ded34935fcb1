#include "tick/agent_files.h"

#include <cstdint>
#include <cstring>

#include "fs/base/clock.h"
#include "fs/base/numbers.h"
#include "fs/base/path.h"
#include "tick/agent_bundle.h"
#include "tick/agent_docs.h"
#include "tick/engine.h"

namespace agent9 {
namespace {

using Deps = std::shared_ptr<const AgentTreeDeps>;

constexpr Access kOwnerRead{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};
constexpr Access kPublicRead{Who::kPublic, Who::kNobody, Who::kNobody, Who::kNobody};
constexpr Access kOwnerDocDir{Who::kOwner, Who::kNobody, Who::kOwner, Who::kOwner};
constexpr Access kOwnerDoc{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};

// Parses "<seq>.json" (seq a positive decimal integer).
std::optional<int64_t> ParseSeqName(std::string_view name) {
  constexpr std::string_view kSfx = ".json";
  if (name.size() <= kSfx.size() || name.substr(name.size() - kSfx.size()) != kSfx) return {};
  return ParseDecimal(name.substr(0, name.size() - kSfx.size()), 1, INT64_MAX);
}

std::string SeqName(int64_t seq) { return std::to_string(seq) + ".json"; }

std::shared_ptr<Node> Snapshot(NodeId id, const std::string& owner, Access a, ContentFn fn) {
  return std::make_shared<SnapshotFile>(id, owner, a, std::move(fn));
}

// ---- inbox/ -----------------------------------------------------------------------------

// A file created in inbox/: the bytes written become one message when the file is closed.
// close(2) flushes every dup of the descriptor, so a flush with nothing new written is a
// no-op, and bytes written after a flush become a further message at the next one.
class EnqueueHandle final : public Handle {
 public:
  EnqueueHandle(AgentService* agents, std::string agent, std::string from)
      : agents_(agents), agent_(std::move(agent)), from_(std::move(from)) {}
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    return ReadAt(receipt_, offset, out);
  }
  Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) override {
    uint64_t at = offset >= base_ ? offset - base_ : 0;
    if (at + in.size() > kMaxMessageBytes) return Status::TooLarge("message over 256 KiB");
    if (buf_.size() < at + in.size()) buf_.resize(at + in.size());
    std::memcpy(buf_.data() + at, in.data(), in.size());
    pending_ = true;
    return in.size();
  }
  Status Flush() override {
    if (!pending_) return Status::OK();
    pending_ = false;
    base_ += buf_.size();
    std::string msg = std::exchange(buf_, {});
    AGENT9_ASSIGN_OR_RETURN(EnqueueResult r, agents_->Enqueue(agent_, msg, from_));
    receipt_ = DumpJson(Json{{"id", r.id}, {"seq", r.seq}}) + "\n";
    return Status::OK();
  }

 private:
  AgentService* agents_;
  std::string agent_;
  std::string from_;
  std::string buf_;
  uint64_t base_ = 0;  // file offset of buf_[0]
  std::string receipt_;
  bool pending_ = false;
};

class InboxDir final : public Node {
 public:
  InboxDir(NodeId id, const std::string& agent, Deps deps)
      : Node(id, agent, Access{Who::kOwner, Who::kNobody, Who::kOwner, Who::kAdmin}),
        deps_(std::move(deps)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto msgs, deps_->agents->ListInbox(owner()));
    std::vector<DirEntry> out;
    out.reserve(msgs.size());
    for (const auto& m : msgs) {
      out.push_back(DirEntry{SeqName(m.seq), NodeType::kFile, m.envelope.size() + 1, m.ts});
    }
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such message", name);
    AGENT9_ASSIGN_OR_RETURN(QueuedMessage m, deps_->agents->GetInbox(owner(), *seq));
    (void)m;
    AgentService* agents = deps_->agents;
    std::string agent = owner();
    int64_t s = *seq;
    return Snapshot(ChildId(id(), name), owner(), kOwnerRead,
                    [agents, agent, s]() -> Result<std::string> {
                      AGENT9_ASSIGN_OR_RETURN(QueuedMessage msg, agents->GetInbox(agent, s));
                      return msg.envelope + "\n";
                    });
  }
  Result<std::unique_ptr<Handle>> Create(std::string_view, const Caller& who) override {
    return std::unique_ptr<Handle>(
        std::make_unique<EnqueueHandle>(deps_->agents, owner(), SenderName(who)));
  }
  Status Remove(std::string_view name, const Caller&) override {
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such message", name);
    return deps_->agents->DropInbox(owner(), *seq);
  }

 private:
  Deps deps_;
};

// ---- deadletter/ ------------------------------------------------------------------------

Result<std::string> DeadletterDoc(AgentService* agents, const std::string& agent, int64_t seq) {
  AGENT9_ASSIGN_OR_RETURN(DeadLetter d, agents->GetDeadletter(agent, seq));
  auto env = ParseJson(d.envelope);
  Json j = env.ok() && env->is_object() ? *env : Json{{"envelope", d.envelope}};
  j["seq"] = d.seq;
  j["reason"] = d.reason;
  j["attempts"] = d.attempts;
  j["failed_at"] = Rfc3339(d.at);
  return PrettyJson(j);
}

Result<int64_t> ParseSeqArg(const std::string& arg) {
  if (arg == "all") return int64_t{-1};
  auto v = ParseDecimal(arg, 1, INT64_MAX);
  if (!v) return Status::InvalidArgument("want a message seq or 'all'", arg);
  return *v;
}

std::shared_ptr<Node> DeadletterCtl(NodeId id, const std::string& agent, AgentService* agents) {
  auto table = std::make_shared<std::vector<CtlCommand>>();
  table->push_back(CtlCommand{"replay", 1, 1, "replay <seq>|all",
                              [agents, agent](const Caller&, const std::vector<std::string>& a) {
                                AGENT9_ASSIGN_OR_RETURN(int64_t seq, ParseSeqArg(a[0]));
                                return agents->ReplayDeadletter(agent, seq).status();
                              }});
  table->push_back(CtlCommand{"discard", 1, 1, "discard <seq>|all",
                              [agents, agent](const Caller&, const std::vector<std::string>& a) {
                                AGENT9_ASSIGN_OR_RETURN(int64_t seq, ParseSeqArg(a[0]));
                                return agents->DiscardDeadletter(agent, seq).status();
                              }});
  return std::make_shared<CtlFile>(
      id, agent, Access{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody}, std::move(table));
}

class DeadletterDir final : public Node {
 public:
  DeadletterDir(NodeId id, const std::string& agent, Deps deps)
      : Node(id, agent, Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kAdmin}),
        deps_(std::move(deps)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto dead, deps_->agents->ListDeadletter(owner()));
    std::vector<DirEntry> out{DirEntry{"ctl", NodeType::kFile, 0, 0}};
    for (const auto& d : dead) out.push_back(DirEntry{SeqName(d.seq), NodeType::kFile, 0, d.at});
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (name == "ctl") return DeadletterCtl(ChildId(id(), name), owner(), deps_->agents);
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such dead letter", name);
    AGENT9_ASSIGN_OR_RETURN(DeadLetter d, deps_->agents->GetDeadletter(owner(), *seq));
    (void)d;
    AgentService* agents = deps_->agents;
    std::string agent = owner();
    int64_t s = *seq;
    return Snapshot(ChildId(id(), name), owner(), kOwnerRead,
                    [agents, agent, s] { return DeadletterDoc(agents, agent, s); });
  }
  Status Remove(std::string_view name, const Caller&) override {
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such dead letter", name);
    return deps_->agents->DiscardDeadletter(owner(), *seq).status();
  }

 private:
  Deps deps_;
};

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

// outbox/: emitted events as <seq>.json, and `stream` (new events, NDJSON).
class OutboxDir final : public Node {
 public:
  OutboxDir(NodeId id, const std::string& agent, Deps deps)
      : Node(id, agent, Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody}),
        deps_(std::move(deps)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto events, deps_->agents->ListOutbox(owner()));
    std::vector<DirEntry> out{DirEntry{"stream", NodeType::kFile, 0, 0}};
    for (const auto& [seq, ev, at] : events) {
      out.push_back(DirEntry{SeqName(seq), NodeType::kFile, ev.size() + 1, at});
    }
    return out;
  }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (name == "stream") {
      auto stream = deps_->outbox ? deps_->outbox->Get(owner()) : std::make_shared<Stream>();
      return std::shared_ptr<Node>(
          std::make_shared<StreamFile>(ChildId(id(), name), owner(), kOwnerRead, stream));
    }
    auto seq = ParseSeqName(name);
    if (!seq) return Status::NotFound("no such event", name);
    AGENT9_ASSIGN_OR_RETURN(std::string ev, deps_->agents->GetOutbox(owner(), *seq));
    (void)ev;
    AgentService* agents = deps_->agents;
    std::string agent = owner();
    int64_t s = *seq;
    return Snapshot(ChildId(id(), name), owner(), kOwnerRead,
                    [agents, agent, s]() -> Result<std::string> {
                      AGENT9_ASSIGN_OR_RETURN(std::string e, agents->GetOutbox(agent, s));
                      return e + "\n";
                    });
  }

 private:
  Deps deps_;
};

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
  table->push_back({"inbox", NodeType::kDir, [deps](NodeId id, const std::string& a) {
                      return std::make_shared<InboxDir>(id, a, deps);
                    }});
  table->push_back({"outbox", NodeType::kDir, [deps](NodeId id, const std::string& a) {
                      return std::make_shared<OutboxDir>(id, a, deps);
                    }});
  table->push_back({"deadletter", NodeType::kDir, [deps](NodeId id, const std::string& a) {
                      return std::make_shared<DeadletterDir>(id, a, deps);
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
    s.paged = true;  // List pages through the store by id: no listing is held whole
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
    AGENT9_ASSIGN_OR_RETURN(AgentInfo a, deps_->agents->Get(name));
    return std::shared_ptr<Node>(std::make_shared<TableDir>(
        ChildId(id(), name), a.id, Access{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody},
        table_, a.created_at));
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
