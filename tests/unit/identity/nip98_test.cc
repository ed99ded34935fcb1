#include "identity/nip98.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "identity/event.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"
#include "tests/unit/identity/test_util.h"

namespace agent9::identity {
namespace {

using ::testing::HasSubstr;
using testing::SecretHex;

constexpr int64_t kNow = 1700000000;
const std::string kUrl = "http://127.0.0.1:7909/v1/agents/alice/send?x=1";
const std::string kBody = R"({"text":"hi"})";
const std::string kSk1 = "0000000000000000000000000000000000000000000000000000000000000003";
const std::string kSk2 = "0000000000000000000000000000000000000000000000000000000000000004";

std::string Sha256Hex(std::string_view s) { return HexEncode(Sha256(AsBytes(s))); }

Json StdTags(const std::string& url = kUrl, const std::string& method = "POST",
             const std::string& body = kBody) {
  return Json::array({Json::array({"u", url}), Json::array({"method", method}),
                      Json::array({"payload", Sha256Hex(body)})});
}

Event Signed(Json tags, int64_t created_at = kNow, int kind = kNip98Kind,
             const std::string& sk = kSk1) {
  auto e = SignEvent(SecretHex(sk), kind, std::move(tags), "", created_at);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? *e : Event{};
}

std::string Encode(std::string_view text) { return Base64Encode(AsBytes(text)); }
std::string Token(const Event& e) { return Encode(EventToJson(e).dump()); }

Result<Nip98Auth> Verify(const std::string& token, const std::string& body = kBody,
                         const std::string& url = kUrl, std::string_view method = "POST",
                         int64_t now = kNow) {
  Nip98Request req;
  req.credentials = token;
  req.method = method;
  req.url = url;
  req.body = body;
  req.now_s = now;
  return VerifyNip98(req);
}

// The message of a failed verification (it must be kUnauthenticated), or "ok".
std::string Why(const Result<Nip98Auth>& r) {
  if (r.ok()) return "ok";
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated) << r.status().ToString();
  return r.status().message();
}

TEST(Nip98Test, AcceptsAValidPost) {
  Event e = Signed(StdTags());
  auto auth = Verify(Token(e));
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(HexEncode(auth->pubkey), e.pubkey);
  EXPECT_EQ(auth->event_id, e.id);
  EXPECT_EQ(auth->created_at, kNow);
}

TEST(Nip98Test, AcceptsAGetWithoutPayload) {
  Json tags = Json::array({Json::array({"u", kUrl}), Json::array({"method", "GET"})});
  EXPECT_EQ(Why(Verify(Token(Signed(tags)), "", kUrl, "GET")), "ok");
  // Unknown tags and content are ignored; the method compares without case (nostr-tools).
  tags.push_back(Json::array({"x", "y", "z"}));
  EXPECT_EQ(Why(Verify(Token(Signed(tags)), "", kUrl, "get")), "ok");
}

TEST(Nip98Test, KindMustBe27235) {
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags(), kNow, 27234)))), "nip98: kind must be 27235");
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags(), kNow, 1)))), "nip98: kind must be 27235");
}

TEST(Nip98Test, UrlMustMatchExactly) {
  std::string token = Token(Signed(StdTags()));
  EXPECT_EQ(Why(Verify(token, kBody, "http://127.0.0.1:7909/v1/agents/bob/send?x=1")),
            "nip98: u tag \"" + kUrl +
                "\" does not match \"http://127.0.0.1:7909/v1/agents/bob/send?x=1\"");
  for (std::string other : {"http://127.0.0.1:7909/v1/agents/alice/send?x=2",  // query differs
                            "http://127.0.0.1:7909/v1/agents/alice/send",      // query dropped
                            "http://127.0.0.1:7909/v1/agents/alice/send?x=1&y=2",
                            "https://127.0.0.1:7909/v1/agents/alice/send?x=1",
                            "http://127.0.0.1:7908/v1/agents/alice/send?x=1",
                            "HTTP://127.0.0.1:7909/v1/agents/alice/send?x=1",
                            "http://127.0.0.1:7909/v1/agents/alice/send/?x=1"}) {
    EXPECT_THAT(Why(Verify(token, kBody, other)), HasSubstr("nip98: u tag")) << other;
  }
}

TEST(Nip98Test, MethodMustMatch) {
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags())), kBody, kUrl, "PUT")),
            "nip98: method tag \"POST\" does not match \"PUT\"");
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags(kUrl, "GET"))))),
            "nip98: method tag \"GET\" does not match \"POST\"");
}

