// Invalidator: carries the tree's ChangeFeed removals into one mount's kernel dentry cache
// (fuse_lowlevel_notify_inval_entry), so that a name the kernel caches (entry timeouts above 0
// under directories with Stat::names_announced) disappears at once when it is removed over
// HTTP, by the CLI or by another mount.
// The kernel takes the parent directory's lock for the invalidation, and a FUSE request on
// that directory (an unlink, a create) may hold it while its handler runs: so an announcement
// made while this mount's own request runs on the thread (InFuseRequest names the mount) is
// handed to the invalidator's thread. Any other thread (HTTP, the engine, another mount's
// request) invalidates before its announcement returns, which is what makes the change
// visible "at once" on every mount.
// Thread-safety: thread-safe. Stop (idempotent, also run by the destructor) unsubscribes and
// joins the thread; call it before the session is destroyed.
#pragma once

#include <fuse_lowlevel.h>

#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "fs/base/mutex.h"
#include "fs/change_feed.h"
#include "fs/fuse/inode_table.h"

namespace agent9 {

// Marks the current thread as running a request of the mount `mount` (its FuseContext) while
// in scope (the trampolines).
class InFuseRequest {
 public:
  explicit InFuseRequest(const void* mount) : was_(active_) { active_ = mount; }
  ~InFuseRequest() { active_ = was_; }
  InFuseRequest(const InFuseRequest&) = delete;
  InFuseRequest& operator=(const InFuseRequest&) = delete;
  // The mount whose request this thread runs, or null.
  static const void* Active() { return active_; }

 private:
  const void* was_;
  static thread_local const void* active_;
};

class Invalidator {
 public:
  // feed and inodes must outlive the invalidator; se is the mounted session and mount the
  // FuseContext its requests mark themselves with (InFuseRequest).
  Invalidator(ChangeFeed* feed, const InodeTable* inodes, fuse_session* se, const void* mount);
  ~Invalidator();
  Invalidator(const Invalidator&) = delete;
  Invalidator& operator=(const Invalidator&) = delete;

  void Stop();

 private:
  void OnRemoved(NodeId dir, std::string_view name);
  void Invalidate(uint64_t parent, const std::string& name);
  void Loop();

  ChangeFeed* const feed_;
  const InodeTable* const inodes_;
  const void* const mount_;
  uint64_t subscription_ = 0;

  std::shared_mutex se_mu_;  // notifications run under it shared; Stop clears se_ exclusively
  fuse_session* se_;         // guarded by se_mu_

  Mutex mu_;
  CondVar cv_;
  std::deque<std::pair<uint64_t, std::string>> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace agent9
