// Reusable file kinds (STYLE 2.3). Modules assemble agent trees out of these instead of
// writing Node subclasses:
//   SnapshotFile  content built once at Open; reads slice it, so chunked reads never tear.
//   DocFile/DocDir  a directory of stored documents with validation (goals, patterns, config).
//   CtlFile       one write = one "verb args..." command from a table (Plan 9 Cmdtab).
//   CallFile      write a request, read the response on the same handle.
//   StreamFile    an append-only byte stream; reads block until data arrives.
//   TableDir      a fixed directory declared as a table {name, type, factory}.
// Thread-safety: nodes are immutable after construction; handles are used by one thread at a
// time (FileService serializes them); Stream is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "fs/base/mutex.h"
#include "fs/files/doc_check.h"
#include "fs/node.h"

namespace agent9 {

using ContentFn = std::function<Result<std::string>()>;
// Content that depends on the open's parameters (OpenFlags::params).
using ParamContentFn = std::function<Result<std::string>(const OpenFlags&)>;

// ---- SnapshotFile ---------------------------------------------------------------------
class SnapshotFile final : public Node {
 public:
  SnapshotFile(NodeId id, std::string owner, Access access, ContentFn gen)
      : Node(id, std::move(owner), access),
        gen_([g = std::move(gen)](const OpenFlags&) { return g(); }) {}
  SnapshotFile(NodeId id, std::string owner, Access access, ParamContentFn gen)
      : Node(id, std::move(owner), access), gen_(std::move(gen)) {}
  Stat GetStat() const override;
  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller& who) override;

 private:
  ParamContentFn gen_;
};

// ---- Documents ------------------------------------------------------------------------
// A store of named documents behind a DocDir. Implementations validate content in Put;
// a failed Put leaves the old document unchanged.
class DocStore {
 public:
  virtual ~DocStore() = default;
  virtual Result<std::vector<DirEntry>> List() = 0;
  // kNotFound when absent.
  virtual Result<DirEntry> StatDoc(std::string_view name) = 0;
  virtual Result<std::string> Get(std::string_view name) = 0;
  // Replaces (or creates) the document. kInvalidArgument for bad names or content.
  virtual Status Put(std::string_view name, std::string content) = 0;
  // Whether O_APPEND opens are allowed (then Append is called at flush). Default: false.
  virtual bool CanAppend() const { return false; }
  virtual Status Append(std::string_view name, std::string data);
  virtual Status Remove(std::string_view name) = 0;
  // Checks a name before a create (default OK).
  virtual Status CheckName(std::string_view name);
  // The check of what is written to the document `name`, a fresh one for each open: a
  // document that cannot become valid (or is already complete and invalid) fails the write
  // itself, where the shell sees it, rather than only the close. Default: CheckPrefix on
  // everything written so far, at every write().
  virtual std::unique_ptr<PrefixCheck> NewPrefixCheck(std::string_view name);
  // The simple form of NewPrefixCheck, for small documents. Default: OK.
  virtual Status CheckPrefix(std::string_view prefix);
};

// One document as a file; also used for single documents such as `config`.
struct DocOps {
  ContentFn load;                             // current content
  std::function<Status(std::string)> commit;  // validate + replace
  std::function<Status(std::string)> append;  // optional: O_APPEND
  // optional: a check for each open, of the bytes written (the document, or what is being
  // appended) at every write and at close
  PrefixCheckFn new_check;
  std::function<Result<DirEntry>()> stat;  // optional: size and mtime
};

class DocFile final : public Node {
 public:
  DocFile(NodeId id, std::string owner, Access access, DocOps ops)
      : Node(id, std::move(owner), access), ops_(std::move(ops)) {}
  Stat GetStat() const override;
  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller& who) override;
  // A handle for a document that does not exist yet (create): starts empty, commits at flush.
  std::unique_ptr<Handle> OpenNew();

 private:
  DocOps ops_;
};

class DocDir final : public Node {
 public:
  // access: of the directory (read = list, create, remove); file_access: of each document.
  DocDir(NodeId id, std::string owner, Access access, Access file_access,
         std::shared_ptr<DocStore> store)
      : Node(id, std::move(owner), access), file_access_(file_access), store_(std::move(store)) {}
  Stat GetStat() const override;
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override;
  Result<std::vector<DirEntry>> List(const ListRange& range) override;
  Result<std::unique_ptr<Handle>> Create(std::string_view name, const Caller& who) override;
  Status Remove(std::string_view name, const Caller& who) override;

 private:
  std::shared_ptr<DocFile> MakeFile(std::string_view name) const;
  Access file_access_;
  std::shared_ptr<DocStore> store_;
};

// ---- CtlFile --------------------------------------------------------------------------
struct CtlCommand {
  std::string verb;
  int min_args = 0;
  int max_args = 0;   // the last argument takes the rest of the line
  std::string usage;  // "alarm <in_ms> [payload]"
  std::function<Status(const Caller&, const std::vector<std::string>&)> run;
};

// Splits "verb a b rest of line" against table; kInvalidArgument with a message naming the
// problem for unknown verbs and wrong argument counts. Exposed for tests and fuzzing.
Result<std::pair<const CtlCommand*, std::vector<std::string>>> ParseCtl(
    const std::vector<CtlCommand>& table, std::string_view line);

