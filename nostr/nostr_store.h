// NostrStore: the nostr module's tables (module "nostr"): each agent's relay list and the
// global default, the inbound dedupe set and cursor, the outgoing DM queue, and the agents
// whose NIP-65 / NIP-17 relay lists are due to be published.
// Thread-safety: thread-safe (every call is one Database transaction, or runs inside the
// caller's).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/sqlite.h"

namespace agent9::nostr {

struct OutgoingDm {
  std::string id;         // the envelope id (unique)
  std::string agent;      // sender
  std::string recipient;  // x-only pubkey hex
  Json envelope;          // {"id","from","ts","body","reply_to"?}
  int64_t attempts = 0;
};

class NostrStore {
 public:
  explicit NostrStore(Database* db) : db_(db) {}
  Status Migrate() const;

  // ---- relay lists (normalised URLs, in order) ----
  // The agent's own list; nullopt when it sets none (the default applies).
  Result<std::optional<std::vector<std::string>>> AgentRelays(std::string_view agent) const;
  // Replaces (empty: clears) the agent's list and marks its relay lists due. kNotFound.
  Status SetAgentRelays(std::string_view agent, const std::vector<std::string>& urls) const;
  Result<std::vector<std::string>> DefaultRelays() const;
  // Replaces the default; every agent without a list of its own gets its lists due.
  Status SetDefaultRelays(const std::vector<std::string>& urls) const;
  // Sets the default only when none was ever stored (the runtime config's [nostr] relays).
  Status SeedDefaultRelays(const std::vector<std::string>& urls) const;
  // Every agent that has a list of its own (few: most use the default).
  Result<std::map<std::string, std::vector<std::string>>> AgentsWithRelays() const;

  // ---- relay lists due for publication ----
  Status MarkListsDue(Conn& c, std::string_view agent) const;
  Result<std::vector<std::string>> ListsDue(size_t limit) const;
  Status ClearListsDue(std::string_view agent) const;

  // ---- inbound ----
  // Records event id as seen; false when it was seen before.
  Result<bool> MarkSeen(std::string_view event_id, int64_t now_ms) const;
  Result<bool> Seen(std::string_view event_id) const;
  // The newest created_at (s) of an accepted event; 0 before the first.
  Result<int64_t> Cursor() const;
  // An event was handled: its id is seen and the cursor moves up to its created_at, in one
  // transaction.
  Status Accepted(std::string_view event_id, int64_t created_at_s, int64_t now_ms) const;
  // Drops seen ids older than before_ms.
  Status PruneSeen(int64_t before_ms) const;

  // ---- outbound ----
  Status AddOutgoing(Conn& c, const OutgoingDm& dm, int64_t now_ms) const;
  Result<std::vector<OutgoingDm>> DueOutgoing(int64_t now_ms, size_t limit) const;
  Status RetryOutgoing(std::string_view id, int64_t next_at_ms) const;
  Status DropOutgoing(std::string_view id) const;
  // The earliest next_at of a queued DM, if any.
  Result<std::optional<int64_t>> NextOutgoingAt() const;

 private:
  Status SetMeta(Conn& c, std::string_view name, std::string_view value) const;
  Database* db_;
};

// "a\nb" <-> {"a","b"}.
std::string JoinLines(const std::vector<std::string>& v);
std::vector<std::string> SplitLines(std::string_view s);

}  // namespace agent9::nostr
