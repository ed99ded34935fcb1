#include "identity/nip59.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>
#include <utility>

#include "identity/nip19.h"
#include "identity/nip44.h"
#include "identity/secp256k1.h"
#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

constexpr int64_t kNow = 1'700'000'000;

struct Key {
  SecretBytes sk;
  Bytes32 pub{};
};

Key NewKey() {
  Key k;
  k.sk = std::move(NewSecretKey()).value();
  k.pub = *XOnlyPubkey(k.sk);
  return k;
}

// content encrypted from sk to `to` with NIP-44 and signed by sk as an event of `kind`.
Event EncryptedEvent(const SecretBytes& sk, const Bytes32& to, int kind, Json tags,
                     const std::string& plaintext) {
  auto conv = Nip44ConversationKey(sk, to);
  EXPECT_TRUE(conv.ok());
  auto payload = Nip44Encrypt(plaintext, *conv);
  EXPECT_TRUE(payload.ok()) << payload.status().ToString();
  auto e = SignEvent(sk, kind, std::move(tags), *payload, kNow);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return *e;
}

// A gift wrap to `to` holding any seal text, signed by a fresh key.
Event WrapText(const Bytes32& to, const std::string& seal_text, int kind = kGiftWrapKind) {
  Key eph = NewKey();
  return EncryptedEvent(eph.sk, to, kind, Json::array({Json::array({"p", HexEncode(to)})}),
                        seal_text);
}

// A seal by `by` to `to` holding any rumor text.
Event SealText(const SecretBytes& by, const Bytes32& to, const std::string& rumor_text,
               int kind = kSealKind, Json tags = Json::array()) {
  return EncryptedEvent(by, to, kind, std::move(tags), rumor_text);
}

class Nip59Test : public ::testing::Test {
 protected:
  // Unwrap of a hand-built wrap (seal text inside) by bob.
  Result<Unwrapped> UnwrapSeal(const Event& seal) {
    return Unwrap(bob_.sk, WrapText(bob_.pub, DumpJson(EventToJson(seal))));
  }
  // Unwrap of a hand-built rumor text sealed by alice to bob.
  Result<Unwrapped> UnwrapRumorText(const std::string& rumor_text) {
    return UnwrapSeal(SealText(alice_.sk, bob_.pub, rumor_text));
  }
  static void ExpectInvalid(const Result<Unwrapped>& r, const std::string& needle) {
    ASSERT_FALSE(r.ok()) << "expected failure with " << needle;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  }

  Key alice_ = NewKey();
  Key bob_ = NewKey();
};

TEST_F(Nip59Test, RoundTrip) {
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "meet at noon ☀", kNow);
  EXPECT_EQ(dm.kind, 14);
  EXPECT_EQ(dm.tags, Json::parse(R"([["p",")" + HexEncode(bob_.pub) + R"("]])"));
  EXPECT_EQ(dm.id, *RumorId(dm));

  auto wrap = SealAndWrap(alice_.sk, bob_.pub, dm, kNow);
  ASSERT_TRUE(wrap.ok()) << wrap.status().ToString();
  EXPECT_EQ(wrap->kind, 1059);
  EXPECT_TRUE(VerifyEvent(*wrap).ok());
  EXPECT_EQ(wrap->tags, Json::array({Json::array({"p", HexEncode(bob_.pub)})}));
  EXPECT_NE(wrap->pubkey, HexEncode(alice_.pub));  // a one-time key
  EXPECT_NE(wrap->pubkey, HexEncode(bob_.pub));
  EXPECT_EQ(wrap->content.find("meet"), std::string::npos);

  auto u = Unwrap(bob_.sk, *wrap);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->rumor.id, dm.id);
  EXPECT_EQ(u->rumor.pubkey, HexEncode(alice_.pub));
  EXPECT_EQ(u->rumor.created_at, kNow);
  EXPECT_EQ(u->rumor.kind, 14);
  EXPECT_EQ(u->rumor.tags, dm.tags);
  EXPECT_EQ(u->rumor.content, "meet at noon ☀");
  EXPECT_EQ(u->seal.kind, 13);
  EXPECT_EQ(u->seal.pubkey, HexEncode(alice_.pub));
  EXPECT_TRUE(u->seal.tags.empty());
  EXPECT_EQ(u->wrap.id, wrap->id);
  // Alice's key cannot open what she sent to Bob.
  ExpectInvalid(Unwrap(alice_.sk, *wrap), "gift wrap: nip44: invalid MAC");
}

