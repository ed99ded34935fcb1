// LocalProvider: container sessions in bubblewrap sandboxes on this machine (DESIGN 4.4).
// A session gets a read-only root (the host's /usr, /bin, /lib*, /etc, /sbin, or an image's
// rootfs), a private writable workdir (<run_dir>/<id>/work on the host), a private /tmp, its
// own pid, ipc and uts namespaces and no network unless asked. As root, each running sandbox
// gets its own uid from a pool. Limits: a cgroup v2 child per sandbox when the daemon can make
// one (local_cgroup.h); otherwise rlimits plus a /proc monitor over the session's uid, whose
// RLIMIT_NPROC and per-uid kill then cover exactly its processes. Health says which one runs.
// Not root (and no cgroups): sandboxes run as the daemon's uid; processes are then found as
// descendants of bwrap (a process that double-forks out of the tree is not counted), there is
// no RLIMIT_NPROC and no exec.
// Thread-safety: every method may be called from several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "containers/provider.h"
#include "fs/base/mutex.h"

namespace agent9::containers {

struct LocalShared;

struct LocalConfig {
  std::string id = "local";
  std::string bwrap = "/usr/bin/bwrap";
  std::string run_dir;            // required: where session dirs live (<data_dir>/containers/run)
  int64_t uid_base = 2000000000;  // pool of unprivileged uids, one per running sandbox (root)
  int64_t uid_count = 256;
  // image name -> rootfs dir (admin-provided); "" or "host" = the host's /usr etc.
  std::map<std::string, std::string> images;
};

class LocalProvider final : public SandboxProvider {
 public:
  explicit LocalProvider(LocalConfig config);
  ~LocalProvider() override;

  const std::string& id() const override { return config_.id; }
  Json Info() const override;
  // Runs a probe sandbox (`true`) at most every 10 s: bwrap present is not bwrap working
  // (user namespaces may be off).
  Result<std::string> Health() override;
  Result<std::unique_ptr<Sandbox>> Start(const SandboxSpec& spec, OutputFn on_output) override;
  Status Reap(const std::vector<std::string>& ids) override;

 private:
  const char* Mechanism() const;  // "cgroup" or "rlimit"

  const LocalConfig config_;
  const std::shared_ptr<LocalShared> shared_;
  // Root: the uid range is this daemon's alone, held by a POSIX record lock on its bytes of
  // /run/lock/agent9-containers-uids (a process's lock: released when the process ends, kill -9
  // included; providers of one process share it). Another daemon with an overlapping range
  // would kill this one's sandboxes, so then the provider refuses to work (range_ says why)
  // and Reap leaves those uids alone.
  int range_fd_ = -1;
  Status range_;
  Mutex health_mu_;
  int64_t health_at_ms_ GUARDED_BY(health_mu_) = 0;
  Status health_ GUARDED_BY(health_mu_);
  int64_t probes_ GUARDED_BY(health_mu_) = 0;
};

// The bwrap command line for spec (exposed for tests), the workdir bound from work_source;
// ends with `/bin/sh -c ...`.
std::vector<std::string> BuildBwrapArgv(const std::string& bwrap, const SandboxSpec& spec,
                                        const std::string& work_source);

}  // namespace agent9::containers
