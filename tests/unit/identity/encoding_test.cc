#include "identity/encoding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agent9::identity {
namespace {

TEST(HexTest, RoundTripAndCase) {
  std::vector<uint8_t> bytes{0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(bytes), "0001abff");
  auto back = HexDecode("0001ABff");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_TRUE(HexDecode("").ok());
}

TEST(HexTest, RejectsBadInput) {
  EXPECT_EQ(HexDecode("abc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HexDecode("zz").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HexDecode("0g").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(HexDecode(std::string("0\0", 2)).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(HexDecode32("00").ok());
  EXPECT_FALSE(HexDecode32(std::string(66, '0')).ok());
  EXPECT_TRUE(HexDecode32(std::string(64, 'F')).ok());
  EXPECT_FALSE(HexDecodeFixed<2>("0000 ").ok());
}

TEST(HexTest, IsLowerHex) {
  EXPECT_TRUE(IsLowerHex("00af", 4));
  EXPECT_FALSE(IsLowerHex("00AF", 4));
  EXPECT_FALSE(IsLowerHex("00af", 6));
}

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, enc] : cases) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), enc);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.ok()) << enc;
    EXPECT_EQ(std::string(dec->begin(), dec->end()), plain);
  }
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  auto round = Base64Decode(Base64Encode(all));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(*round, all);
}

TEST(Base64Test, StrictDecoding) {
  for (const char* bad : {"Zg", "Zg=", "Zh==", "Zm9v\n", " Zm9v", "Zm9v====", "Zm-v", "Zm_v",
                          "Z===", "====", "Zm9vYg==Zg=="}) {
    EXPECT_EQ(Base64Decode(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(Base64Decode(std::string("Zm9\0", 4)).ok());
}

TEST(Utf8Test, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii \x7f"));
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9\xe4\xb8\xad\xf0\x9f\xa4\x99"));  // é 中 🤙
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe4\xb8"));
}

}  // namespace
}  // namespace agent9::identity