class CtlFile final : public Node {
 public:
  // read: what a read shows (the usage when null).
  CtlFile(NodeId id, std::string owner, Access access,
          std::shared_ptr<const std::vector<CtlCommand>> table, ContentFn read = nullptr)
      : Node(id, std::move(owner), access), table_(std::move(table)), read_(std::move(read)) {}
  Stat GetStat() const override;
  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller& who) override;

 private:
  std::shared_ptr<const std::vector<CtlCommand>> table_;
  ContentFn read_;
};

// ---- CallFile -------------------------------------------------------------------------
// Keeps the last outcome per (file, caller) for a while, so `echo REQ > f; cat f` works: the
// response, or the error of a call that failed (a fresh read then fails the same way, rather
// than showing an older answer).
class CallCache {
 public:
  explicit CallCache(std::chrono::seconds ttl = std::chrono::seconds(60)) : ttl_(ttl) {}
  void Put(NodeId id, const std::string& caller, Result<std::string> outcome);
  std::optional<Result<std::string>> Get(NodeId id, const std::string& caller);

 private:
  struct Entry {
    Result<std::string> outcome;
    std::chrono::steady_clock::time_point at;
  };
  const std::chrono::seconds ttl_;
  Mutex mu_;
  std::map<std::pair<NodeId, std::string>, Entry> entries_ GUARDED_BY(mu_);
};

using CallFn = std::function<Result<std::string>(const Caller&, std::string request)>;

class CallFile final : public Node {
 public:
  CallFile(NodeId id, std::string owner, Access access, CallFn fn, std::shared_ptr<CallCache> cache)
      : Node(id, std::move(owner), access), fn_(std::move(fn)), cache_(std::move(cache)) {}
  Stat GetStat() const override;
  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller& who) override;

 private:
  CallFn fn_;
  std::shared_ptr<CallCache> cache_;
};

// ---- Streams --------------------------------------------------------------------------
// An append-only byte stream with a bounded retained backlog. Positions are absolute byte
// offsets since the stream began; bytes older than the backlog are gone.
class Stream {
 public:
  explicit Stream(size_t retain_bytes = 1 << 20) : retain_(retain_bytes) {}
  void Append(std::string_view data);
  // Ends the stream: blocked and later reads past the end return 0.
  void Close();
  // First retained position.
  uint64_t Begin();
  // Every retained byte, from Begin() to now (no wait): what a stream that ended leaves to store.
  std::string Retained();
  // Copies bytes at *pos (moved forward to the backlog start when older) into out and
  // advances *pos. With nothing to read: wait_ms 0 returns 0; -1 blocks until data, Close()
  // or *cancel; >0 waits that long, then kDeadlineExceeded. Returns 0 at the end.
  // A set *cancel is consumed (cleared) when it ends a read, so a reader interrupted once
  // (a signal on a FUSE read) can read again.
  Result<size_t> Read(uint64_t* pos, std::span<std::byte> out, int wait_ms,
                      std::atomic<bool>* cancel);
  // Wakes every blocked reader (so they can check their cancel flags).
  void WakeAll();

 private:
  const size_t retain_;
  Mutex mu_;
  CondVar cv_;
  std::string buf_ GUARDED_BY(mu_);
  uint64_t base_ GUARDED_BY(mu_) = 0;  // position of buf_[0]
  bool closed_ GUARDED_BY(mu_) = false;
};

class StreamFile final : public Node {
 public:
  StreamFile(NodeId id, std::string owner, Access access, std::shared_ptr<Stream> stream)
      : Node(id, std::move(owner), access), stream_(std::move(stream)) {}
  Stat GetStat() const override;
  Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller& who) override;

 private:
  std::shared_ptr<Stream> stream_;
};

// ---- TableDir -------------------------------------------------------------------------
struct TableEntry {
  std::string name;
  NodeType type = NodeType::kFile;
  // Builds the child; owner is the directory's owner (the agent id in an agent tree).
  std::function<std::shared_ptr<Node>(NodeId id, const std::string& owner)> make;
};

using QuotaFn = std::function<Result<std::optional<Quota>>()>;

class TableDir final : public Node {
 public:
  // quota: what statfs on the directory reports (may be null: the ordinary answer).
  TableDir(NodeId id, std::string owner, Access access,
           std::shared_ptr<const std::vector<TableEntry>> entries, int64_t mtime_ms = 0,
           QuotaFn quota = nullptr)
      : Node(id, std::move(owner), access),
        entries_(std::move(entries)),
        mtime_ms_(mtime_ms),
        quota_(std::move(quota)) {}
  Stat GetStat() const override;
  Result<std::shared_ptr<Node>> Lookup(std::string_view name) override;
  Result<std::vector<DirEntry>> List(const ListRange& range) override;
  Result<std::optional<Quota>> GetQuota() override {
    return quota_ ? quota_() : Result<std::optional<Quota>>(std::optional<Quota>());
  }

 private:
  std::shared_ptr<const std::vector<TableEntry>> entries_;
  int64_t mtime_ms_;
  QuotaFn quota_;
};

// Directory stat helper for Node subclasses elsewhere.
Stat DirStat(int64_t mtime_ms = 0);

}  // namespace agent9
