// ContainersConfig: the `[containers]` part of the runtime config (docs/CONTAINERS.md): the
// local bubblewrap provider (on by default), its images (admin-provided root filesystems),
// and remote providers (`[[containers.providers]]`, Daytona's API). Credentials are never in
// the file: a provider names the environment variable that holds its key, or the admin
// stores it sealed with `agent9 containers credential`.
// Thread-safety: value type.
#pragma once

#include <string>
#include <vector>

#include "containers/daytona_provider.h"
#include "containers/local_provider.h"
#include "fs/base/runtime_config.h"

namespace agent9::containers {

struct ContainersConfig {
  bool local = true;         // offer the local provider
  LocalConfig local_config;  // run_dir is filled in from the data dir at Open
  std::vector<RemoteConfig> remotes;
  int64_t max_event_tail = 4096;  // bytes of stdout in a session's event and result
};

// Reads [containers], [[containers.images]] and [[containers.providers]]; kInvalidArgument
// naming file, line and key.
Result<ContainersConfig> ReadContainersConfig(const RuntimeConfig& config);

}  // namespace agent9::containers
