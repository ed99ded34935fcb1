// files/ of a running session: its workdir, read and written through the provider's Sandbox
// file methods (which refuse `..`, absolute paths and symlinks that lead out). A file is read
// whole at open (so chunked reads never tear) and written whole at close, up to
// kMaxFileBytes; `ls`, `cat`, `echo >`, `cp`, `mkdir` and `rm` work over FUSE and HTTP.
// Thread-safety: as Node and Handle.
#pragma once

#include <memory>
#include <string>

#include "containers/session_service.h"
#include "fs/node.h"

namespace agent9::containers {

// The files/ directory of session sid (rel "" = the workdir itself).
std::shared_ptr<Node> WorkdirNode(NodeId id, const std::string& agent, SessionService* svc,
                                  std::string sid, std::string rel, bool dir);

}  // namespace agent9::containers
