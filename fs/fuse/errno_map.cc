#include "fs/fuse/errno_map.h"

#include <cerrno>

namespace agent9 {

// No default: with -Werror=switch a new Code does not compile until it is mapped here.
int ToErrno(Code code) {
  switch (code) {
    case Code::kOk:
      return 0;
    case Code::kNotFound:
      return ENOENT;
    case Code::kAlreadyExists:
      return EEXIST;
    case Code::kInvalidArgument:
      return EINVAL;
    case Code::kPermissionDenied:  // NOLINT(bugprone-branch-clone): two codes, one errno
      return EACCES;
    case Code::kUnauthenticated:
      return EACCES;
    case Code::kBudgetExceeded:
      return EDQUOT;
    case Code::kResourceExhausted:
      return EAGAIN;
    case Code::kAborted:
      return EBUSY;
    case Code::kTooLarge:
      return EFBIG;
    case Code::kIsDirectory:
      return EISDIR;
    case Code::kNotDirectory:
      return ENOTDIR;
    case Code::kUnimplemented:
      return EOPNOTSUPP;
    case Code::kUnavailable:
      return EAGAIN;
    case Code::kDeadlineExceeded:
      return ETIMEDOUT;
    case Code::kInternal:
      return EIO;
  }
  return EIO;  // an out-of-range value cast into Code
}

}  // namespace agent9
