#include "containers/local_provider.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "containers/local_sandbox.h"
#include "fs/base/log.h"

namespace agent9::containers {
namespace {

namespace fs = std::filesystem;

// Room for bwrap's own two processes (the outer one and the sandbox's pid 1).
constexpr int64_t kBwrapProcs = 2;
// RLIMIT_AS is only a backstop under the monitor's RSS limit: address space is not memory.
constexpr int64_t kAddressSlack = int64_t{4} << 30;
constexpr int64_t kHealthEveryMs = 10000;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// bwrap flags that bind root's top-level entries read-only (symlinks as symlinks). host: only
// the system directories; an image rootfs: everything but what the sandbox mounts itself.
std::vector<std::string> RootEntries(const std::string& rootfs) {
  static const std::set<std::string> kHost = {"bin",   "etc",    "lib",  "lib32",
                                              "lib64", "libx32", "sbin", "usr"};
  std::vector<std::string> out;
  std::error_code ec;
  std::vector<fs::path> names;
  for (const auto& e : fs::directory_iterator(rootfs.empty() ? "/" : rootfs, ec)) {
    names.push_back(e.path());
  }
  std::sort(names.begin(), names.end());
  for (const fs::path& p : names) {
    std::string name = p.filename().string();
    if (rootfs.empty() ? kHost.count(name) == 0
                       : (name == "dev" || name == "proc" || name == "tmp")) {
      continue;
    }
    if (fs::is_symlink(p, ec)) {
      out.insert(out.end(), {"--symlink", fs::read_symlink(p, ec).string(), "/" + name});
    } else {
      out.insert(out.end(), {"--ro-bind", p.string(), "/" + name});
    }
  }
  return out;
}

Status CheckSpec(const SandboxSpec& spec) {
  if (!ValidId(spec.id)) return Status::InvalidArgument("id", "must be [a-z0-9-]+");
  const std::string& w = spec.workdir;
  if (w.size() < 2 || w[0] != '/' || !CheckRelativePath(w.substr(1)).ok() || w == "/proc" ||
      w.starts_with("/proc/") || w == "/dev" || w.starts_with("/dev/") || w == "/tmp") {
    return Status::InvalidArgument("workdir", w);
  }
  if (!spec.rootfs.empty()) {
    std::error_code ec;
    if (spec.rootfs[0] != '/' || !fs::is_directory(spec.rootfs, ec)) {
      return Status::InvalidArgument("image", spec.image);
    }
  }
  for (const auto& [path, content] : spec.files) {
    if (path.empty() || !CheckRelativePath(path).ok()) {
      return Status::InvalidArgument("file path", path);
    }
  }
  const Limits& l = spec.limits;
  if (l.wall_ms <= 0 || l.cpu_ms <= 0 || l.memory_bytes <= 0 || l.pids <= 0 ||
      l.output_bytes <= 0) {
    return Status::InvalidArgument("limits", "every limit must be set");
  }
  return Status::OK();
}

}  // namespace

std::vector<std::string> BuildBwrapArgv(const std::string& bwrap, const SandboxSpec& spec,
                                        const std::string& work_source) {
  std::vector<std::string> a = {
      bwrap,           "--die-with-parent", "--new-session",       "--unshare-pid",
      "--unshare-ipc", "--unshare-uts",     "--unshare-cgroup-try"};
  if (!spec.network) a.push_back("--unshare-net");
  std::vector<std::string> root = RootEntries(spec.rootfs);
  a.insert(a.end(), root.begin(), root.end());
  a.insert(a.end(),
           {"--proc", "/proc", "--dev", "/dev", "--size", std::to_string(spec.limits.memory_bytes),
            "--tmpfs", "/tmp", "--bind", work_source, spec.workdir, "--chdir", spec.workdir,
            "--remount-ro", "/", "--", "/bin/sh", "-c"});
  if (spec.interactive) {
    // Runs the command (if any), then idles until stopped; execs join this sandbox.
    a.insert(a.end(), {"if [ -n \"$1\" ]; then /bin/sh -c \"$1\"; fi; "
                       "while :; do sleep 86400; done",
                       "sh", spec.command});
  } else {
    a.push_back(spec.command);
  }
  return a;
}

LocalProvider::LocalProvider(LocalConfig config)
    : config_(std::move(config)),
      shared_(std::make_shared<LocalShared>(config_.uid_base, config_.uid_count)) {
  shared_->root = geteuid() == 0;
  if (shared_->root) {
    std::string path = access("/run/lock", W_OK) == 0 ? "/run/lock/agent9-containers-uids"
                                                      : "/tmp/agent9-containers-uids";
    range_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = static_cast<off_t>(config_.uid_base);
    fl.l_len = static_cast<off_t>(config_.uid_count);
    if (range_fd_ < 0 || fcntl(range_fd_, F_SETLK, &fl) != 0) {
      range_ = Status::Unavailable("uids " + std::to_string(config_.uid_base) + ".." +
                                       std::to_string(config_.uid_base + config_.uid_count - 1) +
                                       " are used by another agent9 daemon on this machine",
                                   "give each daemon its own [containers] uid_base");
    }
  }
  auto cg = CgroupTree::Open();
  std::string how =
      cg.ok() ? "cgroups under " + (*cg)->base() : "rlimits (" + cg.status().message() + ")";
  if (cg.ok()) shared_->cgroups = std::move(*cg);
  static std::once_flag logged;  // once a process: tests make many providers
  std::call_once(logged, [&how] { LogInfo("containers: local sandboxes are limited by " + how); });
}

const char* LocalProvider::Mechanism() const { return shared_->cgroups ? "cgroup" : "rlimit"; }

LocalProvider::~LocalProvider() {
  if (range_fd_ >= 0) close(range_fd_);
}

Json LocalProvider::Info() const {
  Json images = Json::array();
  for (const auto& [name, dir] : config_.images) images.push_back(name);
  return Json{{"id", config_.id}, {"type", "local"}, {"images", images}, {"limits", Mechanism()}};
}

Result<std::string> LocalProvider::Health() {
  if (!range_.ok()) return range_;
  if (access(config_.bwrap.c_str(), X_OK) != 0) {
    return Status::Unavailable("bwrap not found", config_.bwrap);
  }
  if (config_.run_dir.empty()) return Status::Unavailable("run_dir not configured");
  MutexLock l(&health_mu_);
  int64_t now = MonoMs();
  if (health_at_ms_ == 0 || now - health_at_ms_ > kHealthEveryMs) {
    SandboxSpec probe;
    probe.id = "health-probe-" + std::to_string(getpid()) + "-" + std::to_string(++probes_);
    probe.command = "true";
    probe.limits = {5000, 2000, 64 << 20, 32, 4096};
    std::string err;
    auto sb = Start(probe, [&err](std::string_view stream, std::string_view data) {
      if (stream == "stderr") err.append(data);
    });
    if (!sb.ok()) {
      health_ = sb.status();
    } else {
      Exit e = (*sb)->Wait();
      while (!err.empty() && err.back() == '\n') err.pop_back();
      health_ =
          e.exit_code == 0 && e.reason.empty()
              ? Status::OK()
              : Status::Unavailable("bwrap cannot start a sandbox", err.empty() ? e.reason : err);
    }
    health_at_ms_ = MonoMs();
  }
  if (!health_.ok()) return health_;
  return std::string("ok ") + Mechanism();
}

Result<std::unique_ptr<Sandbox>> LocalProvider::Start(const SandboxSpec& spec, OutputFn on_output) {
  if (!range_.ok()) return range_;
  if (access(config_.bwrap.c_str(), X_OK) != 0) {
    return Status::Unavailable("bwrap not found", config_.bwrap);
  }
  if (config_.run_dir.empty()) return Status::Unavailable("run_dir not configured");
  AGENT9_RETURN_IF_ERROR(CheckSpec(spec));
  SandboxSetup setup;
  setup.spec = spec;
  setup.drop = shared_->root;
  if (setup.drop) {
    AGENT9_ASSIGN_OR_RETURN(setup.uid, shared_->pool.Acquire());
    setup.gid = static_cast<gid_t>(setup.uid);
  } else {
    setup.uid = getuid();
    setup.gid = getgid();
  }
  setup.session_dir = config_.run_dir + "/" + spec.id;
  std::string work = setup.session_dir + "/work";
  auto fail = [&](Status s) {
    if (CleanupSession(setup.uid, setup.drop, setup.session_dir) && setup.drop) {
      shared_->pool.Release(setup.uid);
    }
    return s;
  };
  std::error_code ec;
  fs::create_directories(config_.run_dir, ec);
  if (mkdir(setup.session_dir.c_str(), 0700) != 0) {
    Status s = errno == EEXIST ? Status::AlreadyExists("session", spec.id)
                               : Status::Internal("mkdir " + setup.session_dir, strerror(errno));
    if (setup.drop) shared_->pool.Release(setup.uid);
    return s;
  }
  if (mkdir(work.c_str(), 0755) != 0 ||
      (setup.drop && chown(work.c_str(), setup.uid, setup.gid) != 0)) {
    return fail(Status::Internal("mkdir " + work, strerror(errno)));
  }
  uid_t owner = setup.drop ? setup.uid : static_cast<uid_t>(-1);
  auto files = WorkdirFiles::Open(work, owner, setup.gid);
  if (!files.ok()) return fail(files.status());
  for (const auto& [path, content] : spec.files) {
    Status s = (*files)->MakeParents(path);
    if (s.ok()) s = (*files)->WriteFile(path, content);
    if (!s.ok()) return fail(Status::InvalidArgument("file " + path, s.message()));
  }
  setup.bwrap_argv = BuildBwrapArgv(config_.bwrap, spec, setup.drop ? WorkdirMount() : work);
  std::map<std::string, std::string> env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"},
                                            {"HOME", spec.workdir}};
  for (const auto& [k, v] : spec.env) env[k] = v;
  // The environment goes to bwrap's own (the sandbox inherits it), not to its argv, which
  // anyone on the host can read in /proc/<pid>/cmdline.
  for (const auto& [k, v] : env) setup.env.push_back(k + "=" + v);
  const Limits& l = spec.limits;
  rlim_t cpu_s = static_cast<rlim_t>((l.cpu_ms + 999) / 1000 + 1);
  setup.rlimits = {{RLIMIT_CORE, 0, 0},
                   {RLIMIT_CPU, cpu_s, cpu_s + 1},
                   {RLIMIT_AS, static_cast<rlim_t>(l.memory_bytes + kAddressSlack), 0}};
  setup.pids_limit = l.pids + kBwrapProcs;
  if (shared_->cgroups) {
    auto cg = shared_->cgroups->Create(spec.id, l.memory_bytes, setup.pids_limit);
    if (!cg.ok()) return fail(cg.status());
    setup.cgroup = *cg;
  } else if (setup.drop) {
    setup.rlimits.push_back({RLIMIT_NPROC, static_cast<rlim_t>(setup.pids_limit), 0});
  }
  // On failure the sandbox's thread has already cleaned up (processes, dir, uid).
  auto sb = StartLocalSandbox(shared_, std::move(setup), std::move(*files), std::move(on_output));
  if (!sb.ok()) return Status::Unavailable(sb.status().message());
  return sb;
}

Status LocalProvider::Reap(const std::vector<std::string>& ids) {
  (void)ids;  // every session dir, cgroup and pool uid is ours: sweep them all
  if (shared_->cgroups) AGENT9_RETURN_IF_ERROR(shared_->cgroups->Sweep());
  if (!range_.ok()) return range_;  // another daemon's sandboxes: not ours to kill
  if (shared_->root) {
    std::set<uid_t> uids;
    for (const ProcInfo& p : ScanProcs({config_.uid_base, config_.uid_base + config_.uid_count})) {
      if (p.uid >= config_.uid_base && p.uid < config_.uid_base + config_.uid_count) {
        uids.insert(p.uid);
      }
    }
    for (uid_t uid : uids) {
      if (!KillAllOfUid(uid)) LogWarn("containers: reap: uid " + std::to_string(uid) + " survives");
    }
  }
  if (config_.run_dir.empty()) return Status::OK();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(config_.run_dir, ec)) {
    std::error_code rec;
    fs::remove_all(e.path(), rec);
    if (rec) return Status::Internal("reap: remove " + e.path().string(), rec.message());
  }
  return Status::OK();
}

}  // namespace agent9::containers
