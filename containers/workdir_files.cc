#include "containers/workdir_files.h"

#include <cstring>

#include "fs/files/files.h"

namespace agent9::containers {
namespace {

constexpr Access kOwnerAll{Who::kOwner, Who::kOwner, Who::kOwner, Who::kOwner};

std::string Join(const std::string& rel, std::string_view name) {
  return rel.empty() ? std::string(name) : rel + "/" + std::string(name);
}

Status CheckName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return Status::PermissionDenied("path escapes the workdir", name);
  }
  return Status::OK();
}

// A file of the workdir, open: its content read at open (or empty after O_TRUNC / create),
// edited in memory, written back whole at close when changed.
class WorkdirHandle final : public Handle {
 public:
  WorkdirHandle(std::shared_ptr<Sandbox> sb, std::string path, std::string content, bool dirty,
                bool append)
      : sb_(std::move(sb)),
        path_(std::move(path)),
        buf_(std::move(content)),
        dirty_(dirty),
        append_(append) {}
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    return ReadAt(buf_, offset, out);
  }
  Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) override {
    if (append_) offset = buf_.size();
    if (offset > static_cast<uint64_t>(kMaxFileBytes) ||
        in.size() > static_cast<uint64_t>(kMaxFileBytes) - offset) {
      return Status::TooLarge("file larger than 16 MiB", path_);
    }
    if (buf_.size() < offset + in.size()) buf_.resize(offset + in.size());
    std::memcpy(buf_.data() + offset, in.data(), in.size());
    dirty_ = true;
    return in.size();
  }
  Status Flush() override {
    if (!dirty_) return Status::OK();
    dirty_ = false;
    return sb_->WriteFile(path_, buf_);
  }

 private:
  std::shared_ptr<Sandbox> sb_;
  std::string path_;
  std::string buf_;
  bool dirty_;
  bool append_;
};

class WorkdirEntry final : public Node {
 public:
  WorkdirEntry(NodeId id, std::string agent, SessionService* svc, std::string sid, std::string rel,
               bool dir, int64_t size, int64_t mtime_ms)
      : Node(id, std::move(agent), kOwnerAll),
        svc_(svc),
        sid_(std::move(sid)),
        rel_(std::move(rel)),
        dir_(dir),
        size_(size),
        mtime_ms_(mtime_ms) {}

  Stat GetStat() const override {
    if (dir_) return DirStat(mtime_ms_);
    Stat s;
    s.type = NodeType::kFile;
    s.size = static_cast<uint64_t>(size_);
    s.mtime_ms = mtime_ms_;
    s.direct_io = true;
    return s;
  }

  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override {
    if (!dir_) return Status::NotDirectory("not a directory", rel_);
    AGENT9_RETURN_IF_ERROR(CheckName(name));
    AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, svc_->LiveSandbox(owner(), sid_));
    std::string path = Join(rel_, name);
    AGENT9_ASSIGN_OR_RETURN(FileEntry e, sb->StatFile(path));
    return std::shared_ptr<Node>(std::make_shared<WorkdirEntry>(
        ChildId(id(), name), owner(), svc_, sid_, path, e.dir, e.size, e.mtime_ms));
  }

  Result<std::vector<DirEntry>> List(const ListRange&) override {
    if (!dir_) return Status::NotDirectory("not a directory", rel_);
    AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, svc_->LiveSandbox(owner(), sid_));
    AGENT9_ASSIGN_OR_RETURN(auto entries, sb->List(rel_));
    std::vector<DirEntry> out;
    out.reserve(entries.size());
    for (auto& e : entries) {
      out.push_back(DirEntry{std::move(e.name), e.dir ? NodeType::kDir : NodeType::kFile,
                             static_cast<uint64_t>(e.size), e.mtime_ms});
    }
    return out;
  }

  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller&) override {
    if (dir_) return Status::IsDirectory("is a directory", rel_);
    AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, svc_->LiveSandbox(owner(), sid_));
    std::string content;
    if (!(flags.write && flags.truncate)) {
      AGENT9_ASSIGN_OR_RETURN(content, sb->ReadFile(rel_));
    }
    // O_TRUNC empties the file at open, as a disk file would.
    bool dirty = flags.write && flags.truncate;
    return std::unique_ptr<Handle>(std::make_unique<WorkdirHandle>(
        std::move(sb), rel_, std::move(content), dirty, flags.append));
  }

  Result<std::unique_ptr<Handle>> Create(std::string_view name, const Caller&) override {
    if (!dir_) return Status::NotDirectory("not a directory", rel_);
    AGENT9_RETURN_IF_ERROR(CheckName(name));
    AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, svc_->LiveSandbox(owner(), sid_));
    std::string path = Join(rel_, name);
    AGENT9_RETURN_IF_ERROR(sb->WriteFile(path, ""));  // exists from now on, as after creat(2)
    return std::unique_ptr<Handle>(
        std::make_unique<WorkdirHandle>(std::move(sb), path, std::string(), false, false));
  }

  Status Mkdir(std::string_view name, const Caller&) override {
    if (!dir_) return Status::NotDirectory("not a directory", rel_);
    AGENT9_RETURN_IF_ERROR(CheckName(name));
    AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, svc_->LiveSandbox(owner(), sid_));
    return sb->Mkdir(Join(rel_, name));
  }

  Status Remove(std::string_view name, const Caller&) override {
    if (!dir_) return Status::NotDirectory("not a directory", rel_);
    AGENT9_RETURN_IF_ERROR(CheckName(name));
    AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Sandbox> sb, svc_->LiveSandbox(owner(), sid_));
    return sb->Remove(Join(rel_, name));
  }

 private:
  SessionService* svc_;
  std::string sid_;
  std::string rel_;
  bool dir_;
  int64_t size_;
  int64_t mtime_ms_;
};

}  // namespace

std::shared_ptr<Node> WorkdirNode(NodeId id, const std::string& agent, SessionService* svc,
                                  std::string sid, std::string rel, bool dir) {
  return std::make_shared<WorkdirEntry>(id, agent, svc, std::move(sid), std::move(rel), dir, 0, 0);
}

}  // namespace agent9::containers
