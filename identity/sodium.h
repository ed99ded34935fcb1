// libsodium wrapper: guarded secret memory (SecretBytes), randomness, SHA-256, HMAC-SHA256,
// HKDF-SHA256 (RFC 5869) and XChaCha20-Poly1305-IETF. sodium_init() must have run once
// (main and the test main do it) before any of these is used; nothing here calls it.
// Thread-safety: free functions are safe from any thread; a SecretBytes is a value owned by
// one thread at a time (const methods may be shared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "fs/base/status.h"
#include "identity/encoding.h"

namespace agent9::identity {

// Move-only secret buffer in sodium_malloc memory: guard pages around it, mlock'ed and kept
// out of core dumps (MADV_DONTDUMP); zeroed and released by sodium_free. A moved-from or
// Make(0) value is empty. Allocation failure throws std::bad_alloc (like any allocation).
class SecretBytes {
 public:
  SecretBytes() = default;
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  static SecretBytes Make(size_t n);  // n zero bytes
  static SecretBytes Copy(std::span<const uint8_t> bytes);
  static SecretBytes Random(size_t n);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::span<uint8_t> mutable_span() { return {data_, size_}; }
  // Constant-time comparison (sodium_memcmp); false when the sizes differ.
  bool Equal(const SecretBytes& other) const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Initialises libsodium (sodium_init). Call once at startup, before threads start and before
// anything else here (main, test mains and fuzz targets); kInternal if it fails. Nothing in
// this module calls it lazily.
Status InitSodium();

// Fills out with cryptographically secure random bytes.
void RandomBytes(std::span<uint8_t> out);
// Zeroes memory in a way the compiler cannot drop (sodium_memzero).
void SecureZero(std::span<uint8_t> bytes);
// Constant-time equality of two equal-length buffers; false when the lengths differ.
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

Bytes32 Sha256(std::span<const uint8_t> data);
// HMAC-SHA256 over msg || msg2 with a key of any length.
Bytes32 HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> msg,
                   std::span<const uint8_t> msg2 = {});
// HKDF-SHA256 (RFC 5869). Extract returns the 32-byte PRK; Expand returns `length` bytes
// (kInvalidArgument unless 1 <= length <= 255 * 32).
SecretBytes HkdfExtract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm);
Result<SecretBytes> HkdfExpand(std::span<const uint8_t> prk, std::span<const uint8_t> info,
                               size_t length);

// XChaCha20-Poly1305-IETF. Seal returns ciphertext || 16-byte tag. kInvalidArgument when the
// key is not 32 bytes or the nonce not 24; Open also on authentication failure.
inline constexpr size_t kXChaChaKeyBytes = 32;
inline constexpr size_t kXChaChaNonceBytes = 24;
inline constexpr size_t kXChaChaTagBytes = 16;
Result<std::vector<uint8_t>> XChaChaSeal(const SecretBytes& key32, std::span<const uint8_t> nonce24,
                                         std::span<const uint8_t> plaintext,
                                         std::span<const uint8_t> ad);
Result<SecretBytes> XChaChaOpen(const SecretBytes& key32, std::span<const uint8_t> nonce24,
                                std::span<const uint8_t> ciphertext, std::span<const uint8_t> ad);

}  // namespace agent9::identity
