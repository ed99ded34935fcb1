// ChangeFeed: announcements of the changes a transport may not see coming. A transport that
// caches names (FUSE: entry timeouts, for the children of directories whose Stat says
// names_announced) subscribes; domain code and FileService announce after the change
// committed. Only removals are announced: a name that does not exist is never cached, so a
// new one needs no announcement.
// Thread-safety: thread-safe. Listeners run on the announcing thread, under a shared lock of
// the subscriber list: announcements run in parallel, and Unsubscribe waits until no call to
// its listener is in progress, so a listener's state may go once Unsubscribe returns. A
// listener must not call Subscribe or Unsubscribe.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <shared_mutex>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/node.h"

namespace agent9 {

class ChangeFeed {
 public:
  // dir: the NodeId of the directory; name: the child that is gone.
  using Listener = std::function<void(NodeId dir, std::string_view name)>;

  // Returns an id for Unsubscribe (never 0).
  uint64_t Subscribe(Listener fn);
  void Unsubscribe(uint64_t id);

  // The child `name` of the directory `dir` was removed (or replaced by a different file).
  void EntryRemoved(NodeId dir, std::string_view name) const;

 private:
  mutable std::shared_mutex mu_;
  uint64_t next_id_ = 1;                                  // guarded by mu_ (exclusive)
  std::vector<std::pair<uint64_t, Listener>> listeners_;  // guarded by mu_
};

// The NodeId of the node at segments under the root (ChildId chained from kRootNodeId), as
// the tree computes it: {"agents", "a", "goals"} is agent a's goals directory.
NodeId PathNodeId(std::initializer_list<std::string_view> segments);

}  // namespace agent9
