// Internal to the FUSE adapter: the reply guard and the trampoline every op runs in, the
// attribute and entry helpers, and the op handlers of ops_files.cc and ops_dirs.cc (ops.cc
// holds the op table). Thread-safety: as ops.h; a Reply is used by the one thread running its
// request.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <exception>
#include <memory>

#include "fs/base/status.h"
#include "fs/fuse/errno_map.h"
#include "fs/fuse/invalidator.h"
#include "fs/fuse/ops.h"

namespace agent9::fuse_ops {

inline FuseContext& Ctx(fuse_req_t req) {
  return *static_cast<FuseContext*>(fuse_req_userdata(req));
}

// Logs a handler failure; never throws.
void LogFailure(const char* op, const char* what) noexcept;

// kUnimplemented naming what agent9 files do not support.
Status NotSupported(const char* what);

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
  void Attr(const struct stat& st, double timeout) {
    if (Take()) fuse_reply_attr(req_, &st, timeout);
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
  InFuseRequest in_request(&Ctx(req));  // this mount's invalidations made here are handed off
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

// How long the kernel may keep what the tree says it may cache (Stat::names_announced,
// Stat::attrs_fixed): removals are invalidated at once (invalidator.h), so this only bounds
// the damage of a change that was not announced. Everything else: 0, never cached.
inline constexpr double kCacheSecs = 60.0;

// The attributes of node under ino; *fixed: they may be cached (Stat::attrs_fixed).
struct stat AttrOf(const FuseContext& c, const Node& node, uint64_t ino, bool* fixed = nullptr);
// The entry the kernel gets for node under ino. cache_name: its directory announces removals
// (Stat::names_announced), so the name may be cached.
fuse_entry_param EntryFor(FuseContext& c, const Node& node, uint64_t ino, bool cache_name);
// Hands the kernel a reference to node, the child of dir, under ino (lookup, mkdir).
void ReplyEntry(FuseContext& c, Reply& r, const Node& dir, std::shared_ptr<Node> node,
                uint64_t ino);

// ops_files.cc
void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept;
void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t,
              fuse_file_info* fi) noexcept;
void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) noexcept;
void OpWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off,
             fuse_file_info* fi) noexcept;
void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept;
void OpFsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) noexcept;
void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept;

// ops_dirs.cc
void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept;
void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) noexcept;
void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept;
void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) noexcept;
void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept;
void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept;

}  // namespace agent9::fuse_ops
