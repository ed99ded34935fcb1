// NIP-04 (legacy kind-4 direct messages): decryption only. New messages use NIP-44.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity {

// content is "base64(ciphertext)?iv=base64(16-byte iv)"; the key is the unhashed ECDH x of sk
// and sender_pub; AES-256-CBC with PKCS#7 padding. kInvalidArgument ("nip04: ...") for a
// malformed content, a bad key or a padding failure (a wrong key usually shows as that).
Result<std::string> Nip04Decrypt(std::string_view content, const SecretBytes& sk,
                                 const Bytes32& sender_pub);

}  // namespace agent9::identity
