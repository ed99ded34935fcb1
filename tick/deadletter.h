// The dead letters: messages and events the agent could not take (table deadletter; the
// agents columns dead_count and dead_bytes, kept by the schema's triggers). AgentService's
// deadletter methods (List, Get, Replay, Discard) are declared in tick/agents.h and defined in
// deadletter.cc; the inbox (overflow=deadletter) and the tick engine (a trigger out of
// attempts) file them.
// Thread-safety: AgentService's deadletter methods are thread-safe; writes go through
// Database::Write (group commit). InsertDeadletterInTransaction: inside the caller's Write only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/sqlite.h"
#include "fs/base/status.h"

namespace agent9 {

struct DeadLetter {
  int64_t seq = 0;
  std::string envelope;
  std::string reason;
  int64_t attempts = 0;
  int64_t at = 0;
};

// Files a dead letter (envelope JSON text) under seq, inside the caller's transaction.
Status InsertDeadletterInTransaction(Conn& c, std::string_view agent, const DeadLetter& d);

}  // namespace agent9
