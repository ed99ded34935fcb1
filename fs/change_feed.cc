#include "fs/change_feed.h"

#include <algorithm>
#include <mutex>

namespace agent9 {

uint64_t ChangeFeed::Subscribe(Listener fn) {
  std::unique_lock l(mu_);
  uint64_t id = next_id_++;
  listeners_.emplace_back(id, std::move(fn));
  return id;
}

void ChangeFeed::Unsubscribe(uint64_t id) {
  std::unique_lock l(mu_);  // waits for announcements in progress
  std::erase_if(listeners_, [id](const auto& e) { return e.first == id; });
}

void ChangeFeed::EntryRemoved(NodeId dir, std::string_view name) const {
  std::shared_lock l(mu_);
  for (const auto& [id, fn] : listeners_) fn(dir, name);
}

NodeId PathNodeId(std::initializer_list<std::string_view> segments) {
  NodeId id = kRootNodeId;
  for (std::string_view s : segments) id = ChildId(id, s);
  return id;
}

}  // namespace agent9
