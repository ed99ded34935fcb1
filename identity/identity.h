// Identity: what an agent can do with its key without ever holding it (factotum style): the
// public key, BIP-340 signatures over SHA-256 of a request, NIP-44 v2 encryption to and from
// other keys, NIP-04 decryption of legacy DMs, signed Nostr events, NIP-59 gift wraps (NIP-17
// DMs) and NIP-49 key export.
// Secret keys are opened from the vault for one operation and zeroed right after. Every call
// is counted (Counts) and traced by the caller (identity_files.cc) without its payload.
// Thread-safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fs/base/clock.h"
#include "fs/base/sqlite.h"
#include "identity/encoding.h"
#include "identity/event.h"
#include "identity/key_vault.h"
#include "identity/nip59.h"

namespace agent9::identity {

enum class Op : uint8_t {
  kSign,
  kVerify,
  kEncrypt,
  kDecrypt,
  kSignEvent,
  kExport,
  kRotate,
  kWrap,
  kUnwrap
};
inline constexpr int kOpCount = 9;
const char* OpName(Op op);

class Identity {
 public:
  // db, clock and vault must outlive the service.
  Identity(Database* db, const Clock* clock, const KeyVault* vault)
      : db_(db), clock_(clock), vault_(vault) {}

  // Inside agent's creating transaction: a new random key.
  Status CreateKey(Conn& c, std::string_view agent) const;
  // Replaces agent's key with sk (restore from a bundle), inside the caller's transaction.
  Status StoreKey(Conn& c, std::string_view agent, const SecretBytes& sk) const;
  // A new random key for agent (the old one is gone); returns the new public key.
  Result<Bytes32> Rotate(std::string_view agent);

  Result<Bytes32> Pubkey(std::string_view agent) const;
  Result<Bytes32> PubkeyIn(Conn& c, std::string_view agent) const;
  // (agent, pubkey) of every agent with id > after, in id order, at most limit.
  Result<std::vector<std::pair<std::string, Bytes32>>> Keys(std::string_view after,
                                                            size_t limit) const;
  // The local agent whose key is pubkey, if any.
  Result<std::optional<std::string>> AgentFor(const Bytes32& pubkey) const;

  // BIP-340 signature over SHA-256(message).
  Result<Sig64> Sign(std::string_view agent, std::string_view message);
  // Whether sig is pubkey's BIP-340 signature over SHA-256(message).
  bool Verify(const Bytes32& pubkey, const Sig64& sig, std::string_view message);
  // NIP-44 v2 payload (base64) of plaintext from agent to `to`. kInvalidArgument for an empty
  // or oversized plaintext.
  Result<std::string> Encrypt(std::string_view agent, const Bytes32& to,
                              std::string_view plaintext);
  // The plaintext of a NIP-44 v2 payload, or of a legacy NIP-04 content ("...?iv=..."), from
  // `from` to agent. kInvalidArgument naming what is wrong with the payload.
  Result<std::string> Decrypt(std::string_view agent, const Bytes32& from,
                              std::string_view payload);
  // A NIP-01 event signed by agent (pubkey, id and sig filled in).
  Result<Event> SignEvent(std::string_view agent, int kind, Json tags, std::string content,
                          int64_t created_at);
  // A NIP-59 gift wrap of rumor to recipient, sealed with agent's key (rumor.pubkey must be
  // agent's; an empty rumor.id is filled in); seal and wrap dates are randomized up to two days
  // before the clock's now. kInvalidArgument as SealAndWrap, kNotFound for no such agent.
  Result<Event> WrapDm(std::string_view agent, const Bytes32& recipient, const Rumor& rumor);
  // Opens a gift wrap addressed to agent's key: the rumor, its verified seal and the wrap.
  // kInvalidArgument naming the layer at fault (see Unwrap in nip59.h).
  Result<Unwrapped> UnwrapDm(std::string_view agent, const Event& wrap);
  // agent's key as NIP-49 ncryptsec under passphrase (scrypt cost 2^log_n), inside the
  // caller's (read) transaction.
  Result<std::string> ExportKey(Conn& c, std::string_view agent, std::string_view passphrase,
                                int log_n);

  // Calls made so far, by op (and failed ones).
  struct Counts {
    int64_t calls[kOpCount] = {};
    int64_t errors[kOpCount] = {};
  };
  Counts counts() const;

  int64_t NowMs() const { return clock_->NowMs(); }
  Database* db() const { return db_; }

 private:
  // Opens agent's key for one operation.
  Result<SecretBytes> OpenKey(std::string_view agent) const;
  void Count(Op op, bool ok);

  Database* db_;
  const Clock* clock_;
  const KeyVault* vault_;
  std::atomic<int64_t> calls_[kOpCount] = {};
  std::atomic<int64_t> errors_[kOpCount] = {};
};

}  // namespace agent9::identity
