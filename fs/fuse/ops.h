// The FUSE low-level operations (STYLE 2.3 "FUSE adapter"): one noexcept trampoline per op
// (inodes and the op table in ops.cc, files in ops_files.cc, directories in ops_dirs.cc;
// shared helpers in ops_internal.h), each replying exactly once and calling only FileService,
// Node::GetStat and Handle methods. FuseContext is the session's userdata: the tree, the
// principal and the inode and handle tables. Thread-safety: ops run concurrently on libfuse's
// worker threads; FuseContext's members are immutable or thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "fs/file_service.h"
#include "fs/fuse/handle_table.h"
#include "fs/fuse/inode_table.h"

struct fuse_lowlevel_ops;

namespace agent9 {

struct FuseContext {
  FuseContext(std::shared_ptr<const FileService> service, Caller caller);

  const std::shared_ptr<const FileService> fs;
  const Caller who;
  InodeTable inodes;
  HandleTable handles;
  const uid_t uid;  // st_uid/st_gid of every file: the daemon's user
  const gid_t gid;
  const int64_t start_ms;  // mtime of nodes that report none
};

// The op table passed to fuse_session_new; userdata must be a FuseContext.
const fuse_lowlevel_ops& FuseOps();

}  // namespace agent9