TEST_F(Nip59Test, ReplyTagAndEmptyIdFilledIn) {
  std::string parent(64, 'a');
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "yes", kNow, parent);
  EXPECT_EQ(dm.tags[1], Json::array({"e", parent, "", "reply"}));
  dm.id.clear();
  auto wrap = SealAndWrap(alice_.sk, bob_.pub, dm, kNow);
  ASSERT_TRUE(wrap.ok());
  auto u = Unwrap(bob_.sk, *wrap);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->rumor.id, *RumorId(dm));
  EXPECT_EQ(u->rumor.tags, dm.tags);
}

TEST_F(Nip59Test, CreatedAtRandomizedWithinTwoDays) {
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "x", kNow);
  std::set<int64_t> seen;
  for (int i = 0; i < 40; ++i) {
    auto wrap = SealAndWrap(alice_.sk, bob_.pub, dm, kNow);
    ASSERT_TRUE(wrap.ok());
    auto u = Unwrap(bob_.sk, *wrap);
    ASSERT_TRUE(u.ok());
    for (int64_t t : {wrap->created_at, u->seal.created_at}) {
      EXPECT_LE(t, kNow);
      EXPECT_GE(t, kNow - 2 * 24 * 3600);
      seen.insert(t);
    }
    EXPECT_EQ(u->rumor.created_at, kNow);  // the rumor keeps its real time
  }
  EXPECT_GT(seen.size(), 60u);  // 80 draws from 172801 values
  // Near the epoch the dates stop at 0.
  auto early = SealAndWrap(alice_.sk, bob_.pub, MakeDmRumor(alice_.pub, bob_.pub, "x", 5), 5);
  ASSERT_TRUE(early.ok());
  EXPECT_GE(early->created_at, 0);
  EXPECT_LE(early->created_at, 5);
}

