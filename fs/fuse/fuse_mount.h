// FuseMount: serves a FileService tree at a mountpoint over FUSE (libfuse3 low-level API,
// multi-threaded loop) for one principal: the admin (global view) or one agent (agent-local
// view). Every permission decision stays in FileService; this is a thin transport.
// Thread-safety: Start and Stop may be called from any thread except a FUSE worker (Stop
// joins them), including a daemon's signal-handling thread; Stop is idempotent and safe to
// race with itself and with the destructor.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "fs/base/mutex.h"
#include "fs/file_service.h"

struct fuse_session;
struct fuse_loop_config;

namespace agent9 {

struct FuseContext;
class Invalidator;

struct FuseOptions {
  std::string mountpoint;
  bool allow_other = false;  // adds allow_other + default_permissions
  unsigned max_threads = 16;
};

class FuseMount {
 public:
  // Mounts fs at options.mountpoint for principal `who` (Caller::Admin() for the global view,
  // Caller::Agent(id) for an agent-local view whose FileService root is the agent dir) and
  // serves it on background threads. A stale mount left by a crash (stat gives ENOTCONN) is
  // detached first (fusermount3 -uz or umount2 MNT_DETACH) and reused. Creates the mountpoint
  // if missing. Returns once the kernel has answered a first request on the mount.
  // Errors: kInvalidArgument (no mountpoint, not a directory), kUnavailable (cannot mount).
  static Result<std::unique_ptr<FuseMount>> Start(std::shared_ptr<const FileService> fs, Caller who,
                                                  FuseOptions options);
  ~FuseMount();  // Stop()
  // Unmounts cleanly, wakes blocked reads and joins the loop; idempotent. When files are
  // still open on the mount, the connection is aborted (as root) so that Stop returns.
  void Stop();

  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

 private:
  struct Key {
    explicit Key() = default;
  };
  struct SessionDeleter {
    void operator()(fuse_session* se) const;  // fuse_session_unmount, then destroy
  };
  struct LoopConfigDeleter {
    void operator()(fuse_loop_config* cfg) const;
  };

 public:
  FuseMount(Key, std::string mountpoint, std::unique_ptr<FuseContext> ctx);

 private:
  Status Mount(const FuseOptions& options);

  const std::string mountpoint_;
  std::unique_ptr<FuseContext> ctx_;
  std::unique_ptr<fuse_loop_config, LoopConfigDeleter> loop_config_;
  std::unique_ptr<fuse_session, SessionDeleter> session_;
  std::unique_ptr<Invalidator> invalidator_;  // when the tree announces removals
  bool mounted_ = false;
  std::thread loop_;
  Mutex stop_mu_;
  bool stopped_ GUARDED_BY(stop_mu_) = false;
};

}  // namespace agent9
