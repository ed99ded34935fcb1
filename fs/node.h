// Node and Handle: the Plan 9 shape of every agent9 file. A Node is what a file *is* (shared,
// thread-safe, cheap to build on each lookup); a Handle is one open of it (a 9P fid, a FUSE
// fh, one HTTP request). Transports reach Nodes only through FileService, which makes every
// permission check (fs/permissions.h) before calling into a Node.
// Thread-safety: Node methods may be called from any thread at once. A Handle is used by one
// thread at a time (FileService wraps every Handle in a mutex), except Cancel().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/base/status.h"

namespace agent9 {

using NodeId = uint64_t;
inline constexpr NodeId kRootNodeId = 1;

// A stable id for the child `name` of `parent`: the same path gives the same id in every
// process, so inode numbers survive restarts. Never 0 or 1.
NodeId ChildId(NodeId parent, std::string_view name);

enum class Principal : uint8_t { kAdmin, kAgent, kPublic };

// Who is asking: the admin token or global mount, an agent token or agent-local mount, or
// nobody (public).
struct Caller {
  Principal principal = Principal::kPublic;
  std::string agent_id;  // set for kAgent
  // A Nostr identity the request proved (NIP-98), as npub1...: an operator (kAdmin) or a
  // stranger (kPublic) who may send messages. Empty otherwise.
  std::string npub;

  static Caller Admin() { return {Principal::kAdmin, {}, {}}; }
  static Caller Agent(std::string_view id) { return {Principal::kAgent, std::string(id), {}}; }
  static Caller Public() { return {Principal::kPublic, {}, {}}; }
  // "admin", "agent:<id>", "public".
  std::string Name() const;
};

// Who may do an operation on a node (DESIGN section 3).
enum class Who : uint8_t {
  kNobody,  // no principal, admin included
  kAdmin,   // the admin only
  kOwner,   // the admin and the agent that owns the node
  kPublic,  // as kOwner, plus anyone when the owning agent is public
};

struct Access {
  Who read = Who::kOwner;
  Who write = Who::kNobody;   // open for writing
  Who create = Who::kNobody;  // directories: create a file or mkdir inside
  Who remove = Who::kNobody;  // directories: remove an entry
};

enum class NodeType : uint8_t { kFile, kDir };

struct Stat {
  NodeType type = NodeType::kFile;
  uint64_t size = 0;      // exact, or 0 for generated content
  int64_t mtime_ms = 0;   // Unix ms
  bool direct_io = true;  // generated content: bypass the page cache
  bool stream = false;    // nonseekable, reads block until data arrives
  bool call = false;      // call file: write a request, read the response on one handle
  // Directories: List() honours ListRange (name order, after, limit), so a transport can walk
  // the directory a page at a time instead of holding the whole listing (agents/).
  bool paged = false;
  // What a transport may cache (FUSE: entry and attr timeouts above 0).
  // names_announced (directories): a child's name goes away only with an announcement on the
  // tree's ChangeFeed (fs/change_feed.h), so the name -> node mapping may be cached.
  // attrs_fixed: these attributes never change while the node's name exists (directories,
  // and generated files, which report size 0 and no mtime).
  bool names_announced = false;
  bool attrs_fixed = false;
};

// A quota a directory reports to statfs (`df`): capacity and what is left, in bytes. The
// compute/ directory counts micro-USD this way (DESIGN 4.2).
struct Quota {
  uint64_t total = 0;
  uint64_t free = 0;
};

struct DirEntry {
  std::string name;
  NodeType type = NodeType::kFile;
  uint64_t size = 0;
  int64_t mtime_ms = 0;
};

// A page of a directory listing: entries with name > after, at most limit (0 = all), in
// name order for directories that page (Stat::paged: agents/); fixed directories ignore it.
struct ListRange {
  std::string after;
  size_t limit = 0;
};

struct OpenFlags {
  bool read = true;
  bool write = false;
  bool truncate = false;
  bool append = false;
  // Streams only: -1 blocks until data arrives; 0 ends the read (returns 0) when nothing is
  // left, which is how HTTP serves the retained backlog; >0 waits that many milliseconds,
  // then fails the read with kDeadlineExceeded so the caller can check on its client.
  int wait_ms = -1;
  // Parameters from the transport (HTTP: the query string minus what the route itself uses;
  // FUSE has none). Generated files may take some (logs/trajectory: from, to) and must reject
  // a value they take but cannot parse; everything else ignores them.
  std::vector<std::pair<std::string, std::string>> params = {};
  // The value of params[key], or nullptr.
  const std::string* Param(std::string_view key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class Handle {
 public:
  virtual ~Handle() = default;
  // Reads up to out.size() bytes at offset; 0 means end of file. Streams block until data
  // arrives, the stream ends, or Cancel() is called.
  virtual Result<size_t> Read(uint64_t offset, std::span<std::byte> out) = 0;
  virtual Result<size_t> Write(uint64_t offset, std::span<const std::byte> in) = 0;
  // close(2) (FUSE flush) or the end of an HTTP request. May be called more than once.
  virtual Status Flush() { return Status::OK(); }
  // Wakes a blocked Read (client went away, shutdown). Callable from any thread.
  virtual void Cancel() {}
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  // owner: the agent id the node belongs to, or "" for the global tree.
  Node(NodeId id, std::string owner, Access access)
      : id_(id), owner_(std::move(owner)), access_(access) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  NodeId id() const { return id_; }
  const std::string& owner() const { return owner_; }
  const Access& access() const { return access_; }

  virtual Stat GetStat() const = 0;
  // Files: opens a handle. Directories: kIsDirectory.
  virtual Result<std::unique_ptr<Handle>> Open(const OpenFlags& flags, const Caller& who);
  // Directories: the child called name. Files: kNotDirectory.
  virtual Result<std::shared_ptr<Node>> Lookup(std::string_view name);
  virtual Result<std::vector<DirEntry>> List(const ListRange& range);
  // Directories: creates `name` and opens it for writing (FUSE create, HTTP PUT of a new file).
  virtual Result<std::unique_ptr<Handle>> Create(std::string_view name, const Caller& who);
  virtual Status Mkdir(std::string_view name, const Caller& who);
  virtual Status Remove(std::string_view name, const Caller& who);
  // What statfs on this node reports; nullopt (the default) for the ordinary answer.
  virtual Result<std::optional<Quota>> GetQuota() { return std::optional<Quota>(); }

 private:
  const NodeId id_;
  const std::string owner_;
  const Access access_;
};

// Serves a fixed byte string at offsets (lib9p readbuf).
size_t ReadAt(std::string_view content, uint64_t offset, std::span<std::byte> out);

}  // namespace agent9
