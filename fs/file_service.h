// FileService: the one tree behind every transport. Adapters (FUSE, HTTP) parse a Path at
// the edge, Walk it to a Node, and then call only the methods here; each checks the caller's
// permission (fs/permissions.h) once, then calls the Node. Handles come back wrapped so that
// each has its own mutex and keeps its last error: after a failed write or flush, the next
// read on that handle returns "error <code>: <message>\n" (errno cannot carry a message).
// Thread-safety: all methods are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fs/base/path.h"
#include "fs/change_feed.h"
#include "fs/node.h"
#include "fs/permissions.h"

namespace agent9 {

// Called with (caller, node owner, status) whenever an operation fails, so an agent's
// logs/trace can record the message that errno drops.
using ErrorSink = std::function<void(const Caller&, const Node&, const Status&)>;

class FileService {
 public:
  // changes: where removals are announced (Remove) and where transports that cache names
  // subscribe; may be null (nothing caches names). Must outlive the service.
  FileService(std::shared_ptr<Node> root, IsPublicFn is_public, ErrorSink on_error = nullptr,
              ChangeFeed* changes = nullptr);

  const std::shared_ptr<Node>& root() const { return root_; }
  ChangeFeed* changes() const { return changes_; }

  // Resolves path from the root; every node on the way must be visible to the caller.
  Result<std::shared_ptr<Node>> Walk(const Path& path, const Caller& who) const;
  Result<std::shared_ptr<Node>> Lookup(Node& dir, std::string_view name, const Caller& who) const;
  // The stat of node as the caller sees it; mode holds the caller's permission bits.
  Stat GetStat(const Node& node, const Caller& who, uint32_t* mode) const;
  // statfs: the node's quota, for callers who may read it (nullopt: none, or not theirs).
  Result<std::optional<Quota>> GetQuota(Node& node, const Caller& who) const;
  Result<std::vector<DirEntry>> List(Node& dir, const Caller& who,
                                     const ListRange& range = {}) const;
  Result<std::unique_ptr<Handle>> Open(Node& node, const OpenFlags& flags, const Caller& who) const;
  Result<std::unique_ptr<Handle>> Create(Node& dir, std::string_view name, const Caller& who) const;
  Status Mkdir(Node& dir, std::string_view name, const Caller& who) const;
  Status Remove(Node& dir, std::string_view name, const Caller& who) const;

  // Whole-file helpers for the HTTP adapter, the CLI paths and tests.
  Result<std::string> ReadAll(const Path& path, const Caller& who) const;
  // Opens (creating when absent and the directory allows it), truncates, writes and flushes.
  Status WriteAll(const Path& path, std::string_view data, const Caller& who) const;
  // Call: writes the request, then reads the response on the same handle.
  Result<std::string> Call(const Path& path, std::string_view request, const Caller& who) const;

 private:
  std::unique_ptr<Handle> Wrap(std::unique_ptr<Handle> h, const Node& node,
                               const Caller& who) const;
  Status Note(const Caller& who, const Node& node, Status st) const;

  std::shared_ptr<Node> root_;
  IsPublicFn is_public_;
  ErrorSink on_error_;
  ChangeFeed* changes_;
};

// Reads a handle from offset 0 to EOF (not for streams).
Result<std::string> ReadToEnd(Handle& h, size_t limit = 64u << 20);

}  // namespace agent9
