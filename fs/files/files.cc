#include "fs/files/files.h"

#include <algorithm>
#include <cstring>

namespace agent9 {
namespace {

std::string_view AsText(std::span<const std::byte> in) {
  return {reinterpret_cast<const char*>(in.data()), in.size()};
}

// Serves one fixed string; rejects writes.
class StringHandle final : public Handle {
 public:
  explicit StringHandle(std::string content) : content_(std::move(content)) {}
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    return ReadAt(content_, offset, out);
  }
  Result<size_t> Write(uint64_t, std::span<const std::byte>) override {
    return Status::PermissionDenied("file is read-only");
  }

 private:
  std::string content_;
};

}  // namespace

Stat DirStat(int64_t mtime_ms) {
  Stat s;
  s.type = NodeType::kDir;
  s.mtime_ms = mtime_ms;
  s.direct_io = false;
  s.attrs_fixed = true;
  return s;
}

// ---- SnapshotFile ----------------------------------------------------------------------

namespace {

// Generated files: size 0, no mtime, whatever the content.
Stat FixedFileStat() {
  Stat s;
  s.attrs_fixed = true;
  return s;
}

}  // namespace

Stat SnapshotFile::GetStat() const { return FixedFileStat(); }

Result<std::unique_ptr<Handle>> SnapshotFile::Open(const OpenFlags& flags, const Caller&) {
  if (flags.write || flags.truncate || flags.append) {
    return Status::PermissionDenied("file is read-only");
  }
  AGENT9_ASSIGN_OR_RETURN(std::string content, gen_(flags));
  return std::unique_ptr<Handle>(std::make_unique<StringHandle>(std::move(content)));
}

// ---- Documents ------------------------------------------------------------------------

Status DocStore::Append(std::string_view, std::string) {
  return Status::Unimplemented("this file does not support appending");
}
Status DocStore::CheckName(std::string_view) { return Status::OK(); }
Status DocStore::CheckPrefix(std::string_view) { return Status::OK(); }
std::unique_ptr<PrefixCheck> DocStore::NewPrefixCheck(std::string_view) {
  return WholeDocCheck([this](std::string_view p) { return CheckPrefix(p); });
}

namespace {

class DocHandle final : public Handle {
 public:
  // base: the content offset writes edit (empty after truncate or for a new document).
  DocHandle(const DocOps* ops, std::string base, bool dirty, bool append)
      : ops_(ops),
        buf_(std::move(base)),
        dirty_(dirty),
        append_(append),
        check_(ops->new_check ? ops->new_check() : nullptr) {}

  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    return ReadAt(buf_, offset, out);
  }
  Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) override {
    std::string_view data = AsText(in);
    if (append_) {
      if (appended_.size() + data.size() > kMaxDoc) {
        failed_ = true;
        return Status::TooLarge("append too large");
      }
      size_t kept = appended_.size();
      appended_.append(data);
      dirty_ = true;
      AGENT9_RETURN_IF_ERROR(Checked(appended_, kept));
      return in.size();
    }
    if (offset > kMaxDoc || data.size() > kMaxDoc - offset) {
      failed_ = true;
      return Status::TooLarge("document too large");
    }
    if (buf_.size() < offset + data.size()) buf_.resize(offset + data.size());
    std::memcpy(buf_.data() + offset, data.data(), data.size());
    dirty_ = true;
    // What is judged is what this handle wrote: from 0 to the furthest byte it wrote (bytes
    // of the old content past it may still be written over).
    size_t kept = std::min<size_t>(offset, written_);
    written_ = std::max<size_t>(written_, offset + data.size());
    AGENT9_RETURN_IF_ERROR(Checked(std::string_view(buf_).substr(0, written_), kept));
    return in.size();
  }
  Status Flush() override {
    if (!dirty_ || failed_) return Status::OK();
    dirty_ = false;
    if (append_) {
      if (!ops_->append) return Status::Unimplemented("this file does not support appending");
      std::string data = std::exchange(appended_, {});
      if (check_) AGENT9_RETURN_IF_ERROR(check_->Finish(data, data.size()));
      return ops_->append(std::move(data));
    }
    if (check_) AGENT9_RETURN_IF_ERROR(check_->Finish(buf_, written_));
    return ops_->commit(buf_);
  }

 private:
  static constexpr uint64_t kMaxDoc = 1 << 20;
  Status Checked(std::string_view doc, size_t kept) {
    if (!check_) return Status::OK();
    Status st = check_->Check(doc, kept);
    // A hopeless document is never committed, unless a later write mends what was written
    // (the close judges it whole again anyway).
    failed_ = !st.ok();
    return st;
  }
  const DocOps* ops_;  // owned by the DocFile, which the handle's node ref keeps alive
  std::string buf_;
  std::string appended_;
  bool dirty_;
  bool append_;
  bool failed_ = false;
  size_t written_ = 0;  // the furthest byte written on this handle
  std::unique_ptr<PrefixCheck> check_;
};

