#include "identity/event.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "identity/secp256k1.h"
#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using testing::Hex32;
using testing::SecretHex;

const std::string kPk = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

TEST(EventTest, GoldenEvents) {
  auto cases = testing::GoldenCases("event");
  ASSERT_EQ(cases.size(), 24u);
  int verbatim = 0;
  for (const Json& c : cases) {
    SCOPED_TRACE(c["case"].dump());
    const Json& ev = c["event"];
    auto ser =
        EventSerialization(ev["pubkey"].get<std::string>(), ev["created_at"].get<int64_t>(),
                           ev["kind"].get<int>(), ev["tags"], ev["content"].get<std::string>());
    ASSERT_TRUE(ser.ok()) << ser.status().ToString();
    EXPECT_EQ(*ser, c["serialized"].get<std::string>());
    auto id = EventId(ev["pubkey"].get<std::string>(), ev["created_at"].get<int64_t>(),
                      ev["kind"].get<int>(), ev["tags"], ev["content"].get<std::string>());
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(HexEncode(*id), ev["id"].get<std::string>());
    if (c.contains("nip01_verbatim_variant")) {
      // The ecosystem id is the JSON.stringify one (vectors README caveat 6).
      EXPECT_NE(HexEncode(*id), c["nip01_verbatim_variant"]["id"].get<std::string>());
      ++verbatim;
    }

    Bytes32 aux = Hex32(c["aux_rand"].get<std::string>());
    auto signed_ev =
        SignEvent(SecretHex(c["sk"].get<std::string>()), ev["kind"].get<int>(), ev["tags"],
                  ev["content"].get<std::string>(), ev["created_at"].get<int64_t>(), &aux);
    ASSERT_TRUE(signed_ev.ok());
    EXPECT_EQ(EventToJson(*signed_ev), ev);

    auto parsed = EventFromJson(ev);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_TRUE(VerifyEvent(*parsed).ok());
    EXPECT_EQ(EventToJson(*parsed), ev);
  }
  EXPECT_EQ(verbatim, 13);
}

TEST(EventTest, EscapingMatchesJsonStringify) {
  std::string content = std::string("q\" b\\ \b\f\n\r\t \x01\x1f\x7f / \xe2\x80\xa8 \xc3\xa9 ") +
                        std::string(1, '\0');
  auto ser = EventSerialization(kPk, 1, 1, Json::array(), content);
  ASSERT_TRUE(ser.ok());
  EXPECT_EQ(*ser, "[0,\"" + kPk +
                      "\",1,1,[],\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f\x7f / "
                      "\xe2\x80\xa8 \xc3\xa9 \\u0000\"]");
}

TEST(EventTest, SerializationRejectsBadFields) {
  EXPECT_FALSE(EventSerialization(kPk, 0, 1, Json::array(), "\xff").ok());
  EXPECT_FALSE(EventSerialization(kPk, 0, 1, Json::array({Json::array({"\xc3"})}), "").ok());
  EXPECT_FALSE(EventSerialization(kPk, -1, 1, Json::array(), "").ok());
  EXPECT_FALSE(EventSerialization(kPk, 0, -1, Json::array(), "").ok());
  EXPECT_FALSE(EventSerialization(kPk, 0, 65536, Json::array(), "").ok());
  std::string upper = kPk;
  upper[0] = 'F';
  upper[1] = 'F';
  EXPECT_FALSE(EventSerialization(upper, 0, 1, Json::array(), "").ok());
  EXPECT_FALSE(EventSerialization(kPk, 0, 1, Json::object(), "").ok());
  EXPECT_FALSE(EventSerialization(kPk, 0, 1, Json::array({"e"}), "").ok());
  EXPECT_FALSE(EventSerialization(kPk, 0, 1, Json::array({Json::array({1})}), "").ok());
  EXPECT_FALSE(
      EventSerialization(kPk, 0, 1, Json::array(), std::string(kMaxEventContent + 1, 'a')).ok());
}

class EventJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sk = NewSecretKey();
    ASSERT_TRUE(sk.ok());
    auto e = SignEvent(*sk, 1, Json::array({Json::array({"t", "x"})}), "hello", 1700000000);
    ASSERT_TRUE(e.ok());
    good_ = EventToJson(*e);
    ASSERT_TRUE(EventFromJson(good_).ok());
  }
  Json With(const char* key, Json value) {
    Json j = good_;
    j[key] = std::move(value);
    return j;
  }
  Json good_;
};

TEST_F(EventJsonTest, RejectsHostileJson) {
  std::vector<Json> bad = {
      Json(),
      Json::array(),
      Json("event"),
      With("id", 5),
      With("id", std::string(64, 'A')),
      With("id", std::string(63, 'a')),
      With("pubkey", Json()),
      With("pubkey", std::string(64, 'g')),
      With("sig", std::string(64, 'a')),
      With("sig", std::string(128, 'F')),
      With("kind", -1),
      With("kind", 65536),
      With("kind", 1.5),
      With("kind", "1"),
      With("kind", uint64_t{1} << 63),
      With("created_at", -1),
      With("created_at", 1.0),
      With("created_at", "1700000000"),
      With("created_at", uint64_t{1} << 63),
      With("tags", Json::object()),
      With("tags", "[]"),
      With("tags", Json::array({"t"})),
      With("tags", Json::array({Json::array({1})})),
      With("tags", Json::array({Json::array({Json::array()})})),
      With("tags", Json::array({Json::array({"\xff"})})),
      With("tags", Json(std::vector<Json>(kMaxEventTags + 1, Json::array()))),
      With("tags", Json::array({Json::array({std::string(kMaxEventTagBytes, 'a')})})),
      With("content", Json()),
      With("content", 7),
      With("content", "\xed\xa0\x80"),
      With("content", std::string(kMaxEventContent + 1, 'a')),
  };
  for (const char* field : {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}) {
    Json j = good_;
    j.erase(field);
    bad.push_back(j);
  }
  for (const Json& j : bad) {
    auto e = EventFromJson(j);
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument) << j.dump().substr(0, 200);
  }
  // Unknown fields are ignored; limits are inclusive.
  EXPECT_TRUE(EventFromJson(With("extra", Json::object())).ok());
  EXPECT_TRUE(EventFromJson(With("kind", 65535)).ok());
  EXPECT_TRUE(
      EventFromJson(With("tags", Json(std::vector<Json>(kMaxEventTags, Json::array())))).ok());
}

TEST_F(EventJsonTest, VerifyDetectsTampering) {
  auto e = EventFromJson(good_);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(VerifyEvent(*e).ok());
  Event content = *e;
  content.content = "hellO";
  EXPECT_EQ(VerifyEvent(content).message(), "event id does not match its content");
  Event tags = *e;
  tags.tags = Json::array();
  EXPECT_EQ(VerifyEvent(tags).message(), "event id does not match its content");
  Event sig = *e;
  sig.sig[5] = sig.sig[5] == '0' ? '1' : '0';
  EXPECT_EQ(VerifyEvent(sig).message(), "event signature does not verify");
  // Someone else's key over the same content: the id changes with the pubkey.
  Event other = *e;
  other.pubkey = kPk;
  EXPECT_EQ(VerifyEvent(other).message(), "event id does not match its content");
  Event bad_hex = *e;
  bad_hex.id = "zz";
  EXPECT_EQ(VerifyEvent(bad_hex).code(), Code::kInvalidArgument);
  // An id recomputed for a pubkey not on the curve still fails on the signature.
  Event off_curve = *e;
  off_curve.pubkey = std::string(64, 'f');
  auto id = EventId(off_curve.pubkey, off_curve.created_at, off_curve.kind, off_curve.tags,
                    off_curve.content);
  ASSERT_TRUE(id.ok());
  off_curve.id = HexEncode(*id);
  EXPECT_EQ(VerifyEvent(off_curve).message(), "event signature does not verify");
}

}  // namespace
}  // namespace agent9::identity
