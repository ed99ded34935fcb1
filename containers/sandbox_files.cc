#include "containers/sandbox_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace agent9::containers {
namespace {

Status Escapes() { return Status::PermissionDenied("path escapes the workdir"); }

Status FileError(const std::string& path, int err) {
  switch (err) {
    case ENOENT:
      return Status::NotFound(path.empty() ? "." : path);
    case ENOTDIR:
      return Status::NotDirectory(path);
    case EISDIR:
      return Status::IsDirectory(path);
    case EEXIST:
      return Status::AlreadyExists(path);
    case ENOTEMPTY:
      return Status::Aborted(path, "directory not empty");
    case EXDEV:
    case ELOOP:
      return Escapes();
    case EACCES:
    case EPERM:
      return Status::PermissionDenied(path);
    case ENOSPC:
    case EDQUOT:
      return Status::ResourceExhausted(path, "no space left");
    default:
      return Status::Internal(path, strerror(err));
  }
}

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

FileEntry EntryOf(std::string name, const struct stat& st) {
  FileEntry e;
  e.name = std::move(name);
  e.dir = S_ISDIR(st.st_mode);
  e.size = e.dir ? 0 : static_cast<int64_t>(st.st_size);
  e.mtime_ms = MtimeMs(st);
  return e;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

std::string Normalize(const std::string& path) {
  std::string p = path;
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p.empty() ? "." : p;
}

}  // namespace

Status CheckRelativePath(const std::string& path) {
  if (path.find('\0') != std::string::npos) return Status::InvalidArgument("path holds NUL");
  if (!path.empty() && path[0] == '/') return Escapes();
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0) return Escapes();
    start = end + 1;
  }
  return Status::OK();
}

Result<std::unique_ptr<WorkdirFiles>> WorkdirFiles::Open(const std::string& dir, uid_t owner,
                                                         gid_t group) {
  int fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("open workdir", strerror(errno));
  return std::unique_ptr<WorkdirFiles>(new WorkdirFiles(fd, owner, group));
}

WorkdirFiles::~WorkdirFiles() { close(dir_fd_); }

Result<int> WorkdirFiles::OpenBeneath(const std::string& path, int flags, mode_t mode) {
  AGENT9_RETURN_IF_ERROR(CheckRelativePath(path));
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  std::string p = Normalize(path);
  long fd;
  do {
    fd = syscall(SYS_openat2, dir_fd_, p.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) return FileError(path, errno);
  return static_cast<int>(fd);
}

Result<int> WorkdirFiles::OpenParent(const std::string& path, std::string* name) {
  AGENT9_RETURN_IF_ERROR(CheckRelativePath(path));
  std::string p = Normalize(path);
  if (p == ".") return Status::PermissionDenied("the workdir itself");
  size_t slash = p.rfind('/');
  *name = slash == std::string::npos ? p : p.substr(slash + 1);
  if (*name == ".") return Status::InvalidArgument("bad path", path);
  return OpenBeneath(slash == std::string::npos ? "." : p.substr(0, slash), O_PATH | O_DIRECTORY);
}

void WorkdirFiles::Own(int fd, const char* name) {
  if (owner_ == static_cast<uid_t>(-1)) return;
  if (name == nullptr) {
    (void)fchown(fd, owner_, group_);
  } else {
    (void)fchownat(fd, name, owner_, group_, AT_SYMLINK_NOFOLLOW);
  }
}

Result<std::string> WorkdirFiles::ReadFile(const std::string& path) {
  // O_NONBLOCK: a FIFO made by the sandbox must not hang the daemon.
  AGENT9_ASSIGN_OR_RETURN(int fd, OpenBeneath(path, O_RDONLY | O_NONBLOCK));
  FdCloser c{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return FileError(path, errno);
  if (S_ISDIR(st.st_mode)) return Status::IsDirectory(path);
  if (!S_ISREG(st.st_mode)) return Status::PermissionDenied(path, "not a regular file");
  if (st.st_size > kMaxFileBytes) return Status::TooLarge(path, "larger than 16 MiB");
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > kMaxFileBytes) {
      return Status::TooLarge(path, "larger than 16 MiB");
    }
  }
  return out;
}

Status WorkdirFiles::WriteFile(const std::string& path, std::string_view data) {
  if (static_cast<int64_t>(data.size()) > kMaxFileBytes) {
    return Status::TooLarge(path, "larger than 16 MiB");
  }
  AGENT9_ASSIGN_OR_RETURN(
      int fd, OpenBeneath(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_NOCTTY, 0644));
  FdCloser c{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return FileError(path, errno);
  if (!S_ISREG(st.st_mode)) return Status::PermissionDenied(path, "not a regular file");
  Own(fd, nullptr);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError(path, errno);
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}

Result<std::vector<FileEntry>> WorkdirFiles::List(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(int fd, OpenBeneath(path, O_RDONLY | O_DIRECTORY));
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    close(fd);
    return FileError(path, err);
  }
  std::vector<FileEntry> out;
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    out.push_back(EntryOf(e->d_name, st));
  }
  closedir(d);
  std::sort(out.begin(), out.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.name < b.name; });
  return out;
}

Result<FileEntry> WorkdirFiles::StatFile(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(int fd, OpenBeneath(path, O_PATH));
  FdCloser c{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return FileError(path, errno);
  std::string p = Normalize(path);
  size_t slash = p.rfind('/');
  return EntryOf(slash == std::string::npos ? p : p.substr(slash + 1), st);
}

Status WorkdirFiles::Remove(const std::string& path) {
  std::string name;
  AGENT9_ASSIGN_OR_RETURN(int fd, OpenParent(path, &name));
  FdCloser c{fd};
  if (unlinkat(fd, name.c_str(), 0) == 0) return Status::OK();
  if (errno != EISDIR) return FileError(path, errno);
  if (unlinkat(fd, name.c_str(), AT_REMOVEDIR) == 0) return Status::OK();
  return FileError(path, errno);
}

Status WorkdirFiles::Mkdir(const std::string& path) {
  std::string name;
  AGENT9_ASSIGN_OR_RETURN(int fd, OpenParent(path, &name));
  FdCloser c{fd};
  if (mkdirat(fd, name.c_str(), 0755) != 0) return FileError(path, errno);
  Own(fd, name.c_str());
  return Status::OK();
}

Status WorkdirFiles::MakeParents(const std::string& path) {
  AGENT9_RETURN_IF_ERROR(CheckRelativePath(path));
  std::string p = Normalize(path);
  for (size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
    std::string dir = p.substr(0, slash);
    if (dir.empty() || dir.back() == '/') continue;
    Status s = Mkdir(dir);
    if (!s.ok() && s.code() != Code::kAlreadyExists) return s;
  }
  return Status::OK();
}

}  // namespace agent9::containers