// Keeps the node alive as long as the handle (so ops_ stays valid).
class NodeRefHandle final : public Handle {
 public:
  NodeRefHandle(std::shared_ptr<const Node> node, std::unique_ptr<Handle> inner)
      : node_(std::move(node)), inner_(std::move(inner)) {}
  Result<size_t> Read(uint64_t o, std::span<std::byte> out) override {
    return inner_->Read(o, out);
  }
  Result<size_t> Write(uint64_t o, std::span<const std::byte> in) override {
    return inner_->Write(o, in);
  }
  Status Flush() override { return inner_->Flush(); }
  void Cancel() override { inner_->Cancel(); }

 private:
  std::shared_ptr<const Node> node_;
  std::unique_ptr<Handle> inner_;
};

}  // namespace

Stat DocFile::GetStat() const {
  Stat s;
  s.direct_io = true;
  if (ops_.stat) {
    auto e = ops_.stat();
    if (e.ok()) {
      s.size = e->size;
      s.mtime_ms = e->mtime_ms;
    }
  }
  return s;
}

Result<std::unique_ptr<Handle>> DocFile::Open(const OpenFlags& flags, const Caller&) {
  if (flags.append && !ops_.append) {
    return Status::Unimplemented("this file cannot be appended to; write it whole");
  }
  std::string base;
  if (!flags.truncate && !flags.append) {
    AGENT9_ASSIGN_OR_RETURN(base, ops_.load());
  }
  // Nothing is committed until something is written: close(2) flushes every dup of a
  // descriptor (the shell's `echo > f` closes one before it writes).
  auto inner = std::make_unique<DocHandle>(&ops_, std::move(base), false, flags.append);
  return std::unique_ptr<Handle>(
      std::make_unique<NodeRefHandle>(shared_from_this(), std::move(inner)));
}

std::unique_ptr<Handle> DocFile::OpenNew() {
  auto inner = std::make_unique<DocHandle>(&ops_, std::string(), false, false);
  return std::make_unique<NodeRefHandle>(shared_from_this(), std::move(inner));
}

Stat DocDir::GetStat() const {
  Stat s = DirStat();
  s.names_announced = true;  // documents go only through Remove (FileService announces it)
  return s;
}

std::shared_ptr<DocFile> DocDir::MakeFile(std::string_view name) const {
  std::string n(name);
  std::shared_ptr<DocStore> st = store_;
  DocOps ops;
  ops.load = [st, n] { return st->Get(n); };
  ops.commit = [st, n](std::string c) { return st->Put(n, std::move(c)); };
  if (st->CanAppend()) {
    ops.append = [st, n](std::string c) { return st->Append(n, std::move(c)); };
  }
  ops.new_check = [st, n] { return st->NewPrefixCheck(n); };
  ops.stat = [st, n] { return st->StatDoc(n); };
  return std::make_shared<DocFile>(ChildId(id(), name), owner(), file_access_, std::move(ops));
}

Result<std::shared_ptr<Node>> DocDir::Lookup(std::string_view name) {
  AGENT9_ASSIGN_OR_RETURN(DirEntry e, store_->StatDoc(name));
  (void)e;
  return std::shared_ptr<Node>(MakeFile(name));
}

Result<std::vector<DirEntry>> DocDir::List(const ListRange&) { return store_->List(); }

Result<std::unique_ptr<Handle>> DocDir::Create(std::string_view name, const Caller&) {
  AGENT9_RETURN_IF_ERROR(store_->CheckName(name));
  return MakeFile(name)->OpenNew();
}

Status DocDir::Remove(std::string_view name, const Caller&) { return store_->Remove(name); }

// ---- CtlFile --------------------------------------------------------------------------