TEST(Nip98Test, PayloadTag) {
  Json no_payload = Json::array({Json::array({"u", kUrl}), Json::array({"method", "POST"})});
  EXPECT_EQ(Why(Verify(Token(Signed(no_payload)))),
            "nip98: no payload tag for a request with a body");
  EXPECT_EQ(Why(Verify(Token(Signed(no_payload)), "")), "ok");
  std::string token = Token(Signed(StdTags()));
  EXPECT_EQ(Why(Verify(token, kBody + " ")), "nip98: payload hash does not match the body");
  EXPECT_EQ(Why(Verify(token, "")), "nip98: payload hash does not match the body");
  // A payload tag with an empty body must hash the empty body.
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags(kUrl, "POST", ""))), "")), "ok");
  // Uppercase hex is still the same hash; a malformed hash is a mismatch.
  Json upper = no_payload;
  std::string hex = Sha256Hex(kBody);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  upper.push_back(Json::array({"payload", hex}));
  EXPECT_EQ(Why(Verify(Token(Signed(upper)))), "ok");
  Json bad = no_payload;
  bad.push_back(Json::array({"payload", "zz"}));
  EXPECT_EQ(Why(Verify(Token(Signed(bad)))), "nip98: payload hash does not match the body");
}

TEST(Nip98Test, CreatedAtWindow) {
  for (int64_t delta : {int64_t{-61}, int64_t{61}, int64_t{3600}, -kNow}) {
    EXPECT_EQ(Why(Verify(Token(Signed(StdTags(), kNow + delta)))),
              "nip98: created_at is outside \u00b160 s")
        << delta;
  }
  for (int64_t delta : {-60, -59, 0, 59, 60}) {
    EXPECT_EQ(Why(Verify(Token(Signed(StdTags(), kNow + delta)))), "ok") << delta;
  }
  Nip98Request req;
  std::string token = Token(Signed(StdTags(), kNow - 100));
  req.credentials = token;
  req.method = "POST";
  req.url = kUrl;
  req.body = kBody;
  req.now_s = kNow;
  req.window_s = 120;
  EXPECT_TRUE(VerifyNip98(req).ok());
  req.window_s = 30;
  EXPECT_EQ(Why(VerifyNip98(req)), "nip98: created_at is outside \u00b130 s");
}

TEST(Nip98Test, ForgedSignatureAndTamperedId) {
  Event e = Signed(StdTags());
  Event forged = e;
  forged.sig[10] = forged.sig[10] == '0' ? '1' : '0';
  EXPECT_EQ(Why(Verify(Token(forged))), "nip98: bad signature");
  // Another key's signature over the same id.
  Event other = Signed(StdTags(), kNow, kNip98Kind, kSk2);
  Event swapped = e;
  swapped.sig = other.sig;
  EXPECT_EQ(Why(Verify(Token(swapped))), "nip98: bad signature");
  // Claiming someone else's pubkey changes the id; re-hashing it leaves a bad signature.
  Event stolen = e;
  stolen.pubkey = other.pubkey;
  EXPECT_EQ(Why(Verify(Token(stolen))), "nip98: event id does not match");
  stolen.id = HexEncode(*EventId(stolen.pubkey, stolen.created_at, stolen.kind, stolen.tags, ""));
  EXPECT_EQ(Why(Verify(Token(stolen))), "nip98: bad signature");

  Event tampered = e;
  tampered.id[0] = tampered.id[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(Why(Verify(Token(tampered))), "nip98: event id does not match");
  Event retargeted = e;  // the signed url swapped for another, id and sig kept
  retargeted.tags[0][1] = "http://127.0.0.1:7909/v1/agents/bob/send?x=1";
  EXPECT_EQ(Why(Verify(Token(retargeted), kBody, "http://127.0.0.1:7909/v1/agents/bob/send?x=1")),
            "nip98: event id does not match");
}

TEST(Nip98Test, ChecksRunInOrder) {
  // Wrong kind, stale and wrong url at once: the kind is reported.
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags("http://x/"), kNow - 999, 1)))),
            "nip98: kind must be 27235");
  // Stale and wrong url: the time is reported.
  EXPECT_THAT(Why(Verify(Token(Signed(StdTags("http://x/"), kNow - 999)))),
              HasSubstr("created_at"));
  // Wrong url and method: the url is reported.
  EXPECT_THAT(Why(Verify(Token(Signed(StdTags("http://x/", "GET"))))), HasSubstr("u tag"));
}

