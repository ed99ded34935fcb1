#include "identity/bech32.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

// BIP-173/350 segwit address decoding on top of Bech32Decode and ConvertBits; returns the
// scriptPubKey hex or an error.
Result<std::string> DecodeSegwit(const std::string& addr) {
  AGENT9_ASSIGN_OR_RETURN(Bech32Decoded d, Bech32Decode(addr));
  if (d.hrp != "bc" && d.hrp != "tb") return Status::InvalidArgument("hrp");
  if (d.data5.empty()) return Status::InvalidArgument("empty data");
  uint8_t version = d.data5[0];
  if (version > 16) return Status::InvalidArgument("version");
  if ((version == 0) != (d.variant == Bech32Variant::kBech32)) {
    return Status::InvalidArgument("variant");
  }
  AGENT9_ASSIGN_OR_RETURN(std::vector<uint8_t> prog,
                          ConvertBits(std::span(d.data5).subspan(1), 5, 8, false));
  if (prog.size() < 2 || prog.size() > 40) return Status::InvalidArgument("program length");
  if (version == 0 && prog.size() != 20 && prog.size() != 32) {
    return Status::InvalidArgument("v0 program length");
  }
  std::vector<uint8_t> script{static_cast<uint8_t>(version ? 0x50 + version : 0),
                              static_cast<uint8_t>(prog.size())};
  script.insert(script.end(), prog.begin(), prog.end());
  return HexEncode(script);
}

TEST(Bech32Test, OfficialValidStrings) {
  Json v = testing::LoadJson("bech32/bip173-bip350-vectors.json");
  int n = 0;
  for (const auto& [section, key, variant] :
       {std::tuple{"bip173", "valid_bech32", Bech32Variant::kBech32},
        std::tuple{"bip350", "valid_bech32m", Bech32Variant::kBech32m}}) {
    ASSERT_TRUE(v[section][key].is_array());
    for (const Json& c : v[section][key]) {
      std::string s = c["string"].get<std::string>();
      auto d = Bech32Decode(s);
      ASSERT_TRUE(d.ok()) << s << ": " << d.status().ToString();
      EXPECT_EQ(d->variant, variant) << s;
      EXPECT_EQ(d->hrp, testing::Lower(s.substr(0, s.rfind('1'))));
      // Re-encoding gives the lowercase string back.
      EXPECT_EQ(Bech32Encode(d->hrp, d->data5, d->variant), testing::Lower(s));
      ++n;
    }
  }
  EXPECT_EQ(n, 14);
}

TEST(Bech32Test, OfficialInvalidStrings) {
  Json v = testing::LoadJson("bech32/bip173-bip350-vectors.json");
  int n = 0;
  for (const auto& [section, key] :
       {std::pair{"bip173", "invalid_bech32"}, std::pair{"bip350", "invalid_bech32m"}}) {
    for (const Json& c : v[section][key]) {
      std::string s = c["string"].get<std::string>();
      EXPECT_EQ(Bech32Decode(s).status().code(), Code::kInvalidArgument)
          << s << " (" << c.value("reason", "") << ")";
      ++n;
    }
  }
  EXPECT_EQ(n, 26);
}

TEST(Bech32Test, SegwitAddresses) {
  Json v = testing::LoadJson("bech32/bip173-bip350-vectors.json");
  // BIP-173's own segwit lists predate BIP-350; only the BIP-350 lists are current.
  for (const Json& c : v["bip350"]["valid_segwit_addresses"]) {
    auto script = DecodeSegwit(c["string"].get<std::string>());
    ASSERT_TRUE(script.ok()) << c["string"] << ": " << script.status().ToString();
    EXPECT_EQ(*script, c["scriptPubKey"].get<std::string>());
  }
  EXPECT_EQ(v["bip350"]["valid_segwit_addresses"].size(), 8u);
  for (const Json& c : v["bip350"]["invalid_segwit_addresses"]) {
    EXPECT_FALSE(DecodeSegwit(c["string"].get<std::string>()).ok())
        << c["string"] << " (" << c.value("reason", "") << ")";
  }
  EXPECT_EQ(v["bip350"]["invalid_segwit_addresses"].size(), 15u);
}

TEST(Bech32Test, MaxLength) {
  std::string s(100, 'q');
  s = "a1" + s;
  EXPECT_FALSE(Bech32Decode(s).ok());
  std::vector<uint8_t> data(200, 3);
  std::string long_str = Bech32Encode("nostr", data, Bech32Variant::kBech32);
  EXPECT_FALSE(Bech32Decode(long_str).ok());
  auto d = Bech32Decode(long_str, 5000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->data5, data);
}

TEST(Bech32Test, HostileInputNeverCrashes) {
  std::string valid = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw";
  for (size_t n = 0; n <= valid.size(); ++n) {
    auto d = Bech32Decode(valid.substr(0, n));
    if (n != valid.size()) {
      EXPECT_FALSE(d.ok()) << n;
    }
  }
  for (size_t i = 0; i < valid.size(); ++i) {
    for (int delta : {1, 32, 0x80}) {
      std::string m = valid;
      m[i] = static_cast<char>(m[i] ^ delta);
      EXPECT_FALSE(Bech32Decode(m).ok()) << m;
    }
  }
  EXPECT_FALSE(Bech32Decode(std::string("a1\0qqqqqq", 9)).ok());
  EXPECT_FALSE(Bech32Decode(std::string(1 << 20, '1'), 1 << 21).ok());
  EXPECT_FALSE(Bech32Decode("111111111").ok());  // hrp "11111111", no valid checksum
}

TEST(ConvertBitsTest, RoundTripAndPadding) {
  std::vector<uint8_t> bytes{0xff, 0x00, 0x81};
  auto five = ConvertBits(bytes, 8, 5, true);
  ASSERT_TRUE(five.ok());
  EXPECT_EQ(five->size(), 5u);
  auto back = ConvertBits(*five, 5, 8, false);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(ConvertBits(std::vector<uint8_t>{32}, 5, 8, true).ok());     // value too big
  EXPECT_FALSE(ConvertBits(std::vector<uint8_t>{0, 1}, 5, 8, false).ok());  // non-zero pad
  EXPECT_FALSE(ConvertBits(std::vector<uint8_t>{0}, 5, 8, false).ok());     // 5 bits of pad
  EXPECT_TRUE(ConvertBits(std::vector<uint8_t>{0, 0}, 5, 8, false).ok());   // 2 zero bits
  EXPECT_TRUE(ConvertBits(std::vector<uint8_t>{}, 5, 8, false).ok());
  EXPECT_FALSE(ConvertBits(bytes, 0, 5, true).ok());
  EXPECT_FALSE(ConvertBits(bytes, 8, 9, true).ok());
}

}  // namespace
}  // namespace agent9::identity
