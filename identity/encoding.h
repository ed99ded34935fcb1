// Text encodings used by the identity module: lowercase hex, standard base64 (strict, padded)
// and a UTF-8 validity check, plus the fixed-size byte types of keys and signatures.
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/status.h"

namespace agent9::identity {

using Bytes32 = std::array<uint8_t, 32>;
using Sig64 = std::array<uint8_t, 64>;

// Lowercase hex of bytes.
std::string HexEncode(std::span<const uint8_t> bytes);
// Accepts upper- and lowercase digits; kInvalidArgument on odd length or a non-hex character.
Result<std::vector<uint8_t>> HexDecode(std::string_view hex);
// HexDecode that also requires exactly N bytes (2N digits).
template <size_t N>
Result<std::array<uint8_t, N>> HexDecodeFixed(std::string_view hex) {
  if (hex.size() != 2 * N) {
    return Status::InvalidArgument("hex: expected " + std::to_string(2 * N) + " digits, got " +
                                   std::to_string(hex.size()));
  }
  AGENT9_ASSIGN_OR_RETURN(std::vector<uint8_t> v, HexDecode(hex));
  std::array<uint8_t, N> out{};
  std::memcpy(out.data(), v.data(), N);
  return out;
}
inline Result<Bytes32> HexDecode32(std::string_view hex) { return HexDecodeFixed<32>(hex); }
// True when s is exactly n characters of lowercase hex (the NIP-01 form of ids and keys).
bool IsLowerHex(std::string_view s, size_t n);

// Standard alphabet with '=' padding (RFC 4648 section 4). Decoding is strict: no whitespace,
// padding required, non-zero trailing bits rejected; kInvalidArgument otherwise.
std::string Base64Encode(std::span<const uint8_t> bytes);
Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

// True for well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Views a string's bytes as uint8_t.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace agent9::identity
