// TokenAuth: bearer tokens for the control plane. The admin token lives in the data dir's
// admin.token (mode 0600, created on first start); agent tokens are random, shown once, and
// stored only as BLAKE2b hashes in the `tokens` table, so a copy of the database reveals no
// token. Comparisons are constant-time. Tokens never appear in logs or error messages.
// A token check is answered from memory when it can be: the admin token always; agent token
// hashes once seen, in a bounded cache that an agent's removal (announced on the ChangeFeed)
// clears before the removal returns, so a deleted agent's tokens stop working at once; program
// tokens through AgentService::CreatedAt, which its own Delete keeps exact.
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "controlplane/control_api.h"
#include "fs/base/clock.h"
#include "fs/base/mutex.h"
#include "fs/base/sqlite.h"
#include "fs/change_feed.h"
#include "tick/agents.h"

namespace agent9 {

class TokenAuth final : public Authenticator {
 public:
  // Reads admin_token_path, creating it (0600) with a fresh token when missing.
  // db, agents and clock must outlive the TokenAuth.
  static Result<std::unique_ptr<TokenAuth>> Open(Database* db, const AgentService* agents,
                                                 const Clock* clock,
                                                 const std::string& admin_token_path);
  static Status Migrate(Database& db);

  Result<Caller> Authenticate(std::string_view bearer_token) override;
  // Other schemes go to the module that verifies them (NIP-98: nostr); an operator's npub is
  // the admin, any other npub a public caller with Caller::npub set.
  Result<Caller> AuthenticateRequest(const HttpAuth& req) override;
  // The modules and the [http] settings: public_url replaces http://<Host> in the URL a
  // signature must name; operators are npubs with admin rights. Call before traffic starts.
  void SetHttpAuth(const Modules* modules, std::string public_url,
                   std::vector<std::string> operators);
  // Drops cached entries of agents removed on feed (which must outlive this TokenAuth). Call
  // before traffic starts.
  void WatchRemovals(ChangeFeed* feed);
  ~TokenAuth() override;
  // A new token for agent (which must exist). The caller shows it once.
  Result<std::string> MintAgentToken(std::string_view agent);
  // The same inside the caller's write transaction (Database::Write), where the agent's row
  // must be visible: creating an agent and its first token commit together.
  Result<std::string> MintAgentTokenIn(Conn& c, std::string_view agent);
  // The token an agent's program gets as AGENT9_TOKEN: scoped to that agent, valid while
  // this daemon runs (a keyed BLAKE2b of the agent id and its creation time under a key made
  // at start and never stored), so it needs no storage and dies with a deleted agent.
  // kNotFound when the agent does not exist.
  Result<std::string> ProgramToken(std::string_view agent);

 private:
  TokenAuth(Database* db, const AgentService* agents, const Clock* clock, std::string admin_token);
  // The MAC of a program token for agent created at created_at.
  std::string ProgramMac(std::string_view agent, int64_t created_at) const;
  // The agent whose token hashes to hash, or "" (from the cache or the store).
  Result<std::string> TokenAgent(const std::string& hash) const;
  void Forget(std::string_view agent);

  // The cache: token hash -> agent, and each agent's hashes, so a removal finds them without a
  // scan.
  static constexpr size_t kCacheMax = 16384;  // agents; the cache is emptied when it is full
  mutable Mutex cache_mu_;
  mutable std::unordered_map<std::string, std::string> token_agent_ GUARDED_BY(cache_mu_);
  mutable std::unordered_map<std::string, std::vector<std::string>> hashes_of_
      GUARDED_BY(cache_mu_);
  // Bumped by every removal: a store read that began before it must not fill the cache.
  mutable uint64_t epoch_ GUARDED_BY(cache_mu_) = 0;
  ChangeFeed* feed_ = nullptr;
  uint64_t subscription_ = 0;

  Database* db_;
  const AgentService* agents_;
  const Clock* clock_;
  const std::string admin_token_;
  const Modules* modules_ = nullptr;
  std::string public_url_;
  std::vector<std::string> operators_;  // npub1...
  unsigned char program_key_[32];       // per run; never leaves memory
};

// A fresh random token: "a9_" + 64 hex chars.
std::string NewToken();

}  // namespace agent9
