// Internal to the files that define AgentService (tick/agents.h lists them): the agents row
// reader and the steps several concerns share.
// Thread-safety: free functions over a Conn, inside the caller's Read or Write only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/sqlite.h"
#include "fs/base/status.h"
#include "tick/agents.h"

namespace agent9 {

// The columns AgentFromRow reads, in order.
inline constexpr std::string_view kAgentColumns =
    "id, kind, state, created_at, updated_at, last_tick_at, last_tick_cause, tick_count, "
    "is_public";

AgentInfo AgentFromRow(const Stmt& s);

// kNotFound unless the agent exists.
Status RequireAgent(Conn& c, std::string_view id);

// Appends an envelope to the inbox with the agent's next seq (inbox.cc).
Result<int64_t> InsertInbox(Conn& c, std::string_view agent, const std::string& msg_id,
                            const std::string& sender, int64_t ts, const std::string& envelope,
                            int64_t attempts);
// The same with seq, the agent's next_seq, read by the caller in this transaction.
Result<int64_t> InsertInboxAt(Conn& c, std::string_view agent, int64_t seq,
                              const std::string& msg_id, const std::string& sender, int64_t ts,
                              const std::string& envelope, int64_t attempts);

}  // namespace agent9
