#include "identity/nip04.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using testing::Hex32;
using testing::SecretHex;

TEST(Nip04Test, GoldenCasesDecryptBothWays) {
  auto cases = testing::GoldenCases("nip04");
  ASSERT_EQ(cases.size(), 24u);
  for (const Json& c : cases) {
    SCOPED_TRACE(c["case"].dump());
    std::string payload = c["payload"].get<std::string>();
    auto a = Nip04Decrypt(payload, SecretHex(c["recipient_sk"].get<std::string>()),
                          Hex32(c["sender_pk"].get<std::string>()));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(*a, c["plaintext"].get<std::string>());
    auto b = Nip04Decrypt(payload, SecretHex(c["sender_sk"].get<std::string>()),
                          Hex32(c["recipient_pk"].get<std::string>()));
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, *a);
    // The iv in the payload is the one the case lists.
    auto iv = Base64Decode(payload.substr(payload.find("?iv=") + 4));
    ASSERT_TRUE(iv.ok());
    EXPECT_EQ(HexEncode(*iv), c["iv"].get<std::string>());
  }
}

TEST(Nip04Test, HostileContent) {
  Json c = testing::GoldenCases("nip04").at(1);
  SecretBytes sk = SecretHex(c["recipient_sk"].get<std::string>());
  Bytes32 pub = Hex32(c["sender_pk"].get<std::string>());
  std::string good = c["payload"].get<std::string>();
  ASSERT_TRUE(Nip04Decrypt(good, sk, pub).ok());
  size_t sep = good.find("?iv=");
  std::string ct = good.substr(0, sep), iv = good.substr(sep + 4);
  auto msg = [&](const std::string& s) { return Nip04Decrypt(s, sk, pub).status().message(); };

  EXPECT_EQ(msg(ct), "nip04: missing ?iv=");
  EXPECT_EQ(msg(""), "nip04: missing ?iv=");
  EXPECT_EQ(msg("?iv=" + iv), "nip04: ciphertext is not a whole number of blocks");
  EXPECT_EQ(msg(ct + "?iv="), "nip04: iv is not 16 bytes");
  EXPECT_EQ(msg(ct + "?iv=AAAA"), "nip04: iv is not 16 bytes");
  EXPECT_EQ(msg(ct + "?iv=" + iv + "?iv=" + iv), "nip04: iv is not base64");
  EXPECT_EQ(msg("!!!!" + ct + "?iv=" + iv), "nip04: ciphertext is not base64");
  EXPECT_EQ(msg("AAAA?iv=" + iv), "nip04: ciphertext is not a whole number of blocks");
  EXPECT_EQ(msg(ct + " ?iv=" + iv), "nip04: ciphertext is not base64");
  // Flipping iv bits changes the first block; for a one-block message that breaks the padding
  // for most flips. A wrong key also breaks it (or, rarely, decrypts to garbage).
  auto raw_iv = *Base64Decode(iv);
  int refused = 0;
  for (int bit = 0; bit < 8; ++bit) {
    raw_iv[15] ^= static_cast<uint8_t>(1 << bit);
    if (!Nip04Decrypt(ct + "?iv=" + Base64Encode(raw_iv), sk, pub).ok()) ++refused;
    raw_iv[15] ^= static_cast<uint8_t>(1 << bit);
  }
  EXPECT_GT(refused, 0);
  Bytes32 bad_pub{};
  bad_pub.fill(0xff);
  EXPECT_FALSE(Nip04Decrypt(good, sk, bad_pub).ok());
  EXPECT_FALSE(Nip04Decrypt(good, SecretBytes::Make(32), pub).ok());
  EXPECT_FALSE(Nip04Decrypt(std::string(17 << 20, 'A'), sk, pub).ok());
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(Nip04Decrypt(good.substr(0, n), sk, pub).ok());
}

}  // namespace
}  // namespace agent9::identity
