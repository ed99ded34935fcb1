#include "identity/secp256k1.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using testing::Hex;
using testing::Hex32;
using testing::Lower;
using testing::SecretHex;

TEST(Bip340Test, OfficialVectors) {
  auto rows = testing::LoadCsv("bip340/test-vectors.csv");
  ASSERT_EQ(rows.size(), 20u);  // header + indexes 0..18
  int signed_rows = 0, verified_rows = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    ASSERT_GE(row.size(), 7u);
    SCOPED_TRACE("bip340 index " + row[0] + " " + (row.size() > 7 ? row[7] : ""));
    std::vector<uint8_t> msg = Hex(row[4]);
    auto sig_bytes = HexDecodeFixed<64>(row[5]);
    ASSERT_TRUE(sig_bytes.ok());
    auto pk = HexDecode32(row[2]);
    ASSERT_TRUE(pk.ok());
    if (!row[1].empty()) {
      SecretBytes sk = SecretHex(row[1]);
      auto derived = XOnlyPubkey(sk);
      ASSERT_TRUE(derived.ok());
      EXPECT_EQ(*derived, *pk);
      Bytes32 aux = Hex32(row[3]);
      auto sig = SignSchnorr(sk, msg, &aux);
      ASSERT_TRUE(sig.ok());
      EXPECT_EQ(HexEncode(*sig), Lower(row[5]));
      ++signed_rows;
    }
    EXPECT_EQ(VerifySchnorr(*pk, msg, *sig_bytes), row[6] == "TRUE");
    ++verified_rows;
  }
  EXPECT_EQ(signed_rows, 8);  // 0-3 and the variable-length rows 15-18
  EXPECT_EQ(verified_rows, 19);
}

TEST(Secp256k1Test, GoldenKeys) {
  auto cases = testing::GoldenCases("keys");
  ASSERT_EQ(cases.size(), 24u);
  for (const Json& c : cases) {
    auto pk = XOnlyPubkey(SecretHex(c["sk"].get<std::string>()));
    ASSERT_TRUE(pk.ok());
    EXPECT_EQ(HexEncode(*pk), c["pk"].get<std::string>());
    EXPECT_TRUE(IsValidXOnly(*pk));
  }
}

TEST(Secp256k1Test, GoldenSchnorr) {
  auto cases = testing::GoldenCases("schnorr");
  ASSERT_EQ(cases.size(), 24u);
  for (const Json& c : cases) {
    SCOPED_TRACE(c.dump());
    SecretBytes sk = SecretHex(c["sk"].get<std::string>());
    Bytes32 aux = Hex32(c["aux_rand"].get<std::string>());
    std::vector<uint8_t> msg = Hex(c["msg"].get<std::string>());
    auto sig = SignSchnorr(sk, msg, &aux);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(HexEncode(*sig), c["sig"].get<std::string>());
    EXPECT_TRUE(VerifySchnorr(Hex32(c["pk"].get<std::string>()), msg, *sig));
  }
}

TEST(Secp256k1Test, SignWithRandomAuxVerifies) {
  auto sk = NewSecretKey();
  ASSERT_TRUE(sk.ok());
  auto pk = XOnlyPubkey(*sk);
  ASSERT_TRUE(pk.ok());
  std::vector<uint8_t> msg{1, 2, 3};
  auto s1 = SignSchnorr(*sk, msg);
  auto s2 = SignSchnorr(*sk, msg);
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_NE(*s1, *s2);  // fresh aux_rand
  EXPECT_TRUE(VerifySchnorr(*pk, msg, *s1));
  EXPECT_TRUE(VerifySchnorr(*pk, msg, *s2));
  Sig64 bad = *s1;
  bad[10] ^= 1;
  EXPECT_FALSE(VerifySchnorr(*pk, msg, bad));
  msg[0] = 9;
  EXPECT_FALSE(VerifySchnorr(*pk, msg, *s1));
}

TEST(Secp256k1Test, RejectsInvalidKeys) {
  for (const char* hex : {"0000000000000000000000000000000000000000000000000000000000000000",
                          "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
                          "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"}) {
    SecretBytes sk = SecretHex(hex);
    EXPECT_FALSE(IsValidSecretKey(sk.span()));
    EXPECT_EQ(XOnlyPubkey(sk).status().code(), Code::kInvalidArgument);
    EXPECT_FALSE(SignSchnorr(sk, {}).ok());
    EXPECT_FALSE(SharedX(sk, Hex32(testing::GoldenCases("keys")[0]["pk"].get<std::string>())).ok());
  }
  EXPECT_FALSE(XOnlyPubkey(SecretBytes::Random(31)).ok());
  EXPECT_FALSE(XOnlyPubkey(SecretBytes()).ok());
  Bytes32 not_on_curve{};
  not_on_curve.fill(0xff);
  EXPECT_FALSE(IsValidXOnly(not_on_curve));
  auto sk = NewSecretKey();
  ASSERT_TRUE(sk.ok());
  EXPECT_EQ(SharedX(*sk, not_on_curve).status().code(), Code::kInvalidArgument);
}

TEST(Secp256k1Test, SharedXMatchesGoldenAndIsSymmetric) {
  auto cases = testing::GoldenCases("nip04");
  ASSERT_EQ(cases.size(), 24u);
  for (const Json& c : cases) {
    auto a = SharedX(SecretHex(c["sender_sk"].get<std::string>()),
                     Hex32(c["recipient_pk"].get<std::string>()));
    auto b = SharedX(SecretHex(c["recipient_sk"].get<std::string>()),
                     Hex32(c["sender_pk"].get<std::string>()));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(HexEncode(a->span()), c["shared_x"].get<std::string>());
    EXPECT_TRUE(a->Equal(*b));
  }
}

TEST(Secp256k1Test, ConcurrentUseOfTheSharedContext) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures] {
      for (int i = 0; i < 50; ++i) {
        auto sk = NewSecretKey();
        auto pk = XOnlyPubkey(*sk);
        Bytes32 msg{};
        auto sig = SignSchnorr(*sk, msg);
        if (!sk.ok() || !pk.ok() || !sig.ok() || !VerifySchnorr(*pk, msg, *sig)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace agent9::identity
