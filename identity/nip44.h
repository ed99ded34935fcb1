// NIP-44 v2 encrypted payloads (https://github.com/nostr-protocol/nips/blob/master/44.md),
// including the extended length prefix: plaintexts of 1..65535 bytes carry a 2-byte big-endian
// length, 65536..2^32-1 bytes carry `00 00` then a 4-byte big-endian length.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity {

inline constexpr uint64_t kNip44MaxPlaintext = 0xFFFFFFFFull;

// HKDF-extract(salt = "nip44-v2", ikm = unhashed ECDH x of sk and pub). Symmetric: the two
// parties get the same key. kInvalidArgument for an invalid sk or pub.
Result<SecretBytes> Nip44ConversationKey(const SecretBytes& sk, const Bytes32& pub);

struct Nip44MessageKeys {
  SecretBytes chacha_key;                // 32 bytes
  std::array<uint8_t, 12> chacha_nonce;  // not secret
  SecretBytes hmac_key;                  // 32 bytes
};
// HKDF-expand(conversation_key, info = nonce, 76) split 32/12/32.
Result<Nip44MessageKeys> Nip44GetMessageKeys(const SecretBytes& conversation_key,
                                             const Bytes32& nonce);

// The padded length of a plaintext of `unpadded` bytes (>= 1), without the length prefix.
size_t Nip44PaddedLen(size_t unpadded);

// Base64 of 0x02 || nonce || ChaCha20(prefix || plaintext || zeros) || HMAC. nonce null = random
// (pass one only for test vectors). kInvalidArgument for an empty or over-2^32-1-byte
// plaintext or a conversation key that is not 32 bytes.
Result<std::string> Nip44Encrypt(std::string_view plaintext, const SecretBytes& conversation_key,
                                 const Bytes32* nonce = nullptr);
// kInvalidArgument ("nip44: ...") for any malformed payload: '#'-prefixed (unsupported
// encoding), wrong version, bad base64, too short or long, bad MAC, bad length or padding.
Result<std::string> Nip44Decrypt(std::string_view payload, const SecretBytes& conversation_key);

}  // namespace agent9::identity
