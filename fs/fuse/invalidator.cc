#include "fs/fuse/invalidator.h"

#include <cerrno>
#include <mutex>

#include "fs/base/log.h"

namespace agent9 {

thread_local const void* InFuseRequest::active_ = nullptr;

Invalidator::Invalidator(ChangeFeed* feed, const InodeTable* inodes, fuse_session* se,
                         const void* mount)
    : feed_(feed), inodes_(inodes), mount_(mount), se_(se) {
  thread_ = std::thread([this] { Loop(); });
  subscription_ =
      feed_->Subscribe([this](NodeId dir, std::string_view name) { OnRemoved(dir, name); });
}

Invalidator::~Invalidator() { Stop(); }

void Invalidator::Stop() {
  if (subscription_ != 0) {
    feed_->Unsubscribe(subscription_);  // no announcement reaches OnRemoved after this
    subscription_ = 0;
  }
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
  std::unique_lock l(se_mu_);
  se_ = nullptr;
}

void Invalidator::OnRemoved(NodeId dir, std::string_view name) {
  uint64_t parent = inodes_->InoOfId(dir);
  // A kernel that holds no reference to the directory caches nothing under it.
  if (!inodes_->Known(parent)) return;
  if (InFuseRequest::Active() != mount_) return Invalidate(parent, std::string(name));
  {
    MutexLock l(&mu_);
    queue_.emplace_back(parent, std::string(name));
  }
  cv_.Signal();
}

void Invalidator::Invalidate(uint64_t parent, const std::string& name) {
  std::shared_lock l(se_mu_);
  if (!se_) return;
  int rc = fuse_lowlevel_notify_inval_entry(se_, parent, name.data(), name.size());
  // ENOENT: the kernel had no such entry cached (or forgot the directory meanwhile).
  if (rc != 0 && rc != -ENOENT && rc != -ENOTCONN) {
    LogWarn("fuse: invalidating " + name + ": error " + std::to_string(-rc));
  }
}

void Invalidator::Loop() {
  for (;;) {
    std::pair<uint64_t, std::string> next;
    {
      MutexLock l(&mu_);
      while (queue_.empty() && !stop_) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing is left
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    Invalidate(next.first, next.second);
  }
}

}  // namespace agent9
