#include "identity/nip19.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "identity/bech32.h"
#include "identity/secp256k1.h"
#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using testing::Hex32;
using testing::SecretHex;

std::string RawNprofile(const std::vector<uint8_t>& tlv) {
  auto data5 = ConvertBits(tlv, 8, 5, true);
  return Bech32Encode("nprofile", *data5, Bech32Variant::kBech32);
}

TEST(Nip19Test, SpecExamples) {
  Json v = testing::LoadJson("nip19/nip19-examples.json");
  ASSERT_EQ(v["examples"].size(), 3u);
  for (const Json& ex : v["examples"]) {
    std::string s = ex["bech32"].get<std::string>();
    std::string type = ex["type"].get<std::string>();
    if (type == "npub") {
      auto pk = DecodeNpub(s);
      ASSERT_TRUE(pk.ok());
      EXPECT_EQ(HexEncode(*pk), ex["hex"].get<std::string>());
      EXPECT_EQ(EncodeNpub(*pk), s);
      EXPECT_TRUE(ParsePubkey(s).ok());
    } else if (type == "nsec") {
      auto sk = DecodeNsec(s);
      ASSERT_TRUE(sk.ok());
      EXPECT_EQ(HexEncode(sk->span()), ex["hex"].get<std::string>());
      EXPECT_EQ(EncodeNsec(*sk), s);
    } else {
      ASSERT_EQ(type, "nprofile");
      auto p = DecodeNprofile(s);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_EQ(HexEncode(p->pubkey), ex["pubkey"].get<std::string>());
      EXPECT_EQ(p->relays, ex["relays"].get<std::vector<std::string>>());
      EXPECT_EQ(EncodeNprofile(*p), s);  // pubkey TLV first, as in the spec
    }
  }
}

TEST(Nip19Test, GoldenKeys) {
  auto cases = testing::GoldenCases("keys");
  ASSERT_EQ(cases.size(), 24u);
  for (const Json& c : cases) {
    Bytes32 pk = Hex32(c["pk"].get<std::string>());
    EXPECT_EQ(EncodeNpub(pk), c["npub"].get<std::string>());
    SecretBytes sk = SecretHex(c["sk"].get<std::string>());
    EXPECT_EQ(EncodeNsec(sk), c["nsec"].get<std::string>());
    auto back = DecodeNsec(c["nsec"].get<std::string>());
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->Equal(sk));
    auto parsed = ParsePubkey(c["npub"].get<std::string>());
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, pk);
  }
}

TEST(Nip19Test, ParsePubkey) {
  const std::string hex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";
  auto a = ParsePubkey(hex);
  auto b = ParsePubkey("7E7E9C42A91BFEF19FA929E5FDA1B72E0EBC1A4C1141673E2794234D86ADDF4E");
  auto c = ParsePubkey("NPUB10ELFCS4FR0L0R8AF98JLMGDH9C8TCXJVZ9QKW038JS35MP4DMA8QZVJPTG");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*a, *c);
  EXPECT_FALSE(ParsePubkey(std::string(64, 'f')).ok());  // not on the curve
  EXPECT_FALSE(ParsePubkey(hex.substr(1)).ok());
  EXPECT_FALSE(ParsePubkey("").ok());
  EXPECT_FALSE(ParsePubkey("nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5").ok());
  EXPECT_FALSE(ParsePubkey("npub1" + std::string(58, 'q')).ok());
}

TEST(Nip19Test, WrongPrefixVariantAndLength) {
  Bytes32 pk = Hex32("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e");
  auto data5 = ConvertBits(pk, 8, 5, true);
  EXPECT_FALSE(DecodeNpub(Bech32Encode("npub", *data5, Bech32Variant::kBech32m)).ok());
  EXPECT_FALSE(DecodeNpub(Bech32Encode("note", *data5, Bech32Variant::kBech32)).ok());
  EXPECT_FALSE(DecodeNsec(EncodeNpub(pk)).ok());
  std::vector<uint8_t> short_key(31, 1);
  auto d31 = ConvertBits(short_key, 8, 5, true);
  EXPECT_FALSE(DecodeNpub(Bech32Encode("npub", *d31, Bech32Variant::kBech32)).ok());
  // An nsec of an invalid key (zero).
  std::vector<uint8_t> zero(32, 0);
  auto dz = ConvertBits(zero, 8, 5, true);
  EXPECT_FALSE(DecodeNsec(Bech32Encode("nsec", *dz, Bech32Variant::kBech32)).ok());
}

TEST(Nip19Test, NprofileTlvHostileInput) {
  Bytes32 pk = Hex32("3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d");
  std::vector<uint8_t> good{0, 32};
  good.insert(good.end(), pk.begin(), pk.end());
  ASSERT_TRUE(DecodeNprofile(RawNprofile(good)).ok());

  // Unknown TLV types are skipped; relays may come first.
  std::vector<uint8_t> unknown{7, 3, 'a', 'b', 'c', 1, 3, 'w', 's', 's'};
  unknown.insert(unknown.end(), good.begin(), good.end());
  auto u = DecodeNprofile(RawNprofile(unknown));
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->pubkey, pk);
  EXPECT_EQ(u->relays, std::vector<std::string>{"wss"});

  std::vector<std::vector<uint8_t>> bad = {
      {},                     // nothing
      {1, 3, 'w', 's', 's'},  // no pubkey
      {0, 31},                // truncated value
      {0},                    // truncated header
      {0, 33},                // length past the end
      {1, 0},                 // empty relay, and no pubkey
  };
  std::vector<uint8_t> wrong_len{0, 31};
  wrong_len.insert(wrong_len.end(), pk.begin(), pk.end() - 1);
  bad.push_back(wrong_len);
  std::vector<uint8_t> twice = good;
  twice.insert(twice.end(), good.begin(), good.end());
  bad.push_back(twice);
  std::vector<uint8_t> trailing = good;
  trailing.push_back(1);
  bad.push_back(trailing);
  std::vector<uint8_t> ctrl = good;
  ctrl.insert(ctrl.end(), {1, 2, 'a', '\n'});
  bad.push_back(ctrl);
  std::vector<uint8_t> not_utf8 = good;
  not_utf8.insert(not_utf8.end(), {1, 2, 'a', 0xff});
  bad.push_back(not_utf8);
  for (const auto& tlv : bad) {
    EXPECT_EQ(DecodeNprofile(RawNprofile(tlv)).status().code(), Code::kInvalidArgument)
        << HexEncode(tlv);
  }
  // Garbage and truncations of the spec example.
  std::string ex =
      "nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4m"
      "hxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p";
  for (size_t n = 0; n < ex.size(); ++n) EXPECT_FALSE(DecodeNprofile(ex.substr(0, n)).ok());
  EXPECT_FALSE(DecodeNprofile(std::string(6000, 'q')).ok());
  EXPECT_FALSE(DecodeNprofile(EncodeNpub(pk)).ok());
}

TEST(Nip19Test, NprofileRoundTripAndLongRelays) {
  Nprofile p;
  p.pubkey = Hex32("3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d");
  p.relays = {"wss://a.example", std::string(255, 'r'), std::string(256, 'x'), "wss://b"};
  auto back = DecodeNprofile(EncodeNprofile(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->pubkey, p.pubkey);
  // The 256-byte relay does not fit a TLV and is left out.
  EXPECT_EQ(back->relays,
            (std::vector<std::string>{"wss://a.example", std::string(255, 'r'), "wss://b"}));
}

}  // namespace
}  // namespace agent9::identity
