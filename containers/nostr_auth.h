// NostrAuth: containers/auth/ (DESIGN 4.4). For every provider that accepts Nostr auth, reading
// auth/challenge fetches a challenge from it, signs a NIP-42-style kind 22242 event
// (tags: challenge, u = the provider's URL) with the agent's own key (identity module), and
// hands it back; auth/status shows each provider's last answer. The key never leaves the
// identity module and nothing secret is kept or shown: the signed event is public by design.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "containers/session_service.h"
#include "fs/base/clock.h"
#include "fs/base/json.h"

namespace agent9::identity {
class Identity;
}

namespace agent9::containers {

class NostrAuth {
 public:
  // identity may be null: then every call is kUnimplemented, saying why.
  NostrAuth(identity::Identity* identity, const Clock* clock, SessionService* svc)
      : identity_(identity), clock_(clock), svc_(svc) {}

  // {"<provider>":{"challenge","event_id","pubkey","ok","answer"|"error"}} for every provider
  // that accepts Nostr auth. kUnimplemented when none does.
  Result<Json> Authenticate(std::string_view agent);
  // {"<provider>":{"authenticated","pubkey","at","error"?}}; providers never tried show
  // {"authenticated":false}.
  Json AuthStatus(std::string_view agent);

 private:
  identity::Identity* identity_;
  const Clock* clock_;
  SessionService* svc_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Json> status_;  // (agent, provider)
};

}  // namespace agent9::containers
