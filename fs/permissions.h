// The one place DESIGN section 3 is decided: which principal may see, read, write, create in
// and remove from which node. FileService calls these before every Node operation; nothing
// else checks permissions. Thread-safety: pure functions.
#pragma once

#include <functional>
#include <string_view>

#include "fs/node.h"

namespace agent9 {

enum class Op : uint8_t { kSee, kRead, kWrite, kCreate, kRemove };

// Answers whether an agent's public pages are switched on (hud/settings `public`).
using IsPublicFn = std::function<bool(std::string_view agent_id)>;

// OK, or kPermissionDenied (a token that may not do this) / kUnauthenticated (no token, and
// the thing is not public).
Status CheckAccess(const Caller& who, const Node& node, Op op, const IsPublicFn& is_public);

// Permission bits (rwx for the owner, as `ls -l` shows them) for `who` on `node`.
uint32_t ModeFor(const Caller& who, const Node& node, const IsPublicFn& is_public);

}  // namespace agent9
