// Exec in a live local sandbox: a root helper joins the sandbox's namespaces and root (those
// of bwrap's pid 1) and forks `sh -c command` as the session uid, under the session's rlimits,
// in its workdir. Internal to the local provider. Thread-safety: as Process.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "containers/provider.h"

namespace agent9::containers {

class SessionCore;

// kUnavailable when the session is not running (or not interactive), or the daemon is not root.
Result<std::unique_ptr<Process>> StartLocalExec(std::shared_ptr<SessionCore> core,
                                                const std::string& command,
                                                const std::map<std::string, std::string>& env,
                                                OutputFn on_output);

}  // namespace agent9::containers
