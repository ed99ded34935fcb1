// RunDaemon: `agent9 serve`. Opens the Runtime over the data dir, starts HTTP, mounts the
// FUSE views, prints `listening http://HOST:PORT`, and on SIGINT/SIGTERM shuts down in
// reverse order: unmount, stop HTTP, close the database. Returns the process exit code.
#pragma once

#include "controlplane/cli/cli.h"

namespace agent9 {

int RunDaemon(const ServeOptions& opts);

}  // namespace agent9
