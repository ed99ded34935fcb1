#include "identity/nip49.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "identity/bech32.h"
#include "identity/nip19.h"
#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

constexpr uint8_t kVersion = 2;
constexpr size_t kSaltLen = 16;
constexpr size_t kNonceLen = 24;
// version, log_n, salt, nonce, key security byte, 32-byte key + 16-byte tag.
constexpr size_t kPayloadLen = 1 + 1 + kSaltLen + kNonceLen + 1 + 32 + kXChaChaTagBytes;
constexpr std::string_view kHrp = "ncryptsec";

Result<SecretBytes> Scrypt(std::string_view password, std::span<const uint8_t> salt, int log_n) {
  static const uint8_t kEmpty = 0;
  const auto* pw = password.empty() ? &kEmpty : reinterpret_cast<const uint8_t*>(password.data());
  SecretBytes key = SecretBytes::Make(32);
  if (crypto_pwhash_scryptsalsa208sha256_ll(pw, password.size(), salt.data(), salt.size(),
                                            uint64_t{1} << log_n, 8, 1, key.data(),
                                            key.size()) != 0) {
    return Status::ResourceExhausted("ncryptsec: scrypt failed (out of memory?)");
  }
  return key;
}

}  // namespace

Result<std::string> Nip49Encrypt(const SecretBytes& sk, std::string_view password, int log_n,
                                 uint8_t key_security, const std::array<uint8_t, 16>* salt,
                                 const std::array<uint8_t, 24>* nonce) {
  if (!IsValidSecretKey(sk.span())) return Status::InvalidArgument("ncryptsec: invalid secret key");
  if (log_n < 1 || log_n > kNip49MaxLogN) {
    return Status::InvalidArgument("ncryptsec: log_n " + std::to_string(log_n) +
                                   " out of range (1..22)");
  }
  if (key_security > 2) return Status::InvalidArgument("ncryptsec: bad key security byte");
  std::array<uint8_t, kSaltLen> s;
  std::array<uint8_t, kNonceLen> n;
  if (salt != nullptr) {
    s = *salt;
  } else {
    RandomBytes(s);
  }
  if (nonce != nullptr) {
    n = *nonce;
  } else {
    RandomBytes(n);
  }
  AGENT9_ASSIGN_OR_RETURN(SecretBytes key, Scrypt(password, s, log_n));
  const uint8_t ad[1] = {key_security};
  AGENT9_ASSIGN_OR_RETURN(std::vector<uint8_t> ct, XChaChaSeal(key, n, sk.span(), ad));
  std::vector<uint8_t> payload{kVersion, static_cast<uint8_t>(log_n)};
  payload.insert(payload.end(), s.begin(), s.end());
  payload.insert(payload.end(), n.begin(), n.end());
  payload.push_back(key_security);
  payload.insert(payload.end(), ct.begin(), ct.end());
  auto data5 = ConvertBits(payload, 8, 5, true);
  return Bech32Encode(kHrp, *data5, Bech32Variant::kBech32);
}

Result<SecretBytes> Nip49Decrypt(std::string_view ncryptsec, std::string_view password) {
  auto decoded = Bech32Decode(ncryptsec, kNip19MaxLen);
  if (!decoded.ok()) return Status::InvalidArgument("ncryptsec: bad checksum");
  if (decoded->hrp != kHrp) return Status::InvalidArgument("ncryptsec: wrong prefix");
  auto payload = ConvertBits(decoded->data5, 5, 8, false);
  if (!payload.ok() || payload->empty()) return Status::InvalidArgument("ncryptsec: bad length");
  const std::vector<uint8_t>& p = *payload;
  // The version decides the layout, so it is checked before the length.
  if (p[0] != kVersion) {
    return Status::InvalidArgument("ncryptsec: unsupported version " + std::to_string(p[0]));
  }
  if (p.size() != kPayloadLen) return Status::InvalidArgument("ncryptsec: bad length");
  const int log_n = p[1];
  if (log_n < 1 || log_n > kNip49MaxLogN) {
    return Status::InvalidArgument("ncryptsec: log_n " + std::to_string(log_n) +
                                   " out of range (1..22)");
  }
  std::span<const uint8_t> all(p);
  std::span<const uint8_t> salt = all.subspan(2, kSaltLen);
  std::span<const uint8_t> nonce = all.subspan(2 + kSaltLen, kNonceLen);
  std::span<const uint8_t> ad = all.subspan(2 + kSaltLen + kNonceLen, 1);
  std::span<const uint8_t> ct = all.subspan(2 + kSaltLen + kNonceLen + 1);
  if (ad[0] > 2) return Status::InvalidArgument("ncryptsec: bad key security byte");
  AGENT9_ASSIGN_OR_RETURN(SecretBytes key, Scrypt(password, salt, log_n));
  auto sk = XChaChaOpen(key, nonce, ct, ad);
  if (!sk.ok()) return Status::InvalidArgument("ncryptsec: wrong passphrase or corrupted key");
  if (!IsValidSecretKey(sk->span())) {
    return Status::InvalidArgument("ncryptsec: decrypted key is invalid");
  }
  return std::move(*sk);
}

}  // namespace agent9::identity
