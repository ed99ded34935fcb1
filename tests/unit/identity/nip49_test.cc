#include "identity/nip49.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "identity/bech32.h"
#include "identity/secp256k1.h"
#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using testing::SecretHex;

// log_n 4 keeps round trips fast; the spec vector uses 16.
constexpr int kFastLogN = 4;

std::vector<uint8_t> Payload(const std::string& ncryptsec) {
  auto d = Bech32Decode(ncryptsec, 5000);
  EXPECT_TRUE(d.ok());
  return *ConvertBits(d->data5, 5, 8, false);
}

std::string Encode(const std::vector<uint8_t>& payload) {
  return Bech32Encode("ncryptsec", *ConvertBits(payload, 8, 5, true), Bech32Variant::kBech32);
}

TEST(Nip49Test, SpecVector) {
  Json v = testing::LoadJson("nip49/nip49-vector.json");
  ASSERT_EQ(v["cases"].size(), 1u);
  for (const Json& c : v["cases"]) {
    auto sk = Nip49Decrypt(c["ncryptsec"].get<std::string>(), c["password"].get<std::string>());
    ASSERT_TRUE(sk.ok()) << sk.status().ToString();
    EXPECT_EQ(HexEncode(sk->span()), c["secret_key_hex"].get<std::string>());
    EXPECT_EQ(Payload(c["ncryptsec"].get<std::string>())[1], c["log_n"].get<int>());
    EXPECT_EQ(Nip49Decrypt(c["ncryptsec"].get<std::string>(), "nostR").status().message(),
              "ncryptsec: wrong passphrase or corrupted key");
  }
}

TEST(Nip49Test, RoundTripWithFixedSaltAndNonce) {
  SecretBytes sk = SecretHex("3501454135014541350145413501453fefb02227e449e57cf4d3a3ce05378683");
  std::array<uint8_t, 16> salt{};
  std::array<uint8_t, 24> nonce{};
  salt.fill(1);
  nonce.fill(2);
  auto a = Nip49Encrypt(sk, "pässwörd", kFastLogN, 1, &salt, &nonce);
  auto b = Nip49Encrypt(sk, "pässwörd", kFastLogN, 1, &salt, &nonce);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);  // deterministic given salt and nonce
  EXPECT_TRUE(a->starts_with("ncryptsec1"));
  std::vector<uint8_t> p = Payload(*a);
  ASSERT_EQ(p.size(), 91u);
  EXPECT_EQ(p[0], 2);
  EXPECT_EQ(p[1], kFastLogN);
  EXPECT_EQ(p[42], 1);  // key security byte
  auto back = Nip49Decrypt(*a, "pässwörd");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equal(sk));

  auto random = Nip49Encrypt(sk, "", kFastLogN);
  ASSERT_TRUE(random.ok());
  EXPECT_NE(*random, *a);
  auto empty_pw = Nip49Decrypt(*random, "");
  ASSERT_TRUE(empty_pw.ok());
  EXPECT_TRUE(empty_pw->Equal(sk));
}

TEST(Nip49Test, EncryptRefusesBadArguments) {
  auto sk = NewSecretKey();
  ASSERT_TRUE(sk.ok());
  EXPECT_FALSE(Nip49Encrypt(*sk, "pw", 0).ok());
  EXPECT_FALSE(Nip49Encrypt(*sk, "pw", 23).ok());
  EXPECT_FALSE(Nip49Encrypt(*sk, "pw", kFastLogN, 3).ok());
  EXPECT_FALSE(Nip49Encrypt(SecretBytes::Make(32), "pw", kFastLogN).ok());
  EXPECT_FALSE(Nip49Encrypt(SecretBytes::Random(16), "pw", kFastLogN).ok());
}

TEST(Nip49Test, DistinguishableErrors) {
  auto sk = NewSecretKey();
  ASSERT_TRUE(sk.ok());
  auto enc = Nip49Encrypt(*sk, "pw", kFastLogN);
  ASSERT_TRUE(enc.ok());
  auto msg = [](const std::string& s) { return Nip49Decrypt(s, "pw").status().message(); };

  std::string flipped = *enc;
  flipped[20] = flipped[20] == 'q' ? 'p' : 'q';
  EXPECT_EQ(msg(flipped), "ncryptsec: bad checksum");
  EXPECT_EQ(msg(""), "ncryptsec: bad checksum");
  EXPECT_EQ(msg("garbage"), "ncryptsec: bad checksum");
  EXPECT_EQ(msg(enc->substr(0, enc->size() - 1)), "ncryptsec: bad checksum");

  std::vector<uint8_t> p = Payload(*enc);
  std::vector<uint8_t> v3 = p;
  v3[0] = 3;
  EXPECT_EQ(msg(Encode(v3)), "ncryptsec: unsupported version 3");
  std::vector<uint8_t> v1 = p;
  v1[0] = 1;
  EXPECT_EQ(msg(Encode(v1)), "ncryptsec: unsupported version 1");

  std::vector<uint8_t> shorter(p.begin(), p.end() - 1);
  EXPECT_EQ(msg(Encode(shorter)), "ncryptsec: bad length");
  std::vector<uint8_t> longer = p;
  longer.push_back(0);
  EXPECT_EQ(msg(Encode(longer)), "ncryptsec: bad length");
  EXPECT_EQ(msg(Encode({})), "ncryptsec: bad length");

  for (uint8_t log_n : {0, 23, 64, 255}) {
    std::vector<uint8_t> big = p;
    big[1] = log_n;
    EXPECT_EQ(msg(Encode(big)),
              "ncryptsec: log_n " + std::to_string(log_n) + " out of range (1..22)");
  }
  std::vector<uint8_t> ks = p;
  ks[42] = 7;
  EXPECT_EQ(msg(Encode(ks)), "ncryptsec: bad key security byte");
  std::vector<uint8_t> ks_changed = p;
  ks_changed[42] = ks_changed[42] == 2 ? 1 : 2;  // authenticated as AD
  EXPECT_EQ(msg(Encode(ks_changed)), "ncryptsec: wrong passphrase or corrupted key");
  std::vector<uint8_t> ct = p;
  ct[70] ^= 1;
  EXPECT_EQ(msg(Encode(ct)), "ncryptsec: wrong passphrase or corrupted key");
  EXPECT_EQ(Nip49Decrypt(*enc, "PW").status().message(),
            "ncryptsec: wrong passphrase or corrupted key");

  auto wrong_hrp = Bech32Encode("nsec", *ConvertBits(p, 8, 5, true), Bech32Variant::kBech32);
  EXPECT_EQ(msg(wrong_hrp), "ncryptsec: wrong prefix");
  EXPECT_EQ(Nip49Decrypt(std::string(10000, 'q'), "pw").status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace agent9::identity
