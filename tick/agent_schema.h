// The core schema: the migration steps of Database::Migrate module "core" (agents, their
// queues and documents, alarms, events, outbox, trajectory, tick records). The steps are
// append-only: a released step never changes (a database that ran it does not run it again),
// so a change is a new step at the end. Each step's comment names the file that owns each
// table it adds. Thread-safety: constant data.
#pragma once

#include <span>
#include <string_view>

namespace agent9 {

// The "core" steps, oldest first (AgentService::Migrate runs them).
std::span<const std::string_view> CoreSchemaSteps();

}  // namespace agent9