TEST(Nip98Test, MissingAndRepeatedTags) {
  Json u = Json::array({"u", kUrl});
  Json m = Json::array({"method", "POST"});
  Json p = Json::array({"payload", Sha256Hex(kBody)});
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({m, p}))))), "nip98: no u tag");
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({u, p}))))), "nip98: no method tag");
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({u, Json::array({"u", "http://x/"}), m, p}))))),
            "nip98: more than one u tag");
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({u, m, m, p}))))),
            "nip98: more than one method tag");
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({u, m, p, p}))))),
            "nip98: more than one payload tag");
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({Json::array({"u"}), m, p}))))),
            "nip98: u tag has no value");
  EXPECT_EQ(Why(Verify(Token(Signed(Json::array({Json::array(), u, m, p}))))), "ok");
}

TEST(Nip98Test, ErrorsQuoteHostileTagsSafely) {
  std::string evil = "http://x/\n200 OK \"" + std::string(1000, 'a');
  std::string why = Why(Verify(Token(Signed(StdTags(evil)))));
  EXPECT_THAT(why, HasSubstr("\"http://x/\\x0a200 OK \\x22aaa"));
  EXPECT_THAT(why, HasSubstr("aaa...\" does not match"));
  EXPECT_LT(why.size(), 400u);
  EXPECT_EQ(why.find('\n'), std::string::npos);
}

TEST(Nip98Test, CredentialsEncoding) {
  std::string token = Token(Signed(StdTags()));
  EXPECT_EQ(Why(Verify(" " + token + "\t")), "ok");
  EXPECT_EQ(Why(Verify("")), "nip98: not a JSON event");
  EXPECT_EQ(Why(Verify("Nostr " + token)), "nip98: credentials are not base64");
  EXPECT_EQ(Why(Verify(token.substr(0, token.size() - 1))), "nip98: credentials are not base64");
  EXPECT_EQ(Why(Verify("!!!!")), "nip98: credentials are not base64");
  std::string url_safe = token;  // base64url is not what NIP-98 uses
  for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
  if (url_safe != token) {
    EXPECT_EQ(Why(Verify(url_safe)), "nip98: credentials are not base64");
  }
  EXPECT_EQ(Why(Verify(std::string(kNip98MaxCredentials + 1, 'A'))),
            "nip98: credentials are too large");
  EXPECT_EQ(Why(Verify(std::string(16 << 20, 'A'))), "nip98: credentials are too large");
}

TEST(Nip98Test, NotAnEvent) {
  for (std::string text : {"[1,2]", "\"x\"", "42", "null", "not json", "{", "{\"a\":1} x"}) {
    EXPECT_EQ(Why(Verify(Encode(text))), "nip98: not a JSON event") << text;
  }
  EXPECT_EQ(Why(Verify(Encode(std::string(40000, '[')))), "nip98: not a JSON event");
  std::string deep = R"({"id":)" + std::string(50, '[') + std::string(50, ']') + "}";
  EXPECT_EQ(Why(Verify(Encode(deep))), "nip98: not a JSON event");
  // A well-formed object that is not a valid event: EventFromJson's message.
  EXPECT_EQ(Why(Verify(Encode("{}"))), "nip98: event id missing or not a string");
  Json j = EventToJson(Signed(StdTags()));
  j.erase("sig");
  EXPECT_EQ(Why(Verify(Encode(j.dump()))), "nip98: event sig missing or not a string");
}

TEST(Nip98Test, TagsOfWrongTypes) {
  Json base = EventToJson(Signed(StdTags()));
  for (Json tags :
       {Json("u"), Json::object(), Json::array({"u", kUrl}), Json::array({Json::array({"u", 1})}),
        Json::array({Json::array({"u", nullptr})}),
        Json::array({Json::array({Json::array({"u"}), kUrl})}),
        Json::array({Json::array({"u", Json::object()})})}) {
    Json j = base;
    j["tags"] = tags;
    EXPECT_THAT(Why(Verify(Encode(j.dump()))), HasSubstr("nip98: event tag")) << tags.dump();
  }
  for (Json bad : {Json("27235"), Json(27235.5), Json(-1), Json(1e30)}) {
    Json j = base;
    j["kind"] = bad;
    EXPECT_THAT(Why(Verify(Encode(j.dump()))), HasSubstr("nip98: event kind")) << bad.dump();
  }
  Json j = base;
  j["created_at"] = "1700000000";
  EXPECT_THAT(Why(Verify(Encode(j.dump()))), HasSubstr("nip98: event created_at"));
}

TEST(Nip98Test, RandomBytesAreRefused) {
  std::mt19937 rng(98);
  std::string valid = EventToJson(Signed(StdTags())).dump();
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 300, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    EXPECT_NE(Why(Verify(s)), "ok");
    EXPECT_NE(Why(Verify(Encode(s))), "ok");
    // A valid event with a few bytes changed.
    std::string m = valid;
    for (int k = 0; k < 3; ++k) m[rng() % m.size()] = static_cast<char>(rng());
    if (m != valid) {
      EXPECT_NE(Why(Verify(Encode(m))), "ok") << m;
    }
  }
}

