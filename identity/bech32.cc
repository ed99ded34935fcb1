#include "identity/bech32.h"

namespace agent9::identity {
namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr uint32_t kBech32Const = 1;
constexpr uint32_t kBech32mConst = 0x2bc830a3;

int CharValue(char c) {
  for (int i = 0; i < 32; ++i) {
    if (kCharset[i] == c) return i;
  }
  return -1;
}

uint32_t PolyModStep(uint32_t chk, uint8_t v) {
  static constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
  uint32_t top = chk >> 25;
  chk = (chk & 0x1ffffff) << 5 ^ v;
  for (int i = 0; i < 5; ++i) {
    if ((top >> i) & 1) chk ^= kGen[i];
  }
  return chk;
}

// Polymod over hrp_expand(hrp) || data.
uint32_t PolyMod(std::string_view hrp, std::span<const uint8_t> data) {
  uint32_t chk = 1;
  for (char c : hrp) chk = PolyModStep(chk, static_cast<uint8_t>(c) >> 5);
  chk = PolyModStep(chk, 0);
  for (char c : hrp) chk = PolyModStep(chk, static_cast<uint8_t>(c) & 31);
  for (uint8_t v : data) chk = PolyModStep(chk, v);
  return chk;
}

}  // namespace

std::string Bech32Encode(std::string_view hrp, std::span<const uint8_t> data5, Bech32Variant v) {
  std::vector<uint8_t> values(data5.begin(), data5.end());
  values.resize(values.size() + 6, 0);
  uint32_t mod =
      PolyMod(hrp, values) ^ (v == Bech32Variant::kBech32 ? kBech32Const : kBech32mConst);
  for (size_t i = 0; i < 6; ++i) values[data5.size() + i] = (mod >> (5 * (5 - i))) & 31;
  std::string out;
  out.reserve(hrp.size() + 1 + values.size());
  out.append(hrp);
  out.push_back('1');
  for (uint8_t x : values) out.push_back(kCharset[x & 31]);
  return out;
}

Result<Bech32Decoded> Bech32Decode(std::string_view s, size_t max_len) {
  if (s.size() > max_len) return Status::InvalidArgument("bech32: string too long");
  bool lower = false, upper = false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126) return Status::InvalidArgument("bech32: character out of range");
    if (c >= 'a' && c <= 'z') lower = true;
    if (c >= 'A' && c <= 'Z') upper = true;
  }
  if (lower && upper) return Status::InvalidArgument("bech32: mixed case");
  size_t sep = s.rfind('1');
  if (sep == std::string_view::npos) return Status::InvalidArgument("bech32: no separator");
  if (sep == 0) return Status::InvalidArgument("bech32: empty human-readable part");
  if (s.size() - sep - 1 < 6) return Status::InvalidArgument("bech32: checksum too short");
  Bech32Decoded out;
  out.hrp.reserve(sep);
  for (size_t i = 0; i < sep; ++i) {
    char c = s[i];
    out.hrp.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  std::vector<uint8_t> values;
  values.reserve(s.size() - sep - 1);
  for (size_t i = sep + 1; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    int v = CharValue(c);
    if (v < 0) return Status::InvalidArgument("bech32: invalid data character");
    values.push_back(static_cast<uint8_t>(v));
  }
  uint32_t mod = PolyMod(out.hrp, values);
  if (mod == kBech32Const) {
    out.variant = Bech32Variant::kBech32;
  } else if (mod == kBech32mConst) {
    out.variant = Bech32Variant::kBech32m;
  } else {
    return Status::InvalidArgument("bech32: bad checksum");
  }
  values.resize(values.size() - 6);
  out.data5 = std::move(values);
  return out;
}

Result<std::vector<uint8_t>> ConvertBits(std::span<const uint8_t> in, int from_bits, int to_bits,
                                         bool pad) {
  if (from_bits < 1 || from_bits > 8 || to_bits < 1 || to_bits > 8) {
    return Status::InvalidArgument("convertbits: group size out of range");
  }
  const uint32_t maxv = (1u << to_bits) - 1;
  uint32_t acc = 0;
  int bits = 0;
  std::vector<uint8_t> out;
  out.reserve(in.size() * from_bits / to_bits + 1);
  for (uint8_t value : in) {
    if (value >> from_bits) return Status::InvalidArgument("convertbits: value out of range");
    acc = (acc << from_bits | value) & 0xffff;
    bits += from_bits;
    while (bits >= to_bits) {
      bits -= to_bits;
      out.push_back(static_cast<uint8_t>((acc >> bits) & maxv));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<uint8_t>((acc << (to_bits - bits)) & maxv));
  } else if (bits >= from_bits || ((acc << (to_bits - bits)) & maxv) != 0) {
    return Status::InvalidArgument("convertbits: invalid padding");
  }
  return out;
}

}  // namespace agent9::identity