Result<std::pair<const CtlCommand*, std::vector<std::string>>> ParseCtl(
    const std::vector<CtlCommand>& table, std::string_view line) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  // The line end: newlines and blanks in any order ("tick x\r \n" is "tick x", not "x\r").
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || is_space(line.back()))) {
    line.remove_suffix(1);
  }
  auto skip = [&](std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
  };
  line = skip(line);
  if (line.empty()) return Status::InvalidArgument("empty control message");
  for (char c : line) {
    if (c == '\n' || c == '\0') return Status::InvalidArgument("one control message per write");
  }
  size_t end = 0;
  while (end < line.size() && !is_space(line[end])) ++end;
  std::string_view verb = line.substr(0, end);
  line = skip(line.substr(end));
  const CtlCommand* cmd = nullptr;
  for (const auto& c : table) {
    if (c.verb == verb) cmd = &c;
  }
  if (!cmd) return Status::InvalidArgument("unknown control message", verb);
  std::vector<std::string> args;
  while (!line.empty()) {
    if (static_cast<int>(args.size()) + 1 == cmd->max_args) {
      while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
      args.emplace_back(line);
      break;
    }
    if (static_cast<int>(args.size()) >= cmd->max_args) {
      return Status::InvalidArgument("bad # args to command", "usage: " + cmd->usage);
    }
    size_t e = 0;
    while (e < line.size() && !is_space(line[e])) ++e;
    args.emplace_back(line.substr(0, e));
    line = skip(line.substr(e));
  }
  if (static_cast<int>(args.size()) < cmd->min_args) {
    return Status::InvalidArgument("bad # args to command", "usage: " + cmd->usage);
  }
  return std::make_pair(cmd, std::move(args));
}

namespace {

class CtlHandle final : public Handle {
 public:
  CtlHandle(std::shared_ptr<const std::vector<CtlCommand>> table, Caller who, std::string shown)
      : table_(std::move(table)), who_(std::move(who)), shown_(std::move(shown)) {}
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    return ReadAt(shown_, offset, out);
  }
  Result<size_t> Write(uint64_t, std::span<const std::byte> in) override {
    AGENT9_ASSIGN_OR_RETURN(auto parsed, ParseCtl(*table_, AsText(in)));
    AGENT9_RETURN_IF_ERROR(parsed.first->run(who_, parsed.second));
    return in.size();
  }

 private:
  std::shared_ptr<const std::vector<CtlCommand>> table_;
  Caller who_;
  std::string shown_;
};

}  // namespace

Stat CtlFile::GetStat() const { return FixedFileStat(); }

Result<std::unique_ptr<Handle>> CtlFile::Open(const OpenFlags& flags, const Caller& who) {
  std::string shown;
  if (flags.read) {
    if (read_) {
      AGENT9_ASSIGN_OR_RETURN(shown, read_());
    } else {
      for (const auto& c : *table_) shown += c.usage + "\n";
    }
  }
  return std::unique_ptr<Handle>(std::make_unique<CtlHandle>(table_, who, std::move(shown)));
}

// ---- CallFile -------------------------------------------------------------------------

void CallCache::Put(NodeId id, const std::string& caller, Result<std::string> outcome) {
  MutexLock l(&mu_);
  auto now = std::chrono::steady_clock::now();
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now - it->second.at > ttl_ ? entries_.erase(it) : std::next(it);
  }
  entries_.insert_or_assign({id, caller}, Entry{std::move(outcome), now});
}

std::optional<Result<std::string>> CallCache::Get(NodeId id, const std::string& caller) {
  MutexLock l(&mu_);
  auto it = entries_.find({id, caller});
  if (it == entries_.end()) return std::nullopt;
  if (std::chrono::steady_clock::now() - it->second.at > ttl_) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.outcome;
}

namespace {

class CallHandle final : public Handle {
 public:
  CallHandle(const CallFn* fn, std::shared_ptr<CallCache> cache, NodeId id, Caller who)
      : fn_(fn), cache_(std::move(cache)), id_(id), who_(std::move(who)) {}

  Result<size_t> Write(uint64_t, std::span<const std::byte> in) override {
    if (ran_) return Status::InvalidArgument("the call already ran on this handle");
    if (request_.size() + in.size() > kMaxRequest) return Status::TooLarge("request too large");
    request_.append(AsText(in));
    return in.size();
  }
  Result<size_t> Read(uint64_t offset, std::span<std::byte> out) override {
    if (!ran_) {
      if (request_.empty()) {
        auto cached = cache_->Get(id_, who_.Name());
        if (!cached) return Status::InvalidArgument("empty request: write one first");
        if (!cached->ok()) return cached->status();  // the last call failed: say so again
        response_ = std::move(cached->value());
        ran_ = true;
      } else {
        AGENT9_RETURN_IF_ERROR(Run());
      }
    }
    return ReadAt(response_, offset, out);
  }
  Status Flush() override {
    if (ran_ || request_.empty()) return Status::OK();
    return Run();
  }

