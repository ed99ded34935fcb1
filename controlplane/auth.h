// TokenAuth: bearer tokens for the control plane. The admin token lives in the data dir's
// admin.token (mode 0600, created on first start); agent tokens are random, shown once, and
// stored only as BLAKE2b hashes in the `tokens` table, so a copy of the database reveals no
// token. Comparisons are constant-time. Tokens never appear in logs or error messages.
// Thread-safety: thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/control_api.h"
#include "fs/base/clock.h"
#include "fs/base/sqlite.h"

namespace agent9 {

class TokenAuth final : public Authenticator {
 public:
  // Reads admin_token_path, creating it (0600) with a fresh token when missing.
  // db and clock must outlive the TokenAuth.
  static Result<std::unique_ptr<TokenAuth>> Open(Database* db, const Clock* clock,
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
  TokenAuth(Database* db, const Clock* clock, std::string admin_token);
  // The MAC of a program token for agent created at created_at.
  std::string ProgramMac(std::string_view agent, int64_t created_at) const;
  // created_at of agent, or nullopt when it does not exist.
  Result<std::optional<int64_t>> CreatedAt(std::string_view agent) const;

  Database* db_;
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
