// identity/ in every agent's tree (DESIGN section 4): pubkey, npub (r), sign, verify,
// encrypt, decrypt (call files), ctl (admin: rotate). Turns the Identity API into nodes;
// every call is traced in the agent's logs/trace with its op, caller, size and result, never
// its payload. The request and response formats are in docs/IDENTITY.md.
// Thread-safety: the nodes are thread-safe; identity, host and calls must outlive them.
#pragma once

#include <memory>
#include <vector>

#include "fs/module.h"
#include "identity/identity.h"

namespace agent9::identity {

// The `identity` entry of an agent's directory.
std::vector<TableEntry> IdentityEntries(Identity* identity, AgentHost* host,
                                        std::shared_ptr<CallCache> calls);

// Request parsers of the call files, exposed for tests and fuzzing. kInvalidArgument naming
// the field for anything malformed.
struct VerifyRequest {
  Bytes32 pubkey{};
  Sig64 sig{};
  std::string message;
};
Result<VerifyRequest> ParseVerifyRequest(std::string_view text);
struct CryptRequest {
  Bytes32 peer{};    // to (encrypt) or from (decrypt)
  std::string text;  // plaintext (encrypt) or ciphertext (decrypt)
};
// encrypt: {"to","plaintext"}; decrypt: {"from","ciphertext"}.
Result<CryptRequest> ParseCryptRequest(std::string_view text, bool encrypt);

}  // namespace agent9::identity
