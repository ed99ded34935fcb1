#include "fs/file_service.h"

#include <mutex>

namespace agent9 {
namespace {

// Serializes one handle's operations and keeps its last error for the next read.
class GuardedHandle final : public Handle {
 public:
  GuardedHandle(std::unique_ptr<Handle> inner, std::function<void(const Status&)> on_error)
      : inner_(std::move(inner)), on_error_(std::move(on_error)) {}

  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!pending_error_.empty()) {
      if (offset >= pending_error_.size()) {
        pending_error_.clear();
        return size_t{0};
      }
      return ReadAt(pending_error_, offset, out);
    }
    auto r = inner_->Read(offset, out);
    if (!r.ok()) on_error_(r.status());
    return r;
  }
  Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) override {
    std::lock_guard<std::mutex> l(mu_);
    auto r = inner_->Write(offset, in);
    if (!r.ok()) Keep(r.status());
    return r;
  }
  Status Flush() override {
    std::lock_guard<std::mutex> l(mu_);
    Status st = inner_->Flush();
    if (!st.ok()) Keep(st);
    return st;
  }
  void Cancel() override { inner_->Cancel(); }

 private:
  void Keep(const Status& st) {
    pending_error_ = "error " + std::string(CodeName(st.code())) + ": " + st.message() + "\n";
    on_error_(st);
  }
  std::mutex mu_;
  std::unique_ptr<Handle> inner_;
  std::function<void(const Status&)> on_error_;
  std::string pending_error_;
};

}  // namespace

FileService::FileService(std::shared_ptr<Node> root, IsPublicFn is_public, ErrorSink on_error,
                         ChangeFeed* changes)
    : root_(std::move(root)),
      is_public_(std::move(is_public)),
      on_error_(std::move(on_error)),
      changes_(changes) {}

Status FileService::Note(const Caller& who, const Node& node, Status st) const {
  if (!st.ok() && on_error_) on_error_(who, node, st);
  return st;
}

Result<std::shared_ptr<Node>> FileService::Walk(const Path& path, const Caller& who) const {
  std::shared_ptr<Node> cur = root_;
  AGENT9_RETURN_IF_ERROR(CheckAccess(who, *cur, Op::kSee, is_public_));
  for (const auto& seg : path.segments()) {
    AGENT9_ASSIGN_OR_RETURN(cur, Lookup(*cur, seg, who));
  }
  return cur;
}

Result<std::shared_ptr<Node>> FileService::Lookup(Node& dir, std::string_view name,
                                                  const Caller& who) const {
  AGENT9_RETURN_IF_ERROR(Path::ValidateName(name));
  AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Node> child, dir.Lookup(name));
  AGENT9_RETURN_IF_ERROR(CheckAccess(who, *child, Op::kSee, is_public_));
  return child;
}

Result<std::optional<Quota>> FileService::GetQuota(Node& node, const Caller& who) const {
  if (!CheckAccess(who, node, Op::kRead, is_public_).ok()) return std::optional<Quota>();
  return node.GetQuota();
}

Stat FileService::GetStat(const Node& node, const Caller& who, uint32_t* mode) const {
  if (mode) *mode = ModeFor(who, node, is_public_);
  return node.GetStat();
}

Result<std::vector<DirEntry>> FileService::List(Node& dir, const Caller& who,
                                                const ListRange& range) const {
  AGENT9_RETURN_IF_ERROR(CheckAccess(who, dir, Op::kRead, is_public_));
  return dir.List(range);
}

Result<std::unique_ptr<Handle>> FileService::Open(Node& node, const OpenFlags& flags,
                                                  const Caller& who) const {
  if (node.GetStat().type == NodeType::kDir && (flags.write || flags.truncate)) {
    return Status::IsDirectory("is a directory");
  }
  if (flags.read) AGENT9_RETURN_IF_ERROR(CheckAccess(who, node, Op::kRead, is_public_));
  if (flags.write || flags.truncate || flags.append) {
    AGENT9_RETURN_IF_ERROR(CheckAccess(who, node, Op::kWrite, is_public_));
  }
  auto h = node.Open(flags, who);
  if (!h.ok()) return Note(who, node, h.status());
  return Wrap(std::move(h).value(), node, who);
}

