// NIP-49 password-encrypted secret keys ("ncryptsec1..."): scrypt(password, salt, 2^log_n,
// r=8, p=1) -> XChaCha20-Poly1305 over the 32-byte key with the key-security byte as AD.
// Passwords: NFKC normalisation is specified; it is the identity on ASCII, and non-ASCII
// passwords are used as their UTF-8 bytes unchanged (no ICU dependency), so a non-ASCII
// password typed in a different normal form elsewhere will not match.
// Thread-safety: pure functions (each call allocates 2^log_n * 1 KiB for scrypt).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/status.h"
#include "identity/sodium.h"

namespace agent9::identity {

// log_n above this is refused on both sides: scrypt needs 128 * 8 * 2^log_n bytes (4 GiB at 22).
inline constexpr int kNip49MaxLogN = 22;

// key_security: 0 = known to have been handled insecurely, 1 = not, 2 = unknown. salt and
// nonce null = random (pass them only for tests). kInvalidArgument for an invalid sk, log_n
// outside 1..22 or key_security outside 0..2.
Result<std::string> Nip49Encrypt(const SecretBytes& sk, std::string_view password, int log_n = 16,
                                 uint8_t key_security = 2,
                                 const std::array<uint8_t, 16>* salt = nullptr,
                                 const std::array<uint8_t, 24>* nonce = nullptr);
// kInvalidArgument with messages that tell the cases apart: "ncryptsec: bad checksum" (any
// bech32 failure), "ncryptsec: wrong prefix", "ncryptsec: unsupported version N",
// "ncryptsec: bad length", "ncryptsec: log_n N out of range", "ncryptsec: bad key security
// byte", "ncryptsec: wrong passphrase or corrupted key". kResourceExhausted if scrypt cannot
// allocate its memory.
Result<SecretBytes> Nip49Decrypt(std::string_view ncryptsec, std::string_view password);

}  // namespace agent9::identity
