#include "fs/fuse/fuse_mount.h"

#include <fuse_lowlevel.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "fs/base/log.h"
#include "fs/fuse/invalidator.h"
#include "fs/fuse/ops.h"

extern char** environ;

namespace agent9 {
namespace {

std::string ErrnoText(int e) { return std::system_category().message(e); }

// Runs fusermount3 with args (no shell) and waits for it.
Status RunFusermount(const std::vector<std::string>& args) {
  std::vector<std::string> words = {"fusermount3"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(words.size() + 1);
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv.data(), environ);
  if (rc != 0) return Status::Unavailable("fuse: cannot run fusermount3", ErrnoText(rc));
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Status::Internal("fuse: waitpid fusermount3", ErrnoText(errno));
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return Status::Unavailable("fuse: fusermount3 failed", words.back());
  }
  return Status::OK();
}

// Unmounts path. A busy mount is detached (MNT_DETACH); with abort_busy its FUSE connection
// is also aborted (MNT_FORCE), so a loop still serving open files ends now.
Status Unmount(const std::string& path, bool abort_busy) {
  if (geteuid() == 0) {
    if (umount2(path.c_str(), 0) == 0) return Status::OK();
    int e = errno;
    if (e == EINVAL) return Status::OK();  // not a mount point (any more)
    if (e == EBUSY) {
      int flags = MNT_DETACH | (abort_busy ? MNT_FORCE : 0);
      if (umount2(path.c_str(), flags) == 0) return Status::OK();
      e = errno;
    }
    LogWarn("fuse: umount2 " + path + ": " + ErrnoText(e) + "; trying fusermount3");
  }
  return RunFusermount({"-u", "-z", path});
}

// Makes path a usable mountpoint: creates it when missing and detaches a stale mount left
// by a crashed daemon (its stat fails with ENOTCONN).
Status PrepareMountpoint(const std::string& path) {
  for (int attempt = 0; attempt < 8; ++attempt) {  // stale mounts may be stacked
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("fuse: not a directory", path);
      return Status::OK();
    }
    int e = errno;
    if (e == ENOTCONN || e == ECONNABORTED) {
      LogWarn("fuse: detaching a stale mount at " + path);
      AGENT9_RETURN_IF_ERROR(Unmount(path, /*abort_busy=*/false));
      continue;
    }
    if (e == ENOENT) {
      std::error_code ec;
      std::filesystem::create_directories(path, ec);
      if (ec) return Status::Unavailable("fuse: cannot create " + path, ec.message());
      continue;
    }
    return Status::Unavailable("fuse: cannot use mountpoint " + path, ErrnoText(e));
  }
  return Status::Unavailable("fuse: mountpoint stays unusable", path);
}

std::string AbsolutePath(const std::string& raw) {
  std::error_code ec;
  std::string p = std::filesystem::absolute(raw, ec).lexically_normal().string();
  if (ec) p = raw;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Runs on the loop thread; libfuse's workers inherit its signal mask, so the daemon's
// shutdown signals are left to the daemon's own handling thread.
void RunLoop(fuse_session* se, fuse_loop_config* cfg) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  int rc = fuse_session_loop_mt(se, cfg);
  if (rc < 0 && rc != -ENODEV) LogWarn("fuse: session loop ended: " + ErrnoText(-rc));
}

}  // namespace

void FuseMount::SessionDeleter::operator()(fuse_session* se) const {
  fuse_session_unmount(se);  // a no-op once the kernel has ended the connection
  fuse_session_destroy(se);
}

void FuseMount::LoopConfigDeleter::operator()(fuse_loop_config* cfg) const {
  fuse_loop_cfg_destroy(cfg);
}

FuseMount::FuseMount(Key, std::string mountpoint, std::unique_ptr<FuseContext> ctx)
    : mountpoint_(std::move(mountpoint)), ctx_(std::move(ctx)) {}

FuseMount::~FuseMount() { Stop(); }

Result<std::unique_ptr<FuseMount>> FuseMount::Start(std::shared_ptr<const FileService> fs,
                                                    Caller who, FuseOptions options) {
  if (!fs || !fs->root()) return Status::InvalidArgument("fuse: no file service");
  if (options.mountpoint.empty()) return Status::InvalidArgument("fuse: no mountpoint");
  std::string path = AbsolutePath(options.mountpoint);
  AGENT9_RETURN_IF_ERROR(PrepareMountpoint(path));
  auto m = std::make_unique<FuseMount>(
      Key(), path, std::make_unique<FuseContext>(std::move(fs), std::move(who)));
  Status st = m->Mount(options);
  if (!st.ok()) {
    m->Stop();
    return st;
  }
  return m;
}

Status FuseMount::Mount(const FuseOptions& options) {
  std::string opts = "fsname=agent9,subtype=agent9";
  if (options.allow_other) opts += ",allow_other,default_permissions";
  std::vector<std::string> words = {"agent9", "-o", opts};
  std::vector<char*> argv;
  argv.reserve(words.size());
  for (auto& w : words) argv.push_back(w.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  session_.reset(fuse_session_new(&args, &FuseOps(), sizeof(fuse_lowlevel_ops), ctx_.get()));
  fuse_opt_free_args(&args);
  if (!session_) return Status::Internal("fuse: cannot create a session", opts);
  if (fuse_session_mount(session_.get(), mountpoint_.c_str()) != 0) {
    return Status::Unavailable("fuse: cannot mount " + mountpoint_, "see the log above");
  }
  mounted_ = true;
  if (ChangeFeed* feed = ctx_->fs->changes()) {
    invalidator_ = std::make_unique<Invalidator>(feed, &ctx_->inodes, session_.get(), ctx_.get());
  }

  loop_config_.reset(fuse_loop_cfg_create());
  if (!loop_config_) return Status::Internal("fuse: cannot create a loop config");
  unsigned max_threads = std::max(1u, options.max_threads);
  fuse_loop_cfg_set_max_threads(loop_config_.get(), max_threads);
  fuse_loop_cfg_set_idle_threads(loop_config_.get(), std::clamp(max_threads / 2, 1u, 10u));
  fuse_loop_cfg_set_clone_fd(loop_config_.get(), 0);
  loop_ = std::thread(RunLoop, session_.get(), loop_config_.get());

  // The first stat waits for INIT and one GETATTR: the mount is served once it returns.
  struct stat st {};
  if (stat(mountpoint_.c_str(), &st) != 0) {
    return Status::Unavailable("fuse: the new mount does not answer", ErrnoText(errno));
  }
  LogInfo("fuse: mounted " + mountpoint_ + " for " + ctx_->who.Name());
  return Status::OK();
}

void FuseMount::Stop() {
  MutexLock l(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  invalidator_.reset();                 // before the session goes
  if (ctx_) ctx_->handles.CancelAll();  // blocked stream reads return now
  if (mounted_) {
    // Unmounting makes the kernel end the connection; the workers then see ENODEV and the
    // loop returns. A busy mount is aborted, or Stop would wait for every open file.
    Status st = Unmount(mountpoint_, /*abort_busy=*/true);
    if (!st.ok()) LogWarn("fuse: unmount " + mountpoint_ + ": " + st.ToString());
  }
  if (session_) fuse_session_exit(session_.get());
  if (loop_.joinable()) loop_.join();
  session_.reset();
  loop_config_.reset();
  ctx_.reset();
  if (mounted_) LogInfo("fuse: unmounted " + mountpoint_);
}

}  // namespace agent9