Result<std::unique_ptr<Handle>> FileService::Create(Node& dir, std::string_view name,
                                                    const Caller& who) const {
  AGENT9_RETURN_IF_ERROR(Path::ValidateName(name));
  AGENT9_RETURN_IF_ERROR(CheckAccess(who, dir, Op::kCreate, is_public_));
  auto h = dir.Create(name, who);
  if (!h.ok()) return Note(who, dir, h.status());
  return Wrap(std::move(h).value(), dir, who);
}

Status FileService::Mkdir(Node& dir, std::string_view name, const Caller& who) const {
  AGENT9_RETURN_IF_ERROR(Path::ValidateName(name));
  AGENT9_RETURN_IF_ERROR(CheckAccess(who, dir, Op::kCreate, is_public_));
  return Note(who, dir, dir.Mkdir(name, who));
}

Status FileService::Remove(Node& dir, std::string_view name, const Caller& who) const {
  AGENT9_RETURN_IF_ERROR(Path::ValidateName(name));
  AGENT9_RETURN_IF_ERROR(CheckAccess(who, dir, Op::kRemove, is_public_));
  AGENT9_RETURN_IF_ERROR(Note(who, dir, dir.Remove(name, who)));
  if (changes_) changes_->EntryRemoved(dir.id(), name);
  return Status::OK();
}

std::unique_ptr<Handle> FileService::Wrap(std::unique_ptr<Handle> h, const Node& node,
                                          const Caller& who) const {
  std::weak_ptr<const Node> weak = node.weak_from_this();
  return std::make_unique<GuardedHandle>(std::move(h), [this, weak, who](const Status& st) {
    if (auto n = weak.lock()) (void)Note(who, *n, st);
  });
}

Result<std::string> ReadToEnd(Handle& h, size_t limit) {
  std::string out;
  std::byte buf[64 * 1024];
  for (;;) {
    AGENT9_ASSIGN_OR_RETURN(size_t n, h.Read(out.size(), buf));
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buf), n);
    if (out.size() > limit) return Status::TooLarge("file too large to read whole");
  }
  return out;
}

Result<std::string> FileService::ReadAll(const Path& path, const Caller& who) const {
  AGENT9_ASSIGN_OR_RETURN(auto node, Walk(path, who));
  AGENT9_ASSIGN_OR_RETURN(auto h, Open(*node, OpenFlags{}, who));
  return ReadToEnd(*h);
}

Status FileService::WriteAll(const Path& path, std::string_view data, const Caller& who) const {
  if (path.empty()) return Status::IsDirectory("is a directory");
  std::unique_ptr<Handle> h;
  auto node = Walk(path, who);
  if (node.ok()) {
    AGENT9_ASSIGN_OR_RETURN(h, Open(**node, OpenFlags{false, true, true, false}, who));
  } else if (node.status().IsNotFound()) {
    AGENT9_ASSIGN_OR_RETURN(auto dir, Walk(path.Parent(), who));
    AGENT9_ASSIGN_OR_RETURN(h, Create(*dir, path.Base(), who));
  } else {
    return node.status();
  }
  // Written even when empty, so an empty document or message is judged, not skipped.
  auto bytes = std::as_bytes(std::span(data.data(), data.size()));
  AGENT9_ASSIGN_OR_RETURN(size_t n, h->Write(0, bytes));
  if (n != data.size()) return Status::Internal("short write");
  return h->Flush();
}

Result<std::string> FileService::Call(const Path& path, std::string_view request,
                                      const Caller& who) const {
  AGENT9_ASSIGN_OR_RETURN(auto node, Walk(path, who));
  AGENT9_ASSIGN_OR_RETURN(auto h, Open(*node, OpenFlags{true, true, false, false}, who));
  auto bytes = std::as_bytes(std::span(request.data(), request.size()));
  AGENT9_ASSIGN_OR_RETURN(size_t n, h->Write(0, bytes));
  (void)n;
  auto out = ReadToEnd(*h);
  if (!out.ok()) return out.status();
  AGENT9_RETURN_IF_ERROR(h->Flush());
  return out;
}

}  // namespace agent9
