#include "nostr/nostr_files.h"

namespace agent9::nostr {
namespace {

constexpr Access kOwnerRead{Who::kOwner, Who::kNobody, Who::kNobody, Who::kNobody};
constexpr Access kAdminRead{Who::kAdmin, Who::kNobody, Who::kNobody, Who::kNobody};
// Relay lists: the agent reads its own, only the admin writes them.
constexpr Access kRelays{Who::kOwner, Who::kAdmin, Who::kNobody, Who::kNobody};
constexpr Access kOwnerCall{Who::kOwner, Who::kOwner, Who::kNobody, Who::kNobody};
constexpr size_t kMaxRelayList = 16 * 1024;

std::shared_ptr<Node> RelaysFile(NodeId id, const std::string& owner, NostrService* service) {
  DocOps ops;
  ops.load = [service, owner]() { return service->DescribeRelays(owner); };
  ops.commit = [service, owner](std::string text) { return service->SetRelays(owner, text); };
  ops.new_check = [service] {
    return WholeDocCheck([service](std::string_view p) -> Status {
      if (p.size() > kMaxRelayList) return Status::TooLarge("nostr/relays over 16 KiB");
      return service->CheckRelaysPrefix(p);
    });
  };
  return std::make_shared<DocFile>(id, owner, kRelays, std::move(ops));
}

}  // namespace

std::vector<TableEntry> NostrAgentEntries(NostrService* service, std::shared_ptr<CallCache> calls) {
  auto files = std::make_shared<std::vector<TableEntry>>();
  files->push_back({"relays", NodeType::kFile, [service](NodeId id, const std::string& a) {
                      return RelaysFile(id, a, service);
                    }});
  files->push_back({"publish", NodeType::kFile,
                    [service, calls](NodeId id, const std::string& a) -> std::shared_ptr<Node> {
                      CallFn fn = [service, a](const Caller&,
                                               std::string request) -> Result<std::string> {
                        AGENT9_ASSIGN_OR_RETURN(Json answer, service->Publish(a, request));
                        return PrettyJson(answer);
                      };
                      return std::make_shared<CallFile>(id, a, kOwnerCall, std::move(fn), calls);
                    }});
  std::shared_ptr<const std::vector<TableEntry>> table = std::move(files);
  return {TableEntry{"nostr", NodeType::kDir,
                     [table](NodeId id, const std::string& a) -> std::shared_ptr<Node> {
                       return std::make_shared<TableDir>(id, a, kOwnerRead, table);
                     }}};
}

std::vector<TableEntry> NostrGlobalEntries(NostrService* service) {
  auto files = std::make_shared<std::vector<TableEntry>>();
  files->push_back({"relays", NodeType::kFile, [service](NodeId id, const std::string&) {
                      return RelaysFile(id, "", service);
                    }});
  std::shared_ptr<const std::vector<TableEntry>> table = std::move(files);
  return {TableEntry{"nostr", NodeType::kDir,
                     [table](NodeId id, const std::string&) -> std::shared_ptr<Node> {
                       return std::make_shared<TableDir>(id, "", kAdminRead, table);
                     }}};
}

}  // namespace agent9::nostr
