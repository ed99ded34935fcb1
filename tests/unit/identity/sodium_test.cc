#include "identity/sodium.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using testing::Hex;

TEST(SecretBytesTest, MakeCopyRandomMove) {
  SecretBytes z = SecretBytes::Make(40);
  ASSERT_EQ(z.size(), 40u);
  for (size_t i = 0; i < z.size(); ++i) EXPECT_EQ(z.data()[i], 0);
  std::vector<uint8_t> raw{1, 2, 3};
  SecretBytes c = SecretBytes::Copy(raw);
  EXPECT_EQ(std::vector<uint8_t>(c.span().begin(), c.span().end()), raw);
  SecretBytes moved = std::move(c);
  EXPECT_TRUE(c.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(moved.size(), 3u);
  SecretBytes r1 = SecretBytes::Random(32), r2 = SecretBytes::Random(32);
  EXPECT_FALSE(r1.Equal(r2));
  EXPECT_TRUE(moved.Equal(SecretBytes::Copy(raw)));
  EXPECT_FALSE(moved.Equal(SecretBytes::Make(3)));
  EXPECT_FALSE(moved.Equal(SecretBytes::Make(4)));
  EXPECT_TRUE(SecretBytes::Make(0).empty());
  EXPECT_TRUE(SecretBytes().Equal(SecretBytes::Make(0)));
  r1 = std::move(r2);
  EXPECT_EQ(r1.size(), 32u);
}

TEST(HashTest, Sha256AndHmac) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2 (short key) and 6 (131-byte key, longer than a block).
  EXPECT_EQ(
      HexEncode(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want "), AsBytes("for nothing?"))),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::vector<uint8_t> key(131, 0xaa);
  EXPECT_EQ(HexEncode(HmacSha256(key, AsBytes("Test Using Larger Than Block-Size Key - Hash Key "
                                              "First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HkdfTest, Rfc5869Cases) {
  // Test case 1.
  std::vector<uint8_t> ikm(22, 0x0b);
  SecretBytes prk = HkdfExtract(Hex("000102030405060708090a0b0c"), ikm);
  EXPECT_EQ(HexEncode(prk.span()),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  auto okm = HkdfExpand(prk.span(), Hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok());
  EXPECT_EQ(HexEncode(okm->span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  // Test case 3: empty salt and info.
  SecretBytes prk3 = HkdfExtract({}, ikm);
  auto okm3 = HkdfExpand(prk3.span(), {}, 42);
  ASSERT_TRUE(okm3.ok());
  EXPECT_EQ(HexEncode(okm3->span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
  EXPECT_FALSE(HkdfExpand(prk.span(), {}, 0).ok());
  EXPECT_FALSE(HkdfExpand(prk.span(), {}, 255 * 32 + 1).ok());
  EXPECT_TRUE(HkdfExpand(prk.span(), {}, 255 * 32).ok());
}

TEST(XChaChaTest, SealOpenAndTamper) {
  SecretBytes key = SecretBytes::Random(32);
  std::vector<uint8_t> nonce(24, 7);
  std::vector<uint8_t> ad{1, 2};
  auto ct = XChaChaSeal(key, nonce, AsBytes("secret message"), ad);
  ASSERT_TRUE(ct.ok());
  EXPECT_EQ(ct->size(), 14u + 16u);
  auto pt = XChaChaOpen(key, nonce, *ct, ad);
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(std::string(pt->span().begin(), pt->span().end()), "secret message");

  std::vector<uint8_t> bad = *ct;
  bad[3] ^= 1;
  EXPECT_EQ(XChaChaOpen(key, nonce, bad, ad).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(XChaChaOpen(key, nonce, *ct, Hex("0103")).ok());
  EXPECT_FALSE(XChaChaOpen(SecretBytes::Random(32), nonce, *ct, ad).ok());
  EXPECT_FALSE(XChaChaOpen(key, nonce, std::span(ct->data(), 15), ad).ok());
  EXPECT_FALSE(XChaChaOpen(key, std::span(nonce.data(), 12), *ct, ad).ok());
  EXPECT_FALSE(XChaChaSeal(SecretBytes::Random(16), nonce, {}, {}).ok());

  auto empty = XChaChaSeal(key, nonce, {}, {});
  ASSERT_TRUE(empty.ok());
  auto opened = XChaChaOpen(key, nonce, *empty, {});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->empty());
}

}  // namespace
}  // namespace agent9::identity
