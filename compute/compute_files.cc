#include "compute/compute_files.h"

#include <limits>

namespace agent9::compute {
namespace {

constexpr Access kOwnerRead{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};
constexpr Access kOwnerCall{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};
constexpr Access kAdminWrite{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody};

std::shared_ptr<Node> JsonFile(NodeId id, const std::string& owner,
                               std::function<Result<Json>()> fn) {
  return std::make_shared<SnapshotFile>(id, owner, kOwnerRead,
                                        [fn = std::move(fn)]() -> Result<std::string> {
                                          AGENT9_ASSIGN_OR_RETURN(Json j, fn());
                                          return PrettyJson(j);
                                        });
}

// providers/<p>/{info,models,health}
std::shared_ptr<Node> ProviderDir(NodeId id, const std::string& agent, Provider* p) {
  auto entries = std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
      {"info", NodeType::kFile,
       [p](NodeId i, const std::string& a) {
         return JsonFile(i, a, [p] { return Result<Json>(p->Info()); });
       }},
      {"models", NodeType::kFile,
       [p](NodeId i, const std::string& a) {
         return JsonFile(i, a, [p]() -> Result<Json> {
           Json out = Json::array();
           for (const auto& m : p->config().models) {
             out.push_back(Json{{"id", m.id},
                                {"input_usd_per_mtok", m.input_micro_per_mtok / 1e6},
                                {"output_usd_per_mtok", m.output_micro_per_mtok / 1e6}});
           }
           return out;
         });
       }},
      {"health", NodeType::kFile,
       [p](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
         return std::make_shared<SnapshotFile>(i, a, kOwnerRead, [p]() -> Result<std::string> {
           Status st = p->Health();
           return st.ok() ? std::string("ok\n") : "unavailable: " + st.message() + "\n";
         });
       }},
  });
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

std::shared_ptr<Node> ProvidersDir(NodeId id, const std::string& agent, ComputeService* svc) {
  auto entries = std::make_shared<std::vector<TableEntry>>();
  for (const auto& p : svc->providers()) {
    Provider* raw = p.get();
    entries->push_back(
        TableEntry{p->config().id, NodeType::kDir,
                   [raw](NodeId i, const std::string& a) { return ProviderDir(i, a, raw); }});
  }
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

std::shared_ptr<Node> JobDir(NodeId id, const std::string& agent, ComputeService* svc,
                             std::string job) {
  auto entries =
      std::make_shared<std::vector<TableEntry>>(std::vector<TableEntry>{
          {"request", NodeType::kFile,
           [svc, job](NodeId i, const std::string& a) {
             return JsonFile(i, a, [svc, a, job] { return svc->JobRequestDoc(a, job); });
           }},
          {"status", NodeType::kFile,
           [svc, job](NodeId i, const std::string& a) {
             return JsonFile(i, a, [svc, a, job] { return svc->JobStatus(a, job); });
           }},
          {"result", NodeType::kFile,
           [svc, job](
               NodeId i,
               const std::string&
                   a) { return JsonFile(i, a, [svc, a, job] { return svc->JobResult(a, job); }); }},
          {"stream", NodeType::kFile,
           [svc, job](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
             auto s = svc->JobStream(a, job);
             if (!s.ok() || !*s) {
               // Gone meanwhile (or unreadable): a stream that says so and ends, never one
               // that blocks its reader forever.
               std::string why = s.ok() ? "no stream" : s.status().message();
               auto ended = std::make_shared<Stream>(why.size() + 64);
               ended->Append(DumpJson(Json{{"error", {{"state", "unknown"}, {"message", why}}}}) +
                             "\n");
               ended->Close();
               return std::make_shared<StreamFile>(i, a, kOwnerRead, ended);
             }
             return std::make_shared<StreamFile>(i, a, kOwnerRead, *s);
           }},
          {"ctl", NodeType::kFile,
           [svc, job](NodeId i, const std::string& a) -> std::shared_ptr<Node> {
             auto table = std::make_shared<std::vector<CtlCommand>>(std::vector<CtlCommand>{
                 {"cancel", 0, 0, "cancel",
                  [svc, a, job](const Caller&, const std::vector<std::string>&) {
                    return svc->Cancel(a, job);
                  }},
             });
             return std::make_shared<CtlFile>(i, a, kOwnerCall, std::move(table));
           }},
      });
  return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries));
}

