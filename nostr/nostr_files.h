// nostr/ in every agent's tree and at the root of the admin view (DESIGN section 4):
// relays (r; w admin) and, per agent, publish (call). Formats in docs/NOSTR.md.
// Thread-safety: the nodes are thread-safe; service and calls must outlive them.
#pragma once

#include <memory>
#include <vector>

#include "fs/files/files.h"
#include "nostr/nostr_service.h"

namespace agent9::nostr {

// The `nostr` entry of an agent's directory.
std::vector<TableEntry> NostrAgentEntries(NostrService* service, std::shared_ptr<CallCache> calls);
// The global `nostr` directory (relays: the default for agents that set none).
std::vector<TableEntry> NostrGlobalEntries(NostrService* service);

}  // namespace agent9::nostr
