#include "fs/node.h"

#include <cstring>

namespace agent9 {

NodeId ChildId(NodeId parent, std::string_view name) {
  // FNV-1a over the parent id and the name, then a final avalanche (splitmix64).
  uint64_t h = 1469598103934665603ULL;
  for (int i = 0; i < 8; ++i) {
    h ^= (parent >> (8 * i)) & 0xff;
    h *= 1099511628211ULL;
  }
  h ^= '/';
  h *= 1099511628211ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  h &= 0x7fffffffffffffffULL;  // stay positive for tools that print ino_t signed
  return h < 2 ? h + 2 : h;
}

std::string Caller::Name() const {
  switch (principal) {
    case Principal::kAdmin:
      return "admin";
    case Principal::kAgent:
      return "agent:" + agent_id;
    case Principal::kPublic:
      return "public";
  }
  return "public";
}

Result<std::unique_ptr<Handle>> Node::Open(const OpenFlags&, const Caller&) {
  return Status::IsDirectory("is a directory");
}
Result<std::shared_ptr<Node>> Node::Lookup(std::string_view) {
  return Status::NotDirectory("not a directory");
}
Result<std::vector<DirEntry>> Node::List(const ListRange&) {
  return Status::NotDirectory("not a directory");
}
Result<std::unique_ptr<Handle>> Node::Create(std::string_view, const Caller&) {
  return GetStat().type == NodeType::kDir
             ? Status(Code::kPermissionDenied, "files cannot be created here")
             : Status::NotDirectory("not a directory");
}
Status Node::Mkdir(std::string_view, const Caller&) {
  return GetStat().type == NodeType::kDir
             ? Status(Code::kPermissionDenied, "directories cannot be made here")
             : Status::NotDirectory("not a directory");
}
Status Node::Remove(std::string_view, const Caller&) {
  return GetStat().type == NodeType::kDir
             ? Status(Code::kPermissionDenied, "entries cannot be removed here")
             : Status::NotDirectory("not a directory");
}

size_t ReadAt(std::string_view content, uint64_t offset, std::span<std::byte> out) {
  if (offset >= content.size()) return 0;
  size_t n = std::min<size_t>(out.size(), content.size() - static_cast<size_t>(offset));
  std::memcpy(out.data(), content.data() + offset, n);
  return n;
}

}  // namespace agent9
