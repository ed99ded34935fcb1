// Credentials: the remote providers' API keys, sealed at rest by identity's KeyVault under
// the names "containers:<provider>", so no file, status or log can read them back. The
// provider asks for its key per request (DaytonaProvider's api_key callback).
// Thread-safety: all methods are thread-safe (Database and KeyVault are).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fs/base/clock.h"
#include "fs/base/sqlite.h"
#include "fs/base/status.h"
#include "identity/key_vault.h"

namespace agent9::containers {

class Credentials {
 public:
  // db and vault (already migrated) must outlive this; clock null = the system clock.
  Credentials(Database* db, const identity::KeyVault* vault, const Clock* clock = nullptr);

  // Stores (or replaces) provider's key. kInvalidArgument for an empty provider or secret.
  Status Set(std::string_view provider, std::string_view secret);
  // The key, or nullopt when none is stored; kInternal when it does not open.
  Result<std::optional<std::string>> Get(std::string_view provider);
  // Forgets it (OK when there was none).
  Status Remove(std::string_view provider);

  // "containers:<provider>"
  static std::string SecretName(std::string_view provider);

 private:
  Database* db_;
  const identity::KeyVault* vault_;
  const Clock* clock_;
  SystemClock system_clock_;
};

// A provider's api_key callback: the key stored for provider in creds, else the environment
// variable env_name (read at each call); kNotFound when neither has one. creds may be null
// (environment only) and must outlive the callback.
std::function<Result<std::string>()> KeySource(Credentials* creds, std::string provider,
                                               std::string env_name);

}  // namespace agent9::containers
