#include "fs/permissions.h"

namespace agent9 {
namespace {

bool Allowed(const Caller& who, const Node& node, Who level, const IsPublicFn& is_public) {
  switch (level) {
    case Who::kNobody:
      return false;
    case Who::kAdmin:
      return who.principal == Principal::kAdmin;
    case Who::kOwner:
      return who.principal == Principal::kAdmin ||
             (who.principal == Principal::kAgent && !node.owner().empty() &&
              who.agent_id == node.owner());
    case Who::kPublic:
      if (Allowed(who, node, Who::kOwner, is_public)) return true;
      return !node.owner().empty() && is_public && is_public(node.owner());
  }
  return false;
}

Who LevelFor(const Node& node, Op op) {
  const Access& a = node.access();
  switch (op) {
    case Op::kSee:
      return Who::kPublic;
    case Op::kRead:
      return a.read;
    case Op::kWrite:
      return a.write;
    case Op::kCreate:
      return a.create;
    case Op::kRemove:
      return a.remove;
  }
  return Who::kNobody;
}

}  // namespace

Status CheckAccess(const Caller& who, const Node& node, Op op, const IsPublicFn& is_public) {
  if (op == Op::kSee) {
    // The global tree (owner "") is walkable by everyone; what they may do there is decided
    // by the node's own access. Agent trees are visible to their owner (and the admin), and
    // to the public only when the agent is public.
    if (who.principal == Principal::kAdmin) return Status::OK();
    if (node.owner().empty()) return Status::OK();
    if (Allowed(who, node, Who::kPublic, is_public)) return Status::OK();
  } else if (Allowed(who, node, LevelFor(node, op), is_public)) {
    return Status::OK();
  }
  if (who.principal == Principal::kPublic) return Status::Unauthenticated("a token is required");
  static constexpr std::string_view kVerb[] = {"access", "read", "write", "create in",
                                               "remove from"};
  return Status::PermissionDenied(std::string(who.Name()) + " may not " +
                                  std::string(kVerb[static_cast<int>(op)]) + " this file");
}

uint32_t ModeFor(const Caller& who, const Node& node, const IsPublicFn& is_public) {
  bool dir = node.GetStat().type == NodeType::kDir;
  uint32_t mode = 0;
  if (CheckAccess(who, node, Op::kRead, is_public).ok()) mode |= dir ? 0555 : 0444;
  if (dir) {
    if (CheckAccess(who, node, Op::kCreate, is_public).ok() ||
        CheckAccess(who, node, Op::kRemove, is_public).ok()) {
      mode |= 0200;
    }
    if (mode == 0) mode = 0111;  // traversable, not listable
  } else if (CheckAccess(who, node, Op::kWrite, is_public).ok()) {
    mode |= 0200;
  }
  return mode;
}

}  // namespace agent9
