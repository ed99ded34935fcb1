// errno_map: the one place where a Status code becomes an errno (DESIGN section 6). The
// FUSE ops reply with ToErrno(status); nothing else in agent9 picks an errno.
// Thread-safety: pure functions.
#pragma once

#include "fs/base/status.h"

namespace agent9 {

// The positive errno for a code; 0 for kOk. Never ENOSYS (the kernel may remember it).
int ToErrno(Code code);
inline int ToErrno(const Status& st) { return ToErrno(st.code()); }

}  // namespace agent9
