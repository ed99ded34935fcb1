// containers/ in every agent's tree (DESIGN 4 and 4.4; docs/CONTAINERS.md): providers/,
// new, sessions/<sid>/{request,status,result,stdout,stderr,usage,output,ctl,exec/,files/},
// policy, usage, auth/. Turns SessionService's API into nodes; no domain logic here.
#pragma once

#include <memory>

#include "containers/session_service.h"
#include "fs/files/files.h"

namespace agent9::containers {

class NostrAuth;

// auth may be null (no identity module: auth/ answers that Nostr auth is unavailable).
TableEntry ContainersEntry(SessionService* svc, NostrAuth* auth, std::shared_ptr<CallCache> calls);

}  // namespace agent9::containers
