// TokenAuth: bearer tokens for the control plane. The admin token lives in the data dir's
// admin.token (mode 0600, created on first start); agent tokens are random, shown once, and
// stored only as BLAKE2b hashes in the `tokens` table, so a copy of the database reveals no
// token. Comparisons are constant-time. Tokens never appear in logs or error messages.
// Thread-safety: thread-safe.
#pragma once

#include <string>
#include <string_view>

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
  // A new token for agent (which must exist). The caller shows it once.
  Result<std::string> MintAgentToken(std::string_view agent);

 private:
  TokenAuth(Database* db, const Clock* clock, std::string admin_token)
      : db_(db), clock_(clock), admin_token_(std::move(admin_token)) {}
  Database* db_;
  const Clock* clock_;
  const std::string admin_token_;
};

// A fresh random token: "a9_" + 64 hex chars.
std::string NewToken();

}  // namespace agent9
