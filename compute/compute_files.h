// The compute/ directory of an agent (DESIGN 4 and 4.2; docs/COMPUTE.md): ComputeService's
// API as files. statfs on compute/ reports the day's budget (micro-USD as 1-byte blocks).
// Thread-safety: nodes are immutable; everything they call is thread-safe.
#pragma once

#include <memory>

#include "compute/compute_service.h"
#include "fs/files/files.h"
#include "fs/module.h"

namespace agent9::compute {

// The `compute` entry of every agent's directory.
TableEntry ComputeEntry(ComputeService* service, std::shared_ptr<CallCache> calls);

}  // namespace agent9::compute
