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
#include "fs/fuse/created_node.h"
#include "fs/fuse/errno_map.h"

namespace agent9 {
namespace {

constexpr double kTimeout = 0.0;  // the whole tree is dynamic: never cache attrs or entries

int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

FuseContext& Ctx(fuse_req_t req) { return *static_cast<FuseContext*>(fuse_req_userdata(req)); }

void LogFailure(const char* op, const char* what) noexcept {
  try {
    LogError(std::string("fuse ") + op + ": " + what);
  } catch (...) {  // logging must not throw out of a trampoline
  }
}

// Replies to one request at most once. The trampoline answers EIO (or nothing, for forget)
// when a handler returned or threw without replying.
class Reply {
 public:
  Reply(fuse_req_t req, bool no_reply) : req_(req), no_reply_(no_reply) {}
  bool done() const { return done_; }

  void Err(int err) {
    if (Take()) fuse_reply_err(req_, err);
  }
  void Err(const Status& st) { Err(ToErrno(st)); }
  void None() {
    if (Take()) fuse_reply_none(req_);
  }
  void Fallback() {
    if (no_reply_) {
      None();
    } else {
      Err(EIO);
    }
  }
  // These return false when the kernel did not take the reply (the request was
  // interrupted), so the caller can undo what the reply would have handed over.
  bool Entry(const fuse_entry_param& e) { return Take() && fuse_reply_entry(req_, &e) == 0; }
  bool Create(const fuse_entry_param& e, const fuse_file_info& fi) {
    return Take() && fuse_reply_create(req_, &e, &fi) == 0;
  }
  bool Open(const fuse_file_info& fi) { return Take() && fuse_reply_open(req_, &fi) == 0; }
  void Attr(const struct stat& st) {
    if (Take()) fuse_reply_attr(req_, &st, kTimeout);
  }
  void Buf(const void* data, size_t n) {
    if (Take()) fuse_reply_buf(req_, static_cast<const char*>(data), n);
  }
  void Write(size_t n) {
    if (Take()) fuse_reply_write(req_, n);
  }
  void Statfs(const struct statvfs& sv) {
    if (Take()) fuse_reply_statfs(req_, &sv);
  }
  void Xattr(size_t n) {
    if (Take()) fuse_reply_xattr(req_, n);
  }

