#include "identity/nip44.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

constexpr uint8_t kVersion = 2;
constexpr size_t kNonceLen = 32;
constexpr size_t kMacLen = 32;
constexpr size_t kMinPlaintext = 1;
constexpr size_t kShortMax = 65535;  // the largest length the 2-byte prefix holds
// version + nonce + smallest padded message (2 + 32) + mac.
constexpr size_t kMinDecoded = 1 + kNonceLen + 2 + 32 + kMacLen;
constexpr size_t kMinBase64 = 132;  // base64 of kMinDecoded bytes

size_t PrefixLen(uint64_t len) { return len <= kShortMax ? 2 : 6; }

void StreamXor(uint8_t* buf, size_t len, const Nip44MessageKeys& keys) {
  crypto_stream_chacha20_ietf_xor(buf, buf, len, keys.chacha_nonce.data(), keys.chacha_key.data());
}

}  // namespace

Result<SecretBytes> Nip44ConversationKey(const SecretBytes& sk, const Bytes32& pub) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes shared, SharedX(sk, pub));
  static constexpr char kSalt[] = "nip44-v2";
  return HkdfExtract(AsBytes(std::string_view(kSalt, sizeof kSalt - 1)), shared.span());
}

Result<Nip44MessageKeys> Nip44GetMessageKeys(const SecretBytes& conversation_key,
                                             const Bytes32& nonce) {
  if (conversation_key.size() != 32) {
    return Status::InvalidArgument("nip44: conversation key must be 32 bytes");
  }
  AGENT9_ASSIGN_OR_RETURN(SecretBytes okm, HkdfExpand(conversation_key.span(), nonce, 76));
  Nip44MessageKeys keys;
  keys.chacha_key = SecretBytes::Copy(okm.span().subspan(0, 32));
  std::memcpy(keys.chacha_nonce.data(), okm.data() + 32, 12);
  keys.hmac_key = SecretBytes::Copy(okm.span().subspan(44, 32));
  return keys;
}

size_t Nip44PaddedLen(size_t unpadded) {
  if (unpadded <= 32) return 32;
  size_t next_power = size_t{1} << std::bit_width(unpadded - 1);
  size_t chunk = next_power <= 256 ? 32 : next_power / 8;
  return chunk * ((unpadded - 1) / chunk + 1);
}

Result<std::string> Nip44Encrypt(std::string_view plaintext, const SecretBytes& conversation_key,
                                 const Bytes32* nonce) {
  if (plaintext.size() < kMinPlaintext || plaintext.size() > kNip44MaxPlaintext) {
    return Status::InvalidArgument("nip44: plaintext must be 1 to 4294967295 bytes");
  }
  Bytes32 n;
  if (nonce != nullptr) {
    n = *nonce;
  } else {
    RandomBytes(n);
  }
  AGENT9_ASSIGN_OR_RETURN(Nip44MessageKeys keys, Nip44GetMessageKeys(conversation_key, n));
  const uint64_t len = plaintext.size();
  const size_t prefix = PrefixLen(len);
  const size_t padded = prefix + Nip44PaddedLen(plaintext.size());
  std::vector<uint8_t> out(1 + kNonceLen + padded + kMacLen, 0);
  out[0] = kVersion;
  std::copy(n.begin(), n.end(), out.begin() + 1);
  uint8_t* body = out.data() + 1 + kNonceLen;
  if (prefix == 2) {
    body[0] = static_cast<uint8_t>(len >> 8);
    body[1] = static_cast<uint8_t>(len);
  } else {
    for (int i = 0; i < 4; ++i) body[2 + i] = static_cast<uint8_t>(len >> (24 - 8 * i));
  }
  std::memcpy(body + prefix, plaintext.data(), plaintext.size());
  StreamXor(body, padded, keys);
  Bytes32 mac = HmacSha256(keys.hmac_key.span(), n, std::span<const uint8_t>(body, padded));
  std::copy(mac.begin(), mac.end(), body + padded);
  return Base64Encode(out);
}

Result<std::string> Nip44Decrypt(std::string_view payload, const SecretBytes& conversation_key) {
  if (!payload.empty() && payload[0] == '#') {
    return Status::InvalidArgument("nip44: unsupported encoding");
  }
  const size_t max_decoded = 1 + kNonceLen + 6 + Nip44PaddedLen(kNip44MaxPlaintext) + kMacLen;
  if (payload.size() < kMinBase64 || payload.size() > (max_decoded + 2) / 3 * 4) {
    return Status::InvalidArgument("nip44: invalid payload length " +
                                   std::to_string(payload.size()));
  }
  auto decoded = Base64Decode(payload);
  if (!decoded.ok()) return Status::InvalidArgument("nip44: invalid base64");
  const std::vector<uint8_t>& data = *decoded;
  if (data.size() < kMinDecoded || data.size() > max_decoded) {
    return Status::InvalidArgument("nip44: invalid data length " + std::to_string(data.size()));
  }
  if (data[0] != kVersion) {
    return Status::InvalidArgument("nip44: unknown version " + std::to_string(data[0]));
  }
  Bytes32 nonce;
  std::memcpy(nonce.data(), data.data() + 1, kNonceLen);
  const size_t padded = data.size() - 1 - kNonceLen - kMacLen;
  std::span<const uint8_t> ciphertext(data.data() + 1 + kNonceLen, padded);
  std::span<const uint8_t> mac(data.data() + data.size() - kMacLen, kMacLen);
  AGENT9_ASSIGN_OR_RETURN(Nip44MessageKeys keys, Nip44GetMessageKeys(conversation_key, nonce));
  Bytes32 expected = HmacSha256(keys.hmac_key.span(), nonce, ciphertext);
  if (!ConstantTimeEqual(expected, mac)) return Status::InvalidArgument("nip44: invalid MAC");

  std::string plain(ciphertext.begin(), ciphertext.end());
  auto* p = reinterpret_cast<uint8_t*>(plain.data());
  StreamXor(p, plain.size(), keys);
  uint64_t len = uint64_t{p[0]} << 8 | p[1];
  size_t prefix = 2;
  if (len == 0) {
    // Extended prefix: 00 00 then a u32; it must not encode a length the short form holds.
    if (plain.size() < 6) return Status::InvalidArgument("nip44: invalid padding");
    len = 0;
    for (int i = 0; i < 4; ++i) len = len << 8 | p[2 + i];
    if (len <= kShortMax) return Status::InvalidArgument("nip44: invalid padding");
    prefix = 6;
  }
  if (plain.size() != prefix + Nip44PaddedLen(len)) {
    return Status::InvalidArgument("nip44: invalid padding");
  }
  plain.erase(prefix + len);
  plain.erase(0, prefix);
  return plain;
}

}  // namespace agent9::identity