TEST_F(Nip59Test, SealAndWrapRefusesBadInput) {
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "x", kNow);
  // Bob's rumor sealed with Alice's key: the recipient would reject it, so it is not made.
  Rumor bobs = MakeDmRumor(bob_.pub, alice_.pub, "x", kNow);
  EXPECT_EQ(SealAndWrap(alice_.sk, bob_.pub, bobs, kNow).status().message(),
            "rumor pubkey is not the sender's");
  Rumor stale = dm;
  stale.content = "changed";
  EXPECT_EQ(SealAndWrap(alice_.sk, bob_.pub, stale, kNow).status().message(),
            "rumor id does not match its content");
  Bytes32 not_a_point;
  not_a_point.fill(0xff);
  EXPECT_EQ(SealAndWrap(alice_.sk, not_a_point, dm, kNow).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(SealAndWrap(alice_.sk, bob_.pub, dm, -1).ok());
  Rumor bad_utf8 = MakeDmRumor(alice_.pub, bob_.pub, "\xff", kNow);
  EXPECT_TRUE(bad_utf8.id.empty());
  EXPECT_EQ(SealAndWrap(alice_.sk, bob_.pub, bad_utf8, kNow).status().code(),
            Code::kInvalidArgument);
  // Each layer grows the payload by about 3/2: a 700 kB message does not fit a 1 MiB wrap.
  Rumor big = MakeDmRumor(alice_.pub, bob_.pub, std::string(700'000, 'a'), kNow);
  auto r = SealAndWrap(alice_.sk, bob_.pub, big, kNow);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("too large"), std::string::npos) << r.status().message();
  Rumor fits = MakeDmRumor(alice_.pub, bob_.pub, std::string(300'000, 'a'), kNow);
  auto ok = SealAndWrap(alice_.sk, bob_.pub, fits, kNow);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Unwrap(bob_.sk, *ok)->rumor.content.size(), 300'000u);
}

TEST_F(Nip59Test, RejectsForgedOrTamperedWrap) {
  auto wrap = *SealAndWrap(alice_.sk, bob_.pub, MakeDmRumor(alice_.pub, bob_.pub, "x", kNow), kNow);
  Event forged = wrap;
  forged.sig[10] = forged.sig[10] == '0' ? '1' : '0';
  ExpectInvalid(Unwrap(bob_.sk, forged), "gift wrap: event signature does not verify");
  Event edited = wrap;
  edited.content[50] = edited.content[50] == 'A' ? 'B' : 'A';
  ExpectInvalid(Unwrap(bob_.sk, edited), "gift wrap: event id does not match its content");
  // Tampered content re-signed by another key: the NIP-44 MAC no longer authenticates.
  Key other = NewKey();
  Event resigned =
      *SignEvent(other.sk, kGiftWrapKind, edited.tags, edited.content, edited.created_at);
  ExpectInvalid(Unwrap(bob_.sk, resigned), "gift wrap: nip44: invalid MAC");
  // Someone else's key: the same.
  Key carol = NewKey();
  ExpectInvalid(Unwrap(carol.sk, wrap), "gift wrap: nip44: invalid MAC");
}

TEST_F(Nip59Test, RejectsWrongKinds) {
  Event seal = SealText(alice_.sk, bob_.pub,
                        DumpJson(RumorToJson(MakeDmRumor(alice_.pub, bob_.pub, "x", kNow))));
  Event wrap_kind1 = WrapText(bob_.pub, DumpJson(EventToJson(seal)), 1);
  ExpectInvalid(Unwrap(bob_.sk, wrap_kind1), "gift wrap: kind must be 1059, got 1");
  Event seal_kind14 = SealText(alice_.sk, bob_.pub, "{}", 14);
  ExpectInvalid(UnwrapSeal(seal_kind14), "seal: kind must be 13, got 14");
}

TEST_F(Nip59Test, RejectsForgedSeal) {
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "x", kNow);
  Event seal = SealText(alice_.sk, bob_.pub, DumpJson(RumorToJson(dm)));
  ASSERT_TRUE(UnwrapSeal(seal).ok());
  Event forged = seal;
  forged.sig[0] = forged.sig[0] == 'f' ? 'e' : 'f';
  ExpectInvalid(UnwrapSeal(forged), "seal: event signature does not verify");
  // A seal claiming Alice but signed by Mallory.
  Key mallory = NewKey();
  Event claimed = SealText(mallory.sk, bob_.pub, DumpJson(RumorToJson(dm)));
  claimed.pubkey = HexEncode(alice_.pub);
  ExpectInvalid(UnwrapSeal(claimed), "seal: event id does not match its content");
  // NIP-59: a seal's tags are always empty (a "p" tag would name the recipient).
  Event tagged = SealText(alice_.sk, bob_.pub, DumpJson(RumorToJson(dm)), kSealKind,
                          Json::array({Json::array({"p", HexEncode(bob_.pub)})}));
  ExpectInvalid(UnwrapSeal(tagged), "seal: must have no tags");
}

TEST_F(Nip59Test, RejectsRumorNotByTheSealer) {
  // Mallory seals (and signs) a rumor that claims to be Alice's.
  Key mallory = NewKey();
  Rumor fake = MakeDmRumor(alice_.pub, bob_.pub, "send mallory the keys", kNow);
  Event seal = SealText(mallory.sk, bob_.pub, DumpJson(RumorToJson(fake)));
  ExpectInvalid(UnwrapSeal(seal), "seal pubkey differs from the rumor's");
}

TEST_F(Nip59Test, RejectsBadRumors) {
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "x", kNow);
  Json j = RumorToJson(dm);
  Json signed_rumor = j;
  signed_rumor["sig"] = std::string(128, '0');
  ExpectInvalid(UnwrapRumorText(DumpJson(signed_rumor)), "rumor must not be signed");
  Json wrong_id = j;
  wrong_id["id"] = std::string(64, '0');
  ExpectInvalid(UnwrapRumorText(DumpJson(wrong_id)), "rumor id does not match its content");
  Json no_id = j;
  no_id.erase("id");
  auto u = UnwrapRumorText(DumpJson(no_id));
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->rumor.id, dm.id);

  struct Case {
    const char* field;
    Json value;
    const char* needle;
  };
  const Case cases[] = {
      {"pubkey", HexEncode(alice_.pub).substr(1), "pubkey"},
      {"pubkey", 7, "rumor pubkey missing or not a string"},
      {"created_at", -1, "rumor created_at out of range"},
      {"created_at", 1.5, "rumor created_at missing or not an integer"},
      {"created_at", "1700000000", "rumor created_at missing or not an integer"},
      {"created_at", Json::parse("18446744073709551615"), "rumor created_at out of range"},
      {"kind", 65536, "rumor kind out of range"},
      {"kind", nullptr, "rumor kind missing or not an integer"},
      {"tags", Json::object(), "tags"},
      {"tags", Json::array({Json::array({1})}), "tag items must be strings"},
      {"content", Json::array(), "rumor content missing or not a string"},
      {"id", 5, "rumor id missing or not a string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.field) + " = " + c.value.dump());
    Json bad = j;
    bad[c.field] = c.value;
    ExpectInvalid(UnwrapRumorText(DumpJson(bad)), c.needle);
  }
  for (const char* field : {"pubkey", "created_at", "kind", "tags", "content"}) {
    Json missing = j;
    missing.erase(field);
    ExpectInvalid(UnwrapRumorText(DumpJson(missing)), field);
  }
  // Upper-case hex is not the NIP-01 form.
  Json upper = j;
  std::string pk = HexEncode(alice_.pub);
  for (char& ch : pk) ch = static_cast<char>(std::toupper(ch));
  upper["pubkey"] = pk;
  ExpectInvalid(UnwrapRumorText(DumpJson(upper)), "lowercase");
}

TEST_F(Nip59Test, RejectsHostileJson) {
  for (const std::string& text :
       {std::string("not json"), std::string("[]"), std::string("\"str\""), std::string("{"),
        std::string(10'000, '[') + std::string(10'000, ']'), std::string("{\"a\":1}{}"),
        std::string("{\"kind\":13,\"x\":\"\\ud800\"}")}) {
    SCOPED_TRACE(text.substr(0, 40));
    auto as_seal = Unwrap(bob_.sk, WrapText(bob_.pub, text));
    EXPECT_EQ(as_seal.status().code(), Code::kInvalidArgument);
    auto as_rumor = UnwrapRumorText(text);
    EXPECT_EQ(as_rumor.status().code(), Code::kInvalidArgument);
  }
  // A seal that is valid JSON but not an event.
  ExpectInvalid(Unwrap(bob_.sk, WrapText(bob_.pub, R"({"kind":13})")), "seal: event id");
}

TEST_F(Nip59Test, RumorJsonRoundTrip) {
  Rumor dm = MakeDmRumor(alice_.pub, bob_.pub, "line\n\"quoted\" \x01", kNow, std::string(64, 'b'));
  auto back = RumorFromJson(Json::parse(DumpJson(RumorToJson(dm))));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, dm.id);
  EXPECT_EQ(back->content, dm.content);
  EXPECT_EQ(back->tags, dm.tags);
  EXPECT_FALSE(RumorToJson(dm).contains("sig"));
  EXPECT_FALSE(RumorFromJson(Json::array()).ok());
}

// The NIP-17 example: "Hola, que tal?" from nsec1w8udu... to nsec12ywtk..., wrapped to the
// receiver (a wrap made by another implementation).
TEST(Nip59Example, Nip17SpecGiftWrapUnwraps) {
  auto sender = DecodeNsec("nsec1w8udu59ydjvedgs3yv5qccshcj8k05fh3l60k9x57asjrqdpa00qkmr89m");
  auto receiver = DecodeNsec("nsec12ywtkplvyq5t6twdqwwygavp5lm4fhuang89c943nf2z92eez43szvn4dt");
  ASSERT_TRUE(sender.ok() && receiver.ok());
  Json j = Json::parse(R"({
   "id":"2886780f7349afc1344047524540ee716f7bdc1b64191699855662330bf235d8",
   "pubkey":"8f8a7ec43b77d25799281207e1a47f7a654755055788f7482653f9c9661c6d51",
   "created_at":1703128320,"kind":1059,
   "tags":[["p","918e2da906df4ccd12c8ac672d8335add131a4cf9d27ce42b3bb3625755f0788"]],
   "content":"AsqzdlMsG304G8h08bE67dhAR1gFTzTckUUyuvndZ8LrGCvwI4pgC3d6hyAK0Wo9gtkLqSr2rT2RyHlE5wRqbCOlQ8WvJEKwqwIJwT5PO3l2RxvGCHDbd1b1o40ZgIVwwLCfOWJ86I5upXe8K5AgpxYTOM1BD+SbgI5jOMA8tgpRoitJedVSvBZsmwAxXM7o7sbOON4MXHzOqOZpALpS2zgBDXSAaYAsTdEM4qqFeik+zTk3+L6NYuftGidqVluicwSGS2viYWr5OiJ1zrj1ERhYSGLpQnPKrqDaDi7R1KrHGFGyLgkJveY/45y0rv9aVIw9IWF11u53cf2CP7akACel2WvZdl1htEwFu/v9cFXD06fNVZjfx3OssKM/uHPE9XvZttQboAvP5UoK6lv9o3d+0GM4/3zP+yO3C0NExz1ZgFmbGFz703YJzM+zpKCOXaZyzPjADXp8qBBeVc5lmJqiCL4solZpxA1865yPigPAZcc9acSUlg23J1dptFK4n3Tl5HfSHP+oZ/QS/SHWbVFCtq7ZMQSRxLgEitfglTNz9P1CnpMwmW/Y4Gm5zdkv0JrdUVrn2UO9ARdHlPsW5ARgDmzaxnJypkfoHXNfxGGXWRk0sKLbz/ipnaQP/eFJv/ibNuSfqL6E4BnN/tHJSHYEaTQ/PdrA2i9laG3vJti3kAl5Ih87ct0w/tzYfp4SRPhEF1zzue9G/16eJEMzwmhQ5Ec7jJVcVGa4RltqnuF8unUu3iSRTQ+/MNNUkK6Mk+YuaJJs6Fjw6tRHuWi57SdKKv7GGkr0zlBUU2Dyo1MwpAqzsCcCTeQSv+8qt4wLf4uhU9Br7F/L0ZY9bFgh6iLDCdB+4iABXyZwT7Ufn762195hrSHcU4Okt0Zns9EeiBOFxnmpXEslYkYBpXw70GmymQfJlFOfoEp93QKCMS2DAEVeI51dJV1e+6t3pCSsQN69Vg6jUCsm1TMxSs2VX4BRbq562+VffchvW2BB4gMjsvHVUSRl8i5/ZSDlfzSPXcSGALLHBRzy+gn0oXXJ/447VHYZJDL3Ig8+QW5oFMgnWYhuwI5QSLEyflUrfSz+Pdwn/5eyjybXKJftePBD9Q+8NQ8zulU5sqvsMeIx/bBUx0fmOXsS3vjqCXW5IjkmSUV7q54GewZqTQBlcx+90xh/LSUxXex7UwZwRnifvyCbZ+zwNTHNb12chYeNjMV7kAIr3cGQv8vlOMM8ajyaZ5KVy7HpSXQjz4PGT2/nXbL5jKt8Lx0erGXsSsazkdoYDG3U",
   "sig":"a3c6ce632b145c0869423c1afaff4a6d764a9b64dedaf15f170b944ead67227518a72e455567ca1c2a0d187832cecbde7ed478395ec4c95dd3e71749ed66c480"})");
  auto wrap = EventFromJson(j);
  ASSERT_TRUE(wrap.ok()) << wrap.status().ToString();
  auto u = Unwrap(*receiver, *wrap);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->rumor.content, "Hola, que tal?");
  EXPECT_EQ(u->rumor.kind, 14);
  EXPECT_EQ(u->rumor.pubkey, HexEncode(*XOnlyPubkey(*sender)));
  EXPECT_EQ(u->rumor.id, "cf4d60706f9681a31c1cd5850779bcabe1578c1ae293296be20748c2e0771749");
  EXPECT_FALSE(Unwrap(*sender, *wrap).ok());  // wrapped to the receiver only
}

}  // namespace
}  // namespace agent9::identity