 private:
  static constexpr size_t kMaxRequest = 1 << 20;
  Status Run() {
    ran_ = true;
    Result<std::string> r = (*fn_)(who_, std::move(request_));
    cache_->Put(id_, who_.Name(), r);
    if (!r.ok()) return r.status();
    response_ = std::move(r).value();
    return Status::OK();
  }
  const CallFn* fn_;
  std::shared_ptr<CallCache> cache_;
  NodeId id_;
  Caller who_;
  std::string request_;
  std::string response_;
  bool ran_ = false;
};

}  // namespace

Stat CallFile::GetStat() const {
  Stat s = FixedFileStat();
  s.call = true;
  return s;
}

Result<std::unique_ptr<Handle>> CallFile::Open(const OpenFlags&, const Caller& who) {
  auto inner = std::make_unique<CallHandle>(&fn_, cache_, id(), who);
  return std::unique_ptr<Handle>(
      std::make_unique<NodeRefHandle>(shared_from_this(), std::move(inner)));
}

// ---- Streams --------------------------------------------------------------------------

void Stream::Append(std::string_view data) {
  {
    MutexLock l(&mu_);
    buf_.append(data);
    if (buf_.size() > retain_) {
      size_t drop = buf_.size() - retain_;
      buf_.erase(0, drop);
      base_ += drop;
    }
  }
  cv_.SignalAll();
}

void Stream::Close() {
  {
    MutexLock l(&mu_);
    closed_ = true;
  }
  cv_.SignalAll();
}

uint64_t Stream::Begin() {
  MutexLock l(&mu_);
  return base_;
}

std::string Stream::Retained() {
  MutexLock l(&mu_);
  return buf_;
}

void Stream::WakeAll() { cv_.SignalAll(); }

Result<size_t> Stream::Read(uint64_t* pos, std::span<std::byte> out, int wait_ms,
                            std::atomic<bool>* cancel) {
  MutexLock l(&mu_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    if (*pos < base_) *pos = base_;
    uint64_t end = base_ + buf_.size();
    if (*pos < end) {
      size_t n = ReadAt(std::string_view(buf_).substr(static_cast<size_t>(*pos - base_)), 0, out);
      *pos += n;
      return n;
    }
    if (closed_ || wait_ms == 0) return size_t{0};
    if (cancel && cancel->exchange(false)) return Status(Code::kAborted, "read interrupted");
    if (wait_ms < 0) {
      cv_.WaitFor(&mu_, std::chrono::milliseconds(250));
    } else {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return Status(Code::kDeadlineExceeded, "no data yet");
      cv_.WaitFor(&mu_, deadline - now);
    }
  }
}

namespace {

class StreamHandle final : public Handle {
 public:
  StreamHandle(std::shared_ptr<Stream> s, int wait_ms)
      : s_(std::move(s)), pos_(s_->Begin()), wait_ms_(wait_ms) {}
  Result<size_t> Read(uint64_t, std::span<std::byte> out) override {
    return s_->Read(&pos_, out, wait_ms_, &cancel_);
  }
  Result<size_t> Write(uint64_t, std::span<const std::byte>) override {
    return Status::PermissionDenied("stream is read-only");
  }
  void Cancel() override {
    cancel_ = true;
    s_->WakeAll();
  }

 private:
  std::shared_ptr<Stream> s_;
  uint64_t pos_;
  int wait_ms_;
  std::atomic<bool> cancel_{false};
};

}  // namespace

Stat StreamFile::GetStat() const {
  Stat s = FixedFileStat();
  s.stream = true;
  return s;
}

Result<std::unique_ptr<Handle>> StreamFile::Open(const OpenFlags& flags, const Caller&) {
  if (flags.write || flags.truncate || flags.append) {
    return Status::PermissionDenied("stream is read-only");
  }
  return std::unique_ptr<Handle>(std::make_unique<StreamHandle>(stream_, flags.wait_ms));
}

// ---- TableDir -------------------------------------------------------------------------

Stat TableDir::GetStat() const {
  Stat s = DirStat(mtime_ms_);
  s.names_announced = true;  // a fixed table: its names go only with the directory itself
  return s;
}

Result<std::shared_ptr<Node>> TableDir::Lookup(std::string_view name) {
  for (const auto& e : *entries_) {
    if (e.name == name) return e.make(ChildId(id(), name), owner());
  }
  return Status::NotFound("no such file", name);
}

Result<std::vector<DirEntry>> TableDir::List(const ListRange&) {
  std::vector<DirEntry> out;
  out.reserve(entries_->size());
  for (const auto& e : *entries_) out.push_back(DirEntry{e.name, e.type, 0, mtime_ms_});
  return out;
}

}  // namespace agent9
