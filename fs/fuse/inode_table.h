// InodeTable: FUSE inode numbers <-> Nodes, with the kernel's lookup counts (passthrough_ll
// style). An inode number is the Node's id (a stable hash, so numbers survive restarts); the
// FUSE root (ino 1) is the FileService root, whatever its NodeId, and is never forgotten.
// Lookup, create and mkdir add one reference; forget drops n; an entry goes away at 0.
// Thread-safety: all methods are thread-safe. No Node code runs under the table's mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "fs/base/mutex.h"
#include "fs/node.h"

namespace agent9 {

class InodeTable {
 public:
  static constexpr uint64_t kRootIno = 1;

  explicit InodeTable(std::shared_ptr<Node> root);

  // The inode number the kernel sees for node: 1 for the root, else node.id().
  uint64_t InoOf(const Node& node) const;
  // The same for a NodeId: 1 for the root's id, else id.
  uint64_t InoOfId(NodeId id) const;
  // The kernel holds a reference to ino (always true for the root).
  bool Known(uint64_t ino) const;
  // Records one kernel reference to ino and makes node the one served for it (a fresh
  // lookup replaces an older Node object for the same file). The root is not counted.
  void Remember(uint64_t ino, std::shared_ptr<Node> node);
  // The node for ino, or null when the kernel holds no reference to it (a stale ino).
  std::shared_ptr<Node> Get(uint64_t ino) const;
  // Drops n references to ino; the entry is erased when none are left.
  void Forget(uint64_t ino, uint64_t n);
  // Entries besides the root (tests).
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<Node> node;
    uint64_t nlookup = 0;
  };
  const std::shared_ptr<Node> root_;
  mutable Mutex mu_;
  std::unordered_map<uint64_t, Entry> entries_ GUARDED_BY(mu_);
};

}  // namespace agent9
