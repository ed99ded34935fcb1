#include "containers/container_files.h"

#include "containers/nostr_auth.h"
#include "containers/workdir_files.h"

namespace agent9::containers {
namespace {

constexpr Access kOwnerRead{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};
constexpr Access kOwnerCall{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};
constexpr Access kAdminWrite{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody};

using Entries = std::vector<TableEntry>;

std::shared_ptr<Node> JsonFile(NodeId id, const std::string& owner,
                               std::function<Result<Json>()> fn) {
  return std::make_shared<SnapshotFile>(id, owner, kOwnerRead,
                                        [fn = std::move(fn)]() -> Result<std::string> {
                                          AGENT9_ASSIGN_OR_RETURN(Json j, fn());
                                          return PrettyJson(j);
                                        });
}

TableEntry JsonEntry(std::string name, std::function<Result<Json>(const std::string&)> fn) {
  return TableEntry{std::move(name), NodeType::kFile,
                    [fn = std::move(fn)](NodeId i, const std::string& a) {
                      return JsonFile(i, a, [fn, a] { return fn(a); });
                    }};
}

std::shared_ptr<Node> StreamOf(NodeId id, const std::string& agent,
                               Result<std::shared_ptr<Stream>> s) {
  if (!s.ok() || !*s) {
    // Gone meanwhile (or unreadable): a stream that says so and ends, never one that blocks
    // its reader forever.
    std::string why = s.ok() ? "no output" : s.status().message();
    auto ended = std::make_shared<Stream>(why.size() + 64);
    ended->Append(DumpJson(Json{{"error", {{"message", why}}}}) + "\n");
    ended->Close();
    return std::make_shared<StreamFile>(id, agent, kOwnerRead, ended);
  }
  return std::make_shared<StreamFile>(id, agent, kOwnerRead, *s);
}

std::shared_ptr<Node> CallOf(NodeId id, const std::string& agent, std::shared_ptr<CallCache> calls,
                             std::function<Result<Json>(std::string)> fn) {
  CallFn call = [fn = std::move(fn)](const Caller&, std::string request) -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(Json j, fn(std::move(request)));
    return PrettyJson(j);
  };
  return std::make_shared<CallFile>(id, agent, kOwnerCall, std::move(call), std::move(calls));
}

// providers/<p>/{info,health}
std::shared_ptr<Node> ProviderDir(NodeId id, const std::string& agent, SandboxProvider* p) {
  auto entries = std::make_shared<Entries>(Entries{
      JsonEntry("info", [p](const std::string&) { return Result<Json>(p->Info()); }),
      {"health", NodeType::kFile,
       [p](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
         return std::make_shared<SnapshotFile>(i, a, kOwnerRead, [p]() -> Result<std::string> {
           auto h = p->Health();
           return h.ok() ? *h + "\n" : "unavailable: " + h.status().message() + "\n";
         });
       }},
  });
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

std::shared_ptr<Node> ProvidersDir(NodeId id, const std::string& agent, SessionService* svc) {
  auto entries = std::make_shared<Entries>();
  for (const auto& p : svc->providers()) {
    SandboxProvider* raw = p.get();
    entries->push_back(TableEntry{p->id(), NodeType::kDir, [raw](NodeId i, const std::string& a) {
                                    return ProviderDir(i, a, raw);
                                  }});
  }
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

// exec/<eid>/{status,result,output}
std::shared_ptr<Node> ExecDir(NodeId id, const std::string& agent, SessionService* svc,
                              std::string sid, std::string eid) {
  auto entries = std::make_shared<Entries>(Entries{
      JsonEntry("status",
                [svc, sid, eid](const std::string& a) { return svc->ExecStatus(a, sid, eid); }),
      JsonEntry("result",
                [svc, sid, eid](const std::string& a) { return svc->ExecResult(a, sid, eid); }),
      {"output", NodeType::kFile,
       [svc, sid, eid](NodeId i, const std::string& a) {
         return StreamOf(i, a, svc->ExecOutput(a, sid, eid));
       }},
  });
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

// exec/: `new` plus one directory per exec.
class ExecsDir final : public Node {
 public:
  ExecsDir(NodeId id, std::string agent, SessionService* svc, std::string sid,
           std::shared_ptr<CallCache> calls)
      : Node(id, std::move(agent), kOwnerRead),
        svc_(svc),
        sid_(std::move(sid)),
        calls_(std::move(calls)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (name == "new") {
      SessionService* svc = svc_;
      std::string sid = sid_, agent = owner();
      return CallOf(ChildId(id(), name), owner(), calls_,
                    [svc, sid, agent](std::string req) { return svc->Exec(agent, sid, req); });
    }
    AGENT9_RETURN_IF_ERROR(svc_->ExecStatus(owner(), sid_, name).status());
    return ExecDir(ChildId(id(), name), owner(), svc_, sid_, std::string(name));
  }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    AGENT9_ASSIGN_OR_RETURN(auto list, svc_->ListExecs(owner(), sid_));
    list.insert(list.begin(), DirEntry{"new", NodeType::kFile, 0, 0});
    return list;
  }

 private:
  SessionService* svc_;
  std::string sid_;
  std::shared_ptr<CallCache> calls_;
};

std::shared_ptr<Node> SessionDir(NodeId id, const std::string& agent, SessionService* svc,
                                 std::string sid, std::shared_ptr<CallCache> calls) {
  auto text = [svc, sid](std::string name) {
    return TableEntry{name, NodeType::kFile,
                      [svc, sid, name](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
                        return std::make_shared<SnapshotFile>(
                            i, a, kOwnerRead,
                            [svc, sid, name, a] { return svc->SessionText(a, sid, name); });
                      }};
  };
  auto entries =
      std::make_shared<Entries>(Entries{
          JsonEntry("request",
                    [svc, sid](const std::string& a) { return svc->SessionRequestDoc(a, sid); }),
          JsonEntry("status",
                    [svc, sid](const std::string& a) { return svc->SessionStatus(a, sid); }),
          JsonEntry("result",
                    [svc, sid](const std::string& a) { return svc->SessionResult(a, sid); }),
          JsonEntry("usage",
                    [svc, sid](const std::string& a) { return svc->SessionUsage(a, sid); }),
          text("stdout"),
          text("stderr"),
          {"output", NodeType::kFile,
           [svc, sid](NodeId i, const std::string& a) {
             return StreamOf(i, a, svc->SessionOutput(a, sid));
           }},
          {"ctl", NodeType::kFile,
           [svc, sid](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
             auto table = std::make_shared<std::vector<CtlCommand>>(std::vector<CtlCommand>{
                 {"stop", 0, 0, "stop",
                  [svc, a, sid](const Caller&, const std::vector<std::string>&) {
                    return svc->StopSession(a, sid, false);
                  }},
                 {"kill", 0, 0, "kill",
                  [svc, a, sid](const Caller&, const std::vector<std::string>&) {
                    return svc->StopSession(a, sid, true);
                  }},
             });
             return std::make_shared<CtlFile>(i, a, kOwnerCall, std::move(table));
           }},
          {"exec", NodeType::kDir,
           [svc, sid, calls](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
             return std::make_shared<ExecsDir>(i, a, svc, sid, calls);
           }},
          {"files", NodeType::kDir,
           [svc, sid](NodeId i,
                      const std::string& a) { return WorkdirNode(i, a, svc, sid, "", true); }},
      });
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

// sessions/: one directory per retained session, oldest first.
class SessionsDir final : public Node {
 public:
  SessionsDir(NodeId id, std::string agent, SessionService* svc, std::shared_ptr<CallCache> calls)
      : Node(id, std::move(agent), kOwnerRead), svc_(svc), calls_(std::move(calls)) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    AGENT9_RETURN_IF_ERROR(svc_->SessionExists(owner(), name));
    return SessionDir(ChildId(id(), name), owner(), svc_, std::string(name), calls_);
  }
  Result<std::vector<DirEntry>> List(const ListRange&) override {
    return svc_->ListSessions(owner());
  }

 private:
  SessionService* svc_;
  std::shared_ptr<CallCache> calls_;
};

std::shared_ptr<Node> PolicyFile(NodeId id, const std::string& agent, SessionService* svc) {
  DocOps ops;
  ops.load = [svc, agent]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(ContainerPolicy p, svc->Policy(agent));
    return PrettyJson(p.ToJson());
  };
  ops.commit = [svc, agent](std::string text) -> Status {
    AGENT9_ASSIGN_OR_RETURN(ContainerPolicy p, ContainerPolicy::Parse(text));
    return svc->SetPolicy(agent, p);
  };
  ops.new_check = JsonDocChecks(
      {.what = "containers/policy",
       .syntax = {.object = true},
       .max_bytes = 256 * 1024,
       .validate = [](const Json& j) { return ContainerPolicy::FromJson(j).status(); }});
  return std::make_shared<DocFile>(id, agent, kAdminWrite, std::move(ops));
}

std::shared_ptr<Node> AuthDir(NodeId id, const std::string& agent, NostrAuth* auth) {
  auto entries = std::make_shared<Entries>(Entries{
      JsonEntry("challenge",
                [auth](const std::string& a) -> Result<Json> {
                  if (!auth) return Status::Unimplemented("Nostr auth is not available");
                  return auth->Authenticate(a);
                }),
      JsonEntry("status",
                [auth](const std::string& a) -> Result<Json> {
                  if (!auth) return Json::object();
                  return auth->AuthStatus(a);
                }),
  });
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

}  // namespace

TableEntry ContainersEntry(SessionService* svc, NostrAuth* auth, std::shared_ptr<CallCache> calls) {
  return TableEntry{
      "containers", NodeType::kDir,
      [svc, auth, calls](NodeId id, const std::string& agent) -> std::shared_ptr<Node> {
        auto entries = std::make_shared<Entries>(Entries{
            {"providers", NodeType::kDir,
             [svc](NodeId i, const std::string& a) { return ProvidersDir(i, a, svc); }},
            {"new", NodeType::kFile,
             [svc, calls](NodeId i, const std::string& a) {
               return CallOf(i, a, calls,
                             [svc, a](std::string req) { return svc->Submit(a, req); });
             }},
            {"sessions", NodeType::kDir,
             [svc, calls](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
               return std::make_shared<SessionsDir>(i, a, svc, calls);
             }},
            {"policy", NodeType::kFile,
             [svc](NodeId i, const std::string& a) { return PolicyFile(i, a, svc); }},
            JsonEntry("usage", [svc](const std::string& a) { return svc->Usage(a); }),
            {"auth", NodeType::kDir,
             [auth](NodeId i, const std::string& a) { return AuthDir(i, a, auth); }},
        });
        return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
      }};
}

}  // namespace agent9::containers
