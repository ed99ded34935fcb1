#include "fs/fuse/ops.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fs/base/log.h"
#include "fs/fuse/ops_internal.h"

namespace agent9 {
namespace fuse_ops {
namespace {

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

void LogFailure(const char* op, const char* what) noexcept {
  try {
    LogError(std::string("fuse ") + op + ": " + what);
  } catch (...) {  // logging must not throw out of a trampoline
  }
}

Status NotSupported(const char* what) {
  return Status::Unimplemented(what, "not supported by agent9 files");
}

struct stat AttrOf(const FuseContext& c, const Node& node, uint64_t ino, bool* fixed) {
  uint32_t mode = 0;
  Stat s = c.fs->GetStat(node, c.who, &mode);
  // The root's attributes are always asked for: a stat of the mountpoint is how a stale mount
  // (its daemon gone) is told (ENOTCONN), and a cached answer would hide it.
  if (fixed) *fixed = s.attrs_fixed && ino != InodeTable::kRootIno;
  bool dir = s.type == NodeType::kDir;
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = (dir ? S_IFDIR : S_IFREG) | mode;
  st.st_nlink = dir ? 2 : 1;
  st.st_uid = c.uid;
  st.st_gid = c.gid;
  st.st_size = static_cast<off_t>(s.size);
  st.st_blksize = 4096;
  st.st_blocks = static_cast<blkcnt_t>((s.size + 511) / 512);
  int64_t ms = s.mtime_ms > 0 ? s.mtime_ms : c.start_ms;
  st.st_mtim.tv_sec = static_cast<time_t>(ms / 1000);
  st.st_mtim.tv_nsec = static_cast<long>(ms % 1000) * 1000000L;
  st.st_atim = st.st_mtim;
  st.st_ctim = st.st_mtim;
  return st;
}

fuse_entry_param EntryFor(FuseContext& c, const Node& node, uint64_t ino, bool cache_name) {
  fuse_entry_param e{};
  e.ino = ino;
  bool fixed = false;
  e.attr = AttrOf(c, node, ino, &fixed);
  e.attr_timeout = fixed ? kCacheSecs : 0.0;
  e.entry_timeout = cache_name ? kCacheSecs : 0.0;
  return e;
}

void ReplyEntry(FuseContext& c, Reply& r, const Node& dir, std::shared_ptr<Node> node,
                uint64_t ino) {
  fuse_entry_param e = EntryFor(c, *node, ino, dir.GetStat().names_announced);
  c.inodes.Remember(ino, std::move(node));
  if (!r.Entry(e)) c.inodes.Forget(ino, 1);
}

namespace {

// ---- Session --------------------------------------------------------------------------

void OpInit(void*, fuse_conn_info* conn) noexcept {
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;  // writes must reach the Handle as they happen
  conn->want &= ~FUSE_CAP_READDIRPLUS;
}

void OpDestroy(void*) noexcept {}

// ---- Inodes ---------------------------------------------------------------------------

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  Run(req, "lookup", [&](FuseContext& c, Reply& r) {
    auto dir = c.inodes.Get(parent);
    if (!dir) return r.Err(ENOENT);
    auto child = c.fs->Lookup(*dir, name, c.who);
    if (!child.ok()) return r.Err(child.status());  // negative entries are not cached
    uint64_t ino = c.inodes.InoOf(**child);
    ReplyEntry(c, r, *dir, std::move(child).value(), ino);
  });
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) noexcept {
  Run(
      req, "forget",
      [&](FuseContext& c, Reply& r) {
        c.inodes.Forget(ino, nlookup);
        r.None();
      },
      /*no_reply=*/true);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) noexcept {
  Run(
      req, "forget_multi",
      [&](FuseContext& c, Reply& r) {
        for (size_t i = 0; i < count; ++i) c.inodes.Forget(forgets[i].ino, forgets[i].nlookup);
        r.None();
      },
      /*no_reply=*/true);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) noexcept {
  Run(req, "getattr", [&](FuseContext& c, Reply& r) {
    auto node = c.inodes.Get(ino);
    if (!node) return r.Err(ENOENT);
    bool fixed = false;
    struct stat st = AttrOf(c, *node, ino, &fixed);
    r.Attr(st, fixed ? kCacheSecs : 0.0);
  });
}

// Nothing here is stored as attributes: a truncate to 0 is what O_TRUNC already did (files
// are replaced at flush), and times and modes are derived. So setattr changes nothing, but
// succeeds where the caller may write, so `touch` and `echo > f` work.
void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
               fuse_file_info*) noexcept {
  Run(req, "setattr", [&](FuseContext& c, Reply& r) {
    auto node = c.inodes.Get(ino);
    if (!node) return r.Err(ENOENT);
    if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != 0) {
      return r.Err(NotSupported("truncating to a non-zero size"));
    }
    uint32_t mode = 0;
    (void)c.fs->GetStat(*node, c.who, &mode);
    if (!(mode & 0200)) return r.Err(EACCES);
    r.Attr(AttrOf(c, *node, ino), 0.0);
  });
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) noexcept {
  Run(req, "access", [&](FuseContext& c, Reply& r) {
    auto node = c.inodes.Get(ino);
    if (!node) return r.Err(ENOENT);
    uint32_t mode = 0;
    (void)c.fs->GetStat(*node, c.who, &mode);
    uint32_t need =
        ((mask & R_OK) ? 0400u : 0u) | ((mask & W_OK) ? 0200u : 0u) | ((mask & X_OK) ? 0100u : 0u);
    r.Err((mode & need) == need ? 0 : EACCES);
  });
}

void OpStatfs(fuse_req_t req, fuse_ino_t ino) noexcept {
  Run(req, "statfs", [&](FuseContext& c, Reply& r) {
    struct statvfs sv {};
    sv.f_bsize = 4096;
    sv.f_frsize = 4096;
    sv.f_namemax = 255;
    // A directory with a quota (compute/: the day's budget in micro-USD) counts it in 1-byte
    // blocks, so `df -B1 DIR` prints what is left.
    if (auto node = c.inodes.Get(ino)) {
      auto q = c.fs->GetQuota(*node, c.who);
      if (q.ok() && q->has_value()) {
        sv.f_frsize = 1;
        sv.f_blocks = (*q)->total;
        sv.f_bfree = sv.f_bavail = (*q)->free;
      }
    }
    r.Statfs(sv);
  });
}

// ---- Not supported: EOPNOTSUPP through the one map, never libfuse's ENOSYS ------------

void OpRename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*,
              unsigned int) noexcept {
  Run(req, "rename", [&](FuseContext&, Reply& r) { r.Err(NotSupported("rename")); });
}

void OpMknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) noexcept {
  Run(req, "mknod", [&](FuseContext&, Reply& r) { r.Err(NotSupported("special files")); });
}

void OpSymlink(fuse_req_t req, const char*, fuse_ino_t, const char*) noexcept {
  Run(req, "symlink", [&](FuseContext&, Reply& r) { r.Err(NotSupported("symbolic links")); });
}

void OpLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) noexcept {
  Run(req, "link", [&](FuseContext&, Reply& r) { r.Err(NotSupported("hard links")); });
}

// ---- Extended attributes: there are none, and the answer is ENOSYS, which the kernel
// remembers for the mount: later calls fail with EOPNOTSUPP without a round trip (as on any
// filesystem without xattr support; ls, cp -a and tar treat that as "no attributes"). `ls -l`
// asks two xattrs per entry, so answering ENODATA each time would double its FUSE traffic.

void OpGetxattr(fuse_req_t req, fuse_ino_t, const char*, size_t) noexcept {
  Run(req, "getxattr", [&](FuseContext&, Reply& r) { r.Err(ENOSYS); });
}

void OpListxattr(fuse_req_t req, fuse_ino_t, size_t) noexcept {
  Run(req, "listxattr", [&](FuseContext&, Reply& r) { r.Err(ENOSYS); });
}

void OpSetxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) noexcept {
  Run(req, "setxattr", [&](FuseContext&, Reply& r) { r.Err(NotSupported("extended attributes")); });
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t, const char*) noexcept {
  Run(req, "removexattr", [&](FuseContext&, Reply& r) { r.Err(ENOSYS); });
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) noexcept {
  Run(req, "fsyncdir", [&](FuseContext&, Reply& r) { r.Err(0); });
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops{};
  ops.init = OpInit;
  ops.destroy = OpDestroy;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.access = OpAccess;
  ops.statfs = OpStatfs;
  ops.open = OpOpen;
  ops.create = OpCreate;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.fsync = OpFsync;
  ops.release = OpRelease;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.releasedir = OpReleasedir;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.rename = OpRename;
  ops.mknod = OpMknod;
  ops.symlink = OpSymlink;
  ops.link = OpLink;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.setxattr = OpSetxattr;
  ops.removexattr = OpRemovexattr;
  ops.fsyncdir = OpFsyncdir;
  return ops;
}

}  // namespace
}  // namespace fuse_ops

FuseContext::FuseContext(std::shared_ptr<const FileService> service, Caller caller)
    : fs(std::move(service)),
      who(std::move(caller)),
      inodes(fs->root()),
      uid(getuid()),
      gid(getgid()),
      start_ms(fuse_ops::NowMs()) {}

const fuse_lowlevel_ops& FuseOps() {
  static const fuse_lowlevel_ops kOps = fuse_ops::MakeOps();
  return kOps;
}

}  // namespace agent9