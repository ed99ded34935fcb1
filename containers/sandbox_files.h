// Files of a local sandbox's workdir, reached from the host side. Every path is resolved with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative to an O_PATH fd of the workdir, so
// the sandbox cannot lead the daemon (root) out of it: "..", absolute paths and symlinks that
// leave the workdir are refused with kPermissionDenied "path escapes the workdir". Files and
// directories made here are chowned to the session uid so the sandbox can change them.
// Thread-safety: the methods may be called from several threads at once.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "containers/provider.h"
#include "fs/base/status.h"

namespace agent9::containers {

class WorkdirFiles {
 public:
  // dir: the workdir on the host; owner: who gets the files made here (-1: leave as is).
  static Result<std::unique_ptr<WorkdirFiles>> Open(const std::string& dir, uid_t owner,
                                                    gid_t group);
  ~WorkdirFiles();
  WorkdirFiles(const WorkdirFiles&) = delete;
  WorkdirFiles& operator=(const WorkdirFiles&) = delete;

  Result<std::string> ReadFile(const std::string& path);
  Status WriteFile(const std::string& path, std::string_view data);
  Result<std::vector<FileEntry>> List(const std::string& path);
  Result<FileEntry> StatFile(const std::string& path);
  Status Remove(const std::string& path);
  Status Mkdir(const std::string& path);
  // Creates the parent directories of path (a file path) that do not exist yet.
  Status MakeParents(const std::string& path);

 private:
  WorkdirFiles(int fd, uid_t owner, gid_t group) : dir_fd_(fd), owner_(owner), group_(group) {}
  // openat2 beneath the workdir; returns the fd or the mapped error.
  Result<int> OpenBeneath(const std::string& path, int flags, mode_t mode = 0);
  // Opens the parent of path (O_PATH) and returns its last component in *name.
  Result<int> OpenParent(const std::string& path, std::string* name);
  void Own(int fd, const char* name);

  const int dir_fd_;
  const uid_t owner_;
  const gid_t group_;
};

// Checks a workdir-relative path: not absolute, no "..", no NUL. "" and "." are the workdir.
Status CheckRelativePath(const std::string& path);

}  // namespace agent9::containers