 private:
  bool Take() {
    if (done_) return false;
    done_ = true;
    return true;
  }
  fuse_req_t req_;
  bool no_reply_;
  bool done_ = false;
};

// The trampoline: nothing unwinds into libfuse, and every request gets exactly one reply.
template <typename Fn>
void Run(fuse_req_t req, const char* op, Fn&& fn, bool no_reply = false) noexcept {
  Reply reply(req, no_reply);
  try {
    fn(Ctx(req), reply);
    if (!reply.done()) LogFailure(op, "handler did not reply");
  } catch (const std::exception& e) {
    LogFailure(op, e.what());
  } catch (...) {
    LogFailure(op, "unknown exception");
  }
  if (!reply.done()) reply.Fallback();
}

struct stat AttrOf(const FuseContext& c, const Node& node, uint64_t ino) {
  uint32_t mode = 0;
  Stat s = c.fs->GetStat(node, c.who, &mode);
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

// The entry the kernel gets for node under ino; no caching (timeouts 0).
fuse_entry_param EntryFor(FuseContext& c, const Node& node, uint64_t ino) {
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = AttrOf(c, node, ino);
  e.attr_timeout = kTimeout;
  e.entry_timeout = kTimeout;
  return e;
}

// Hands the kernel a reference to node under ino (lookup, mkdir).
void ReplyEntry(FuseContext& c, Reply& r, std::shared_ptr<Node> node, uint64_t ino) {
  fuse_entry_param e = EntryFor(c, *node, ino);
  c.inodes.Remember(ino, std::move(node));
  if (!r.Entry(e)) c.inodes.Forget(ino, 1);
}

void OnInterrupt(fuse_req_t, void* data) noexcept {
  try {
    static_cast<Handle*>(data)->Cancel();
  } catch (...) {
    LogFailure("interrupt", "Cancel threw");
  }
}

// Nonseekable files read from the adapter's own position, not the kernel's offset.
Result<size_t> ReadSequential(fuse_req_t req, OpenFile& f, std::span<std::byte> out) {
  MutexLock l(&f.pos_mu);
  // The handle outlives the callback: unregistering below waits for a running callback.
  if (f.stream) fuse_req_interrupt_func(req, &OnInterrupt, f.handle.get());
  Result<size_t> n = f.handle->Read(f.pos, out);
  if (f.stream) fuse_req_interrupt_func(req, nullptr, nullptr);
  if (n.ok()) f.pos += *n;
  return n;
}

Status NotSupported(const char* what) {
  return Status::Unimplemented(what, "not supported by agent9 files");
}

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
    ReplyEntry(c, r, std::move(child).value(), ino);
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
    r.Attr(AttrOf(c, *node, ino));
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
    r.Attr(AttrOf(c, *node, ino));
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

// ---- Files ----------------------------------------------------------------------------

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Run(req, "open", [&](FuseContext& c, Reply& r) {
    auto node = c.inodes.Get(ino);
    if (!node) return r.Err(ENOENT);
    int acc = fi->flags & O_ACCMODE;
    OpenFlags flags;
    flags.read = acc != O_WRONLY;
    flags.write = acc != O_RDONLY;
    flags.truncate = (fi->flags & O_TRUNC) != 0;
    flags.append = (fi->flags & O_APPEND) != 0;
    flags.wait_ms = (fi->flags & O_NONBLOCK) ? 0 : -1;
    auto h = c.fs->Open(*node, flags, c.who);
    if (!h.ok()) return r.Err(h.status());
    Stat s = c.fs->GetStat(*node, c.who, nullptr);
    auto f = std::make_shared<OpenFile>();
    f->node = node;
    f->handle = std::move(h).value();
    f->ino = ino;
    f->sequential = s.stream || s.call;
    f->stream = s.stream;
    fi->direct_io = s.direct_io;
    fi->nonseekable = f->sequential;
    fi->keep_cache = 0;
    fi->fh = c.handles.Add(std::move(f));
    if (!r.Open(*fi)) c.handles.Remove(fi->fh);
  });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t,
              fuse_file_info* fi) noexcept {
  Run(req, "create", [&](FuseContext& c, Reply& r) {
    auto dir = c.inodes.Get(parent);
    if (!dir) return r.Err(ENOENT);
    auto h = c.fs->Create(*dir, name, c.who);
    if (!h.ok()) return r.Err(h.status());
    uint64_t ino = ChildId(dir->id(), name);
    // Whoever may create here may read and write what they created.
    Who level = dir->access().create;
    auto node = std::make_shared<CreatedFileNode>(ino, dir->owner(),
                                                  Access{level, level, Who::kNobody, Who::kNobody});
    auto f = std::make_shared<OpenFile>();
    f->node = node;
    f->handle = std::move(h).value();
    f->ino = ino;
    fi->direct_io = 1;
    fi->nonseekable = 0;
    fi->keep_cache = 0;
    fi->fh = c.handles.Add(std::move(f));
    fuse_entry_param e = EntryFor(c, *node, ino);
    c.inodes.Remember(ino, std::move(node));
    if (!r.Create(e, *fi)) {
      c.handles.Remove(fi->fh);
      c.inodes.Forget(ino, 1);
    }
  });
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) noexcept {
  Run(req, "read", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Get(fi->fh);
    if (!f || !f->handle) return r.Err(EBADF);
    auto buf = std::make_unique_for_overwrite<std::byte[]>(size);
    std::span<std::byte> out(buf.get(), size);
    Result<size_t> n = f->sequential ? ReadSequential(req, *f, out)
                                     : f->handle->Read(static_cast<uint64_t>(off), out);
    if (!n.ok()) return r.Err(fuse_req_interrupted(req) ? EINTR : ToErrno(n.status()));
    r.Buf(buf.get(), *n);
  });
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off,
             fuse_file_info* fi) noexcept {
  Run(req, "write", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Get(fi->fh);
    if (!f || !f->handle) return r.Err(EBADF);
    auto in = std::as_bytes(std::span(data, size));
    Result<size_t> n = f->handle->Write(static_cast<uint64_t>(off), in);
    if (!n.ok()) return r.Err(n.status());
    r.Write(*n);
  });
}

// close(2): the handle commits here, and its error is close's error.
void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Run(req, "flush", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Get(fi->fh);
    if (!f || !f->handle) return r.Err(EBADF);
    r.Err(f->handle->Flush());
  });
}

void OpFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) noexcept {
  Run(req, "fsync", [&](FuseContext& c, Reply& r) {
    r.Err(c.handles.Get(fi->fh) ? 0 : EBADF);  // nothing is buffered here
  });
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Run(req, "release", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Remove(fi->fh);  // flush already ran at close
    r.Err(f ? 0 : EBADF);
  });
}

// ---- Directories ----------------------------------------------------------------------

// Entries per List() call when walking a paged directory (Stat::paged).
constexpr size_t kDirPage = 1000;

// Loads the page of a paged directory that follows `after` ("" = the first page) as the
// page starting at index `first`.
Status LoadPage(FuseContext& c, OpenFile& f, std::string after, uint64_t first) REQUIRES(f.dir_mu) {
  auto page = c.fs->List(*f.node, c.who, ListRange{std::move(after), kDirPage});
  if (!page.ok()) return page.status();
  f.listing = std::move(page).value();
  f.page_first = first;
  f.page_end = f.listing.size() < kDirPage;
  return Status::OK();
}