TEST(Nip98ReplayGuardTest, AcceptsEachIdOnce) {
  Nip98ReplayGuard guard;
  std::string id = Signed(StdTags()).id;
  EXPECT_TRUE(guard.Accept(id, kNow, kNow).ok());
  Status again = guard.Accept(id, kNow, kNow + 1);
  EXPECT_EQ(again.code(), Code::kUnauthenticated);
  EXPECT_EQ(again.message(), "nip98: event already used");
  EXPECT_TRUE(guard.Accept(std::string(64, 'b'), kNow, kNow).ok());
  EXPECT_EQ(guard.size(), 2u);
}

TEST(Nip98ReplayGuardTest, RemembersIdsAsLongAsTheyCouldVerify) {
  Nip98ReplayGuard guard(60);
  // The extremes the verifier accepts at kNow: "past" verifies until kNow, "future" (created
  // 60 s ahead) until kNow + 120. Each must be held at least that long.
  EXPECT_TRUE(guard.Accept("future", kNow + 60, kNow).ok());
  EXPECT_TRUE(guard.Accept("past", kNow - 60, kNow).ok());
  EXPECT_EQ(guard.Accept("past", kNow - 60, kNow).message(), "nip98: event already used");
  for (int64_t t = kNow; t <= kNow + 120; t += 10) {
    EXPECT_EQ(guard.Accept("future", kNow + 60, t).message(), "nip98: event already used") << t;
  }
  EXPECT_EQ(guard.size(), 1u);  // "past" went once more than 2 * window old
  EXPECT_TRUE(guard.Accept("x", kNow + 180, kNow + 180).ok());
  EXPECT_EQ(guard.size(), 2u);  // "future" (kNow + 60) is exactly 2 * window old: kept
  EXPECT_TRUE(guard.Accept("y", kNow + 181, kNow + 181).ok());
  EXPECT_EQ(guard.size(), 2u);  // now it went
  // Outside the window: refused, so it is never recorded and then forgotten.
  Status stale = guard.Accept("old", kNow, kNow + 200);
  EXPECT_EQ(stale.code(), Code::kUnauthenticated);
  EXPECT_EQ(stale.message(), "nip98: created_at is outside \u00b160 s");
  EXPECT_FALSE(guard.Accept("ahead", kNow + 300, kNow + 200).ok());
  EXPECT_EQ(guard.size(), 2u);
}

TEST(Nip98ReplayGuardTest, RefusesWhenFullInsteadOfForgetting) {
  Nip98ReplayGuard guard(60, 3);
  EXPECT_TRUE(guard.Accept("a", kNow, kNow).ok());
  EXPECT_TRUE(guard.Accept("b", kNow, kNow).ok());
  EXPECT_TRUE(guard.Accept("c", kNow + 5, kNow + 5).ok());
  Status full = guard.Accept("d", kNow + 5, kNow + 5);
  EXPECT_EQ(full.code(), Code::kResourceExhausted);
  EXPECT_EQ(full.message(), "nip98: too many recent auth events");
  EXPECT_EQ(guard.Accept("a", kNow, kNow + 5).message(), "nip98: event already used");
  // Once a and b age out (created_at < now - 120) there is room again.
  EXPECT_TRUE(guard.Accept("d", kNow + 121, kNow + 121).ok());
  EXPECT_TRUE(guard.Accept("e", kNow + 121, kNow + 121).ok());
  EXPECT_EQ(guard.size(), 3u);
}

TEST(Nip98ReplayGuardTest, ExtremeTimesDoNotOverflow) {
  Nip98ReplayGuard guard(60);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  EXPECT_TRUE(guard.Accept("max", kMax, kMax).ok());
  EXPECT_TRUE(guard.Accept("min", kMin, kMin).ok());
  EXPECT_FALSE(guard.Accept("far", kMax, kMin).ok());
  EXPECT_FALSE(guard.Accept("far", kMin, kMax).ok());
  EXPECT_EQ(Why(Verify(Token(Signed(StdTags(), kNow)), kBody, kUrl, "POST", kMin)),
            "nip98: created_at is outside \u00b160 s");
}

TEST(Nip98ReplayGuardTest, ConcurrentReplaysAcceptOnce) {
  Nip98ReplayGuard guard;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        if (guard.Accept("id" + std::to_string(i), kNow, kNow + t % 3).ok()) ++accepted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), 500);
  EXPECT_EQ(guard.size(), 500u);
}

}  // namespace
}  // namespace agent9::identity
