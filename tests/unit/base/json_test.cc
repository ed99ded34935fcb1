#include "fs/base/json.h"

#include <gtest/gtest.h>

#include "fs/base/clock.h"

namespace agent9 {
namespace {

TEST(Json, ParsesAndRejects) {
  EXPECT_TRUE(ParseJson("[1,2]").ok());
  EXPECT_EQ(ParseJson("{").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseJsonObject("[1]").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ParseJsonObject(" {\"a\":1} ").ok());
  EXPECT_FALSE(ParseJson(std::string(100000, '[')).ok());
}

// Found by fuzz/json_fuzz.cc and fuzz/envelope_fuzz.cc: copying or printing a deeply nested
// document recursed once per level, so a 256 KiB message of '[' overflowed the stack.
TEST(Json, RefusesDocumentsNestedTooDeep) {
  auto nest = [](size_t n) { return std::string(n, '[') + std::string(n, ']'); };
  EXPECT_TRUE(ParseJson(nest(kMaxJsonDepth)).ok());
  auto deep = ParseJson(nest(kMaxJsonDepth + 1), "goal");
  EXPECT_EQ(deep.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(deep.status().message(), "goal is nested deeper than 512 levels");
  EXPECT_FALSE(ParseJson(nest(100000)).ok());
  EXPECT_FALSE(ParseJson(nest(20), "x", 10).ok());
  EXPECT_EQ(JsonDepth(R"({"a":[1,{"b":"[[[{{{"]"}]})"), 3u);  // brackets in strings do not count
  EXPECT_EQ(JsonDepth("17"), 0u);
}

// Found by fuzz/json_fuzz.cc: nlohmann stops at a NUL ("{}\0junk" parsed as {}) and skips a
// leading BOM that other parsers (and the early check at write(), JsonPrefix) refuse.
TEST(Json, RefusesNulAndByteOrderMark) {
  EXPECT_FALSE(ParseJson(std::string("{\"a\":1}\0junk", 12)).ok());
  EXPECT_FALSE(ParseJson(std::string("33E2\0\0{", 7)).ok());
  EXPECT_FALSE(ParseJsonObject("\xEF\xBB\xBF{\"a\":1}").ok());
  EXPECT_TRUE(ParseJson(R"("\u0000 is fine escaped")").ok());
}

TEST(Json, DumpSurvivesInvalidUtf8) {
  Json j{{"text", std::string("a\xff\xfe")}};
  EXPECT_NO_THROW(DumpJson(j));
  EXPECT_EQ(PrettyJson(Json{{"a", 1}}).back(), '\n');
}

TEST(Clock, Rfc3339) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339(1700000000123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace agent9