// jobs/: one directory per retained job, oldest first.
class JobsDir final : public Node {
 public:
  JobsDir(NodeId id, std::string agent, ComputeService* svc)
      : Node(id, std::move(agent), kOwnerRead), svc_(svc) {}
  Stat GetStat() const override { return DirStat(); }
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    AGENT9_RETURN_IF_ERROR(svc_->JobExists(owner(), name));
    return JobDir(ChildId(id(), name), owner(), svc_, std::string(name));
  }
  Result<std::vector<DirEntry>> List(const ListRange&) override { return svc_->ListJobs(owner()); }

 private:
  ComputeService* svc_;
};

std::shared_ptr<Node> PolicyFile(NodeId id, const std::string& agent, ComputeService* svc) {
  DocOps ops;
  ops.load = [svc, agent]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(BudgetPolicy p, svc->Policy(agent));
    return PrettyJson(p.ToJson());
  };
  ops.commit = [svc, agent](std::string text) -> Status {
    AGENT9_ASSIGN_OR_RETURN(BudgetPolicy p, BudgetPolicy::Parse(text));
    return svc->SetPolicy(agent, p);
  };
  ops.new_check =
      JsonDocChecks({.what = "compute/policy",
                     .syntax = {.object = true},
                     .max_bytes = 256 * 1024,
                     .validate = [](const Json& j) { return BudgetPolicy::FromJson(j).status(); }});
  return std::make_shared<DocFile>(id, agent, kAdminWrite, std::move(ops));
}

}  // namespace

TableEntry ComputeEntry(ComputeService* svc, std::shared_ptr<CallCache> calls) {
  return TableEntry{"compute", NodeType::kDir,
                    [svc, calls](NodeId id, const std::string& agent) -> std::shared_ptr<Node> {
                      auto
                          entries =
                              std::make_shared<std::vector<TableEntry>>(
                                  std::vector<TableEntry>{
                                      {"providers", NodeType::kDir,
                                       [svc](NodeId i, const std::string& a) {
                                         return ProvidersDir(i, a, svc);
                                       }},
                                      {"new", NodeType::kFile,
                                       [svc, calls](NodeId i,
                                                    const std::string& a) -> std::shared_ptr<Node> {
                                         CallFn fn =
                                             [svc, a](const Caller&,
                                                      std::string request) -> Result<std::string> {
                                           AGENT9_ASSIGN_OR_RETURN(Json j, svc->Submit(a, request));
                                           return PrettyJson(j);
                                         };
                                         return std::make_shared<CallFile>(i, a, kOwnerCall,
                                                                           std::move(fn), calls);
                                       }},
                                      {"jobs", NodeType::kDir,
                                       [svc](NodeId i, const std::string& a)
                                           -> std::shared_ptr<Node> {
                                         return std::make_shared<JobsDir>(i, a, svc);
                                       }},
                                      {"policy", NodeType::kFile,
                                       [svc](NodeId i, const std::string& a) {
                                         return PolicyFile(i, a, svc);
                                       }},
                                      {"usage", NodeType::kFile,
                                       [svc](NodeId i, const std::string& a) {
                                         return JsonFile(i, a, [svc, a]() -> Result<Json> {
                                           AGENT9_ASSIGN_OR_RETURN(BudgetUsage u, svc->Usage(a));
                                           return u.ToJson();
                                         });
                                       }},
                                  });
                      // df on compute/: the day's budget. No day limit: the ordinary answer.
                      QuotaFn quota = [svc, agent]() -> Result<std::optional<Quota>> {
                        AGENT9_ASSIGN_OR_RETURN(BudgetUsage u, svc->Usage(agent));
                        if (!u.day_window.limit) return std::optional<Quota>();
                        return std::optional<Quota>(
                            Quota{static_cast<uint64_t>(*u.day_window.limit),
                                  static_cast<uint64_t>(*u.day_window.remaining())});
                      };
                      return std::make_shared<TableDir>(id, agent, kOwnerRead, std::move(entries),
                                                        0, std::move(quota));
                    }};
}

}  // namespace agent9::compute
