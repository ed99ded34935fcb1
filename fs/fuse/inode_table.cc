#include "fs/fuse/inode_table.h"

#include <utility>

namespace agent9 {

InodeTable::InodeTable(std::shared_ptr<Node> root) : root_(std::move(root)) {}

uint64_t InodeTable::InoOf(const Node& node) const {
  return &node == root_.get() || node.id() == root_->id() ? kRootIno : node.id();
}

uint64_t InodeTable::InoOfId(NodeId id) const { return id == root_->id() ? kRootIno : id; }

bool InodeTable::Known(uint64_t ino) const {
  if (ino == kRootIno) return true;
  MutexLock l(&mu_);
  return entries_.contains(ino);
}

void InodeTable::Remember(uint64_t ino, std::shared_ptr<Node> node) {
  if (ino == kRootIno) return;
  std::shared_ptr<Node> old;  // destroyed after the lock is released
  MutexLock l(&mu_);
  Entry& e = entries_[ino];
  old = std::exchange(e.node, std::move(node));
  ++e.nlookup;
}

std::shared_ptr<Node> InodeTable::Get(uint64_t ino) const {
  if (ino == kRootIno) return root_;
  MutexLock l(&mu_);
  auto it = entries_.find(ino);
  return it == entries_.end() ? nullptr : it->second.node;
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  if (ino == kRootIno) return;
  std::shared_ptr<Node> dropped;
  MutexLock l(&mu_);
  auto it = entries_.find(ino);
  if (it == entries_.end()) return;
  if (it->second.nlookup > n) {
    it->second.nlookup -= n;
    return;
  }
  dropped = std::move(it->second.node);
  entries_.erase(it);
}

size_t InodeTable::size() const {
  MutexLock l(&mu_);
  return entries_.size();
}

}  // namespace agent9