// Makes f's page hold the entry with index k, paging forward by name (or starting over
// from the first page when k is before the page: rewinddir, seekdir backwards). Returns
// false when the directory ends before k.
Result<bool> SeekPage(FuseContext& c, OpenFile& f, uint64_t k) REQUIRES(f.dir_mu) {
  if (k < f.page_first) AGENT9_RETURN_IF_ERROR(LoadPage(c, f, "", 0));
  while (k >= f.page_first + f.listing.size()) {
    if (f.page_end || f.listing.empty()) return false;
    std::string after = f.listing.back().name;
    AGENT9_RETURN_IF_ERROR(LoadPage(c, f, std::move(after), f.page_first + f.listing.size()));
  }
  return true;
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Run(req, "opendir", [&](FuseContext& c, Reply& r) {
    auto node = c.inodes.Get(ino);
    if (!node) return r.Err(ENOENT);
    Stat st = c.fs->GetStat(*node, c.who, nullptr);
    if (st.type != NodeType::kDir) return r.Err(ENOTDIR);
    auto f = std::make_shared<OpenFile>();
    f->node = node;
    f->ino = ino;
    f->paged = st.paged;
    {
      MutexLock l(&f->dir_mu);
      if (f->paged) {
        // The first page now, so a refused listing fails opendir as it always did.
        Status loaded = LoadPage(c, *f, "", 0);
        if (!loaded.ok()) return r.Err(loaded);
      } else {
        auto listing = c.fs->List(*node, c.who);
        if (!listing.ok()) return r.Err(listing.status());
        f->listing = std::move(listing).value();
      }
    }
    fi->keep_cache = 0;
    fi->cache_readdir = 0;
    fi->fh = c.handles.Add(std::move(f));
    if (!r.Open(*fi)) c.handles.Remove(fi->fh);
  });
}

// Offsets: 0 is ".", 1 is "..", 2 + k is entry k; an entry's d_off is its offset + 1.
void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) noexcept {
  Run(req, "readdir", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Get(fi->fh);
    if (!f || f->handle) return r.Err(EBADF);
    std::vector<char> buf(size);
    size_t used = 0;
    MutexLock l(&f->dir_mu);
    for (uint64_t i = off < 0 ? 0 : static_cast<uint64_t>(off);; ++i) {
      struct stat st {};
      std::string_view name;
      if (i < 2) {
        name = i == 0 ? "." : "..";
        st.st_ino = i == 0 ? f->ino : InodeTable::kRootIno;
        st.st_mode = S_IFDIR;
      } else {
        uint64_t k = i - 2;
        if (f->paged) {
          auto found = SeekPage(c, *f, k);
          if (!found.ok()) {
            if (used == 0) return r.Err(found.status());
            break;  // what fits is sent; the next readdir at this offset reports the error
          }
          if (!*found) break;
          k -= f->page_first;
        } else if (k >= f->listing.size()) {
          break;
        }
        const DirEntry& e = f->listing[k];
        name = e.name;
        st.st_ino = ChildId(f->node->id(), e.name);  // the ino a lookup of the name gives
        st.st_mode = e.type == NodeType::kDir ? S_IFDIR : S_IFREG;
      }
      std::string z(name);
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, z.c_str(), &st,
                                      static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    r.Buf(buf.data(), used);
  });
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Run(req, "releasedir", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Remove(fi->fh);
    r.Err(f ? 0 : EBADF);
  });
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) noexcept {
  Run(req, "mkdir", [&](FuseContext& c, Reply& r) {
    auto dir = c.inodes.Get(parent);
    if (!dir) return r.Err(ENOENT);
    Status st = c.fs->Mkdir(*dir, name, c.who);
    if (!st.ok()) return r.Err(st);
    auto child = c.fs->Lookup(*dir, name, c.who);
    if (!child.ok()) return r.Err(child.status());
    uint64_t ino = c.inodes.InoOf(**child);
    ReplyEntry(c, r, std::move(child).value(), ino);
  });
}

void RemoveEntry(fuse_req_t req, const char* op, fuse_ino_t parent, const char* name) noexcept {
  Run(req, op, [&](FuseContext& c, Reply& r) {
    auto dir = c.inodes.Get(parent);
    if (!dir) return r.Err(ENOENT);
    r.Err(c.fs->Remove(*dir, name, c.who));
  });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  RemoveEntry(req, "unlink", parent, name);
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  RemoveEntry(req, "rmdir", parent, name);
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

FuseContext::FuseContext(std::shared_ptr<const FileService> service, Caller caller)
    : fs(std::move(service)),
      who(std::move(caller)),
      inodes(fs->root()),
      uid(getuid()),
      gid(getgid()),
      start_ms(NowMs()) {}

const fuse_lowlevel_ops& FuseOps() {
  static const fuse_lowlevel_ops kOps = MakeOps();
  return kOps;
}

}  // namespace agent9
