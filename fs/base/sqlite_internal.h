// What sqlite.cc and sqlite_commit.cc share; not for use outside fs/base/sqlite*.
#pragma once

#include <string_view>

#include "fs/base/sqlite.h"
#include "fs/base/status.h"

namespace agent9 {

// Runs a statement through the connection's cache: transaction control on every write and
// read would otherwise be parsed again each time.
Status RunCached(Conn& c, std::string_view sql);

}  // namespace agent9
