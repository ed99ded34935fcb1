// The inbox: messages queued for an agent's ticks (tables inbox and message_ids; the agents
// columns next_seq, inbox_count and inbox_bytes, the last two kept by the schema's triggers).
// AgentService's inbox methods (Enqueue, ListInbox, GetInbox, DropInbox, QueueDepth and the
// enqueue listener) are declared in tick/agents.h and defined in inbox.cc; the tick engine
// takes messages off the head (tick/tick_store.cc).
// Thread-safety: AgentService's inbox methods are thread-safe; writes go through
// Database::Write (group commit). EnqueueInTransaction: inside the caller's Write only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/sqlite.h"
#include "fs/base/status.h"
#include "tick/envelope.h"

namespace agent9 {

struct EnqueueResult {
  std::string id;
  int64_t seq = 0;
  bool duplicate = false;     // the id was seen before: nothing new was queued
  bool deadlettered = false;  // inbox full with overflow=deadletter
  // The agent was active and had a kind when the message was queued, so a tick may take it.
  // A sink (kind "none") or a hibernated agent is not woken for each message: the config
  // write that names a kind and `wake` notify the engine themselves.
  bool runnable = false;
};

struct QueuedMessage {
  int64_t seq = 0;
  std::string envelope;  // JSON text
  int64_t attempts = 0;
  int64_t ts = 0;
};

// The enqueue step of every inbox write, inside the caller's transaction (the tick engine
// uses it to send messages atomically with a tick). kNotFound, kResourceExhausted (inbox
// full, overflow reject).
Result<EnqueueResult> EnqueueInTransaction(Conn& c, std::string_view agent, const Envelope& env,
                                           int64_t now_ms);

}  // namespace agent9
