// FUSE file ops: open, create, read, write, flush (close's commit), fsync, release.
#include <fcntl.h>
#include <fuse_lowlevel.h>

#include <cstddef>
#include <memory>
#include <span>
#include <utility>

#include "fs/fuse/created_node.h"
#include "fs/fuse/ops_internal.h"

namespace agent9::fuse_ops {
namespace {

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

}  // namespace

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
    // Not cached: the next lookup replaces the created node with the file as stored.
    fuse_entry_param e = EntryFor(c, *node, ino, /*cache_name=*/false);
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

}  // namespace agent9::fuse_ops
