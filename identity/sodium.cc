#include "identity/sodium.h"

#include <sodium.h>

#include <algorithm>
#include <new>
#include <utility>

namespace agent9::identity {

SecretBytes::~SecretBytes() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free zeroes before unmapping
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes SecretBytes::Make(size_t n) {
  SecretBytes s;
  if (n == 0) return s;
  void* p = sodium_malloc(n);
  if (p == nullptr) throw std::bad_alloc();
  s.data_ = static_cast<uint8_t*>(p);
  s.size_ = n;
  sodium_memzero(s.data_, n);  // sodium_malloc fills with 0xdb
  return s;
}

SecretBytes SecretBytes::Copy(std::span<const uint8_t> bytes) {
  SecretBytes s = Make(bytes.size());
  if (!bytes.empty()) std::copy(bytes.begin(), bytes.end(), s.data_);
  return s;
}

SecretBytes SecretBytes::Random(size_t n) {
  SecretBytes s = Make(n);
  if (n != 0) randombytes_buf(s.data_, n);
  return s;
}

bool SecretBytes::Equal(const SecretBytes& other) const {
  return ConstantTimeEqual(span(), other.span());
}

Status InitSodium() {
  if (sodium_init() < 0) return Status::Internal("sodium_init failed");
  return Status::OK();
}

void RandomBytes(std::span<uint8_t> out) {
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

void SecureZero(std::span<uint8_t> bytes) {
  if (!bytes.empty()) sodium_memzero(bytes.data(), bytes.size());
}

bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// libsodium declares its pointers nonnull even with a zero length, and an empty span's data()
// may be null (UBSan reports it): such spans get a pointer to a byte that is never read.
namespace {
const uint8_t* NonNull(std::span<const uint8_t> s) {
  static constexpr uint8_t kNothing = 0;
  return s.data() ? s.data() : &kNothing;
}
}  // namespace

Bytes32 Sha256(std::span<const uint8_t> data) {
  Bytes32 out;
  crypto_hash_sha256(out.data(), NonNull(data), data.size());
  return out;
}

Bytes32 HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> msg,
                   std::span<const uint8_t> msg2) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, NonNull(key), key.size());
  crypto_auth_hmacsha256_update(&st, NonNull(msg), msg.size());
  crypto_auth_hmacsha256_update(&st, NonNull(msg2), msg2.size());
  Bytes32 out;
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);  // holds the keyed inner/outer states
  return out;
}

SecretBytes HkdfExtract(std::span<const uint8_t> salt, std::span<const uint8_t> ikm) {
  Bytes32 prk = HmacSha256(salt, ikm);
  SecretBytes out = SecretBytes::Copy(prk);
  sodium_memzero(prk.data(), prk.size());
  return out;
}

Result<SecretBytes> HkdfExpand(std::span<const uint8_t> prk, std::span<const uint8_t> info,
                               size_t length) {
  if (length == 0 || length > 255 * 32) {
    return Status::InvalidArgument("hkdf: output length out of range");
  }
  SecretBytes out = SecretBytes::Make(length);
  // T(i) = HMAC(PRK, T(i-1) || info || i); T(0) is empty.
  SecretBytes t = SecretBytes::Make(32 + info.size() + 1);
  size_t t_len = 0;
  for (size_t done = 0, i = 1; done < length; ++i) {
    std::copy(info.begin(), info.end(), t.data() + t_len);
    t.data()[t_len + info.size()] = static_cast<uint8_t>(i);
    Bytes32 block = HmacSha256(prk, std::span<const uint8_t>(t.data(), t_len + info.size() + 1));
    size_t n = std::min<size_t>(32, length - done);
    std::copy_n(block.begin(), n, out.data() + done);
    std::copy(block.begin(), block.end(), t.data());
    sodium_memzero(block.data(), block.size());
    t_len = 32;
    done += n;
  }
  return out;
}

Result<std::vector<uint8_t>> XChaChaSeal(const SecretBytes& key32, std::span<const uint8_t> nonce24,
                                         std::span<const uint8_t> plaintext,
                                         std::span<const uint8_t> ad) {
  if (key32.size() != kXChaChaKeyBytes)
    return Status::InvalidArgument("xchacha: key must be 32 bytes");
  if (nonce24.size() != kXChaChaNonceBytes) {
    return Status::InvalidArgument("xchacha: nonce must be 24 bytes");
  }
  std::vector<uint8_t> out(plaintext.size() + kXChaChaTagBytes);
  unsigned long long out_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &out_len, plaintext.data(),
                                             plaintext.size(), ad.data(), ad.size(), nullptr,
                                             nonce24.data(), key32.data());
  out.resize(out_len);
  return out;
}

Result<SecretBytes> XChaChaOpen(const SecretBytes& key32, std::span<const uint8_t> nonce24,
                                std::span<const uint8_t> ciphertext, std::span<const uint8_t> ad) {
  if (key32.size() != kXChaChaKeyBytes)
    return Status::InvalidArgument("xchacha: key must be 32 bytes");
  if (nonce24.size() != kXChaChaNonceBytes) {
    return Status::InvalidArgument("xchacha: nonce must be 24 bytes");
  }
  if (ciphertext.size() < kXChaChaTagBytes) {
    return Status::InvalidArgument("xchacha: ciphertext shorter than its tag");
  }
  // An empty plaintext still needs a valid pointer to write to.
  SecretBytes out = SecretBytes::Make(std::max<size_t>(1, ciphertext.size() - kXChaChaTagBytes));
  unsigned long long out_len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr, ciphertext.data(),
                                                 ciphertext.size(), ad.data(), ad.size(),
                                                 nonce24.data(), key32.data()) != 0) {
    return Status::InvalidArgument("xchacha: authentication failed");
  }
  if (out_len == 0) return SecretBytes();
  return out;
}

}  // namespace agent9::identity
