// KeyVault: agents' secret keys at rest. Each agent has one random secp256k1 key (never
// derived from a seed), stored sealed with XChaCha20-Poly1305 under the master key in the
// identity_keys table; the associated data binds the sealed key to its agent and public key,
// so a sealed key copied to another row does not open. The master key comes from the
// environment (master_key_env, 64 hex digits; the variable is wiped from the process once
// read), else a file named in the runtime config, else <data dir>/master.key (32 random bytes,
// mode 0600, created on first start), and lives only in sodium-guarded memory, as does every
// opened key (zeroed when its SecretBytes goes away). No method returns or logs a secret in
// any printable form.
// The vault also seals named secrets of other modules (provider API keys: "containers:<id>")
// in identity_secrets, the name bound as associated data; nothing serves them as files.
// Thread-safety: all methods are thread-safe (the vault is immutable after Open); the Conn
// rules of fs/base/sqlite.h apply.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fs/base/sqlite.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity {

struct MasterKeySource {
  std::string env_name = "AGENT9_MASTER_KEY";  // checked first; "" = none
  std::string file;      // from the runtime config; "" = the data dir's master.key
  std::string data_dir;  // where master.key lives (created when missing)
};

class KeyVault {
 public:
  // Loads (or, for the data dir's master.key, creates) the master key. kInvalidArgument for a
  // malformed key or a key file other users may read; kInternal for I/O errors.
  static Result<std::unique_ptr<KeyVault>> Open(const MasterKeySource& src);
  // A vault over a given master key (tests).
  explicit KeyVault(SecretBytes master) : master_(std::move(master)) {}

  // Creates the schema (module "identity") and checks that the master key opens what the
  // store already holds (a canary sealed on first use): kFailedPrecondition-style
  // kInvalidArgument when the key changed.
  Status Migrate(Database& db) const;

  // Makes a new random key for agent (replacing any) and returns its public key.
  Result<Bytes32> Create(Conn& c, std::string_view agent, int64_t now_ms) const;
  // Stores sk as agent's key (replacing any); returns its public key.
  Result<Bytes32> Store(Conn& c, std::string_view agent, const SecretBytes& sk,
                        int64_t now_ms) const;
  // kNotFound when the agent has no key.
  Result<Bytes32> Pubkey(Conn& c, std::string_view agent) const;
  // The agent's opened secret key. kNotFound; kInternal when it does not open.
  Result<SecretBytes> Open(Conn& c, std::string_view agent) const;
  // The agent that holds pubkey, if any.
  Result<std::optional<std::string>> AgentFor(Conn& c, const Bytes32& pubkey) const;
  // (agent, pubkey) with agent > after in id order, at most limit.
  Result<std::vector<std::pair<std::string, Bytes32>>> Keys(Conn& c, std::string_view after,
                                                            size_t limit) const;
  // Agents without a key (created before the identity module), at most limit.
  Result<std::vector<std::string>> Keyless(Conn& c, size_t limit) const;

  // Named secrets (a module's credentials), sealed under the master key with the name as
  // associated data, so a sealed value copied to another name does not open.
  // Stores (or replaces) secret under name; kInvalidArgument for an empty name or secret.
  Status StoreSecret(Conn& c, std::string_view name, const SecretBytes& secret,
                     int64_t now_ms) const;
  // The opened secret. kNotFound when absent; kInternal when it does not open.
  Result<SecretBytes> OpenSecret(Conn& c, std::string_view name) const;
  // Removes it; OK when it was absent.
  Status RemoveSecret(Conn& c, std::string_view name) const;

 private:
  Result<std::string> Seal(const SecretBytes& plain, std::string_view ad) const;
  Result<SecretBytes> Unseal(std::string_view sealed, std::string_view ad) const;
  SecretBytes master_;
};

}  // namespace agent9::identity
