// Helpers shared by the FUSE mount tests.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace agent9::testing {

// /dev/fuse is there and usable: the mount tests skip otherwise.
inline bool HaveFuse() { return access("/dev/fuse", R_OK | W_OK) == 0; }

// stat(path): 0, or the errno; st (optional) receives the attributes.
inline int StatErrno(const std::string& path, struct stat* st = nullptr) {
  struct stat tmp {};
  return stat(path.c_str(), st ? st : &tmp) == 0 ? 0 : errno;
}

}  // namespace agent9::testing
