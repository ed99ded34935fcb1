#include "tick/envelope.h"

#include <gtest/gtest.h>

#include <random>

namespace agent9 {
namespace {

TEST(Envelope, TextBecomesTextBody) {
  auto e = ParseEnvelope("hello world\n", "operator", 0, "gen1");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->body, Json({{"text", "hello world"}}));
  EXPECT_EQ(e->id, "gen1");
  EXPECT_FALSE(e->client_id);
  EXPECT_EQ(e->from, "operator");
  EXPECT_EQ(e->ToJson()["ts"], "1970-01-01T00:00:00.000Z");
}

TEST(Envelope, JsonIsTheBodyAndEnvelopesKeepTheirId) {
  EXPECT_EQ(ParseEnvelope("[1,2]", "http", 0, "g")->body, Json::parse("[1,2]"));
  EXPECT_EQ(ParseEnvelope(R"({"x":1})", "http", 0, "g")->body, Json::parse(R"({"x":1})"));
  auto e = ParseEnvelope(R"({"id":"m-1","body":{"q":2},"from":"spoof","reply_to":"bob"})", "http",
                         5, "g");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->id, "m-1");
  EXPECT_TRUE(e->client_id);
  EXPECT_EQ(e->from, "http");  // the runtime fills from; a sender cannot spoof it
  EXPECT_EQ(e->reply_to, "bob");
  EXPECT_EQ(e->ToJson()["body"]["q"], 2);
}

TEST(Envelope, RejectsHostileInput) {
  EXPECT_EQ(ParseEnvelope("", "o", 0, "g").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(" \n\t", "o", 0, "g").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(std::string(kMaxMessageBytes + 1, 'a'), "o", 0, "g").status().code(),
            Code::kTooLarge);
  EXPECT_EQ(ParseEnvelope(R"({"id":5,"body":1})", "o", 0, "g").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(R"({"id":"","body":1})", "o", 0, "g").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(R"({"id":"a b","body":1})", "o", 0, "g").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(R"({"id":")" + std::string(200, 'x') + R"(","body":1})", "o", 0, "g")
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(R"({"reply_to":7,"body":1})", "o", 0, "g").status().code(),
            Code::kInvalidArgument);
  // Binary garbage is text; serializing it must not throw.
  auto bin = ParseEnvelope(std::string("\xff\xfe\x00zz", 5), "o", 0, "g");
  ASSERT_TRUE(bin.ok());
  EXPECT_NO_THROW(DumpJson(bin->ToJson()));
}

// Found by fuzz/envelope_fuzz.cc: a message nested 100000 deep overflowed the stack when its
// body was copied; a NUL ended the JSON early ("1\0x" was the body 1).
TEST(Envelope, RefusesDeepNestingAndKeepsNulMessagesAsText) {
  auto nest = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  auto deep = ParseEnvelope(R"({"body":)" + nest(100000) + "}", "o", 0, "g");
  EXPECT_EQ(deep.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseEnvelope(nest(kMaxInputJsonDepth + 1), "o", 0, "g").status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(ParseEnvelope(nest(kMaxInputJsonDepth), "o", 0, "g").ok());
  // Unbalanced brackets are not JSON: plain text, however many.
  EXPECT_TRUE(ParseEnvelope(std::string(1000, '['), "o", 0, "g").ok());
  auto nul = ParseEnvelope(std::string("1\0x", 3), "o", 0, "g");
  ASSERT_TRUE(nul.ok());
  EXPECT_EQ(nul->body, Json({{"text", std::string("1\0x", 3)}}));
}

TEST(Envelope, FuzzNeverCrashes) {
  std::mt19937 rng(3);
  const std::string alphabet = "{}[]\":,body id 0a\\\n\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    int len = rng() % 40;
    for (int j = 0; j < len; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    auto e = ParseEnvelope(s, "o", 0, "g");
    if (e.ok()) {
      EXPECT_NO_THROW(DumpJson(e->ToJson()));
    }
  }
}

TEST(Envelope, RandomIdsAreHexAndDistinct) {
  auto a = RandomHexId(), b = RandomHexId();
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace agent9
