// Bech32 (BIP-173) and Bech32m (BIP-350) strings, and the bit regrouping between 8-bit bytes
// and 5-bit groups. Decoding is safe on hostile input (bounded by max_len).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/status.h"

namespace agent9::identity {

enum class Bech32Variant { kBech32, kBech32m };

// hrp must be lowercase printable ASCII and data5 values < 32 (callers pass ConvertBits output).
std::string Bech32Encode(std::string_view hrp, std::span<const uint8_t> data5, Bech32Variant v);

struct Bech32Decoded {
  std::string hrp;             // lowercase
  std::vector<uint8_t> data5;  // without the 6 checksum groups
  Bech32Variant variant;
};
// kInvalidArgument for: length over max_len (BIP-173: 90; NIP-19 strings are longer), a
// character outside 33..126, mixed case, no '1' separator, an empty hrp, fewer than 6 data
// characters, a character outside the bech32 alphabet, or a checksum valid in neither variant.
// Uppercase input is accepted and the hrp returned lowercase.
Result<Bech32Decoded> Bech32Decode(std::string_view s, size_t max_len = 90);

// Regroups in (each value < 2^from_bits) into to_bits groups (1..8 bits each). With pad the
// last group is zero-filled; without it, leftover bits must be fewer than from_bits and zero.
Result<std::vector<uint8_t>> ConvertBits(std::span<const uint8_t> in, int from_bits, int to_bits,
                                         bool pad);

}  // namespace agent9::identity
