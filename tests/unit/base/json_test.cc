#include "fs/base/json.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

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

// The digits Rfc3339 writes itself agree with gmtime_r + snprintf over the whole range of
// four-digit years, at day, month, leap-year and century edges and at random instants.
TEST(Json, Rfc3339AgreesWithGmtime) {
  auto reference = [](int64_t ms) {
    int64_t secs = ms / 1000;
    int millis = static_cast<int>(ms % 1000);
    if (millis < 0) {
      millis += 1000;
      --secs;
    }
    time_t t = static_cast<time_t>(secs);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return std::string(buf);
  };
  std::vector<int64_t> cases = {0,
                                -1,
                                1,
                                999,
                                -999,
                                -1000,
                                -1001,
                                86'399'999,
                                86'400'000,
                                951'782'400'000,       // 2000-02-29
                                4'107'542'400'000,     // 2100-03-01 (2100 is not a leap year)
                                -62'135'596'800'000,   // 0001-01-01
                                -62'167'219'200'000,   // 0000-01-01
                                253'402'300'799'999,   // 9999-12-31T23:59:59.999
                                253'402'300'800'000,   // 10000: the general path
                                -62'167'219'200'001};  // before year 0: the general path
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> any(-62'167'219'200'000, 253'402'300'799'999);
  for (int i = 0; i < 200'000; ++i) cases.push_back(any(rng));
  for (int64_t ms : cases) ASSERT_EQ(Rfc3339(ms), reference(ms)) << ms;
}

}  // namespace
}  // namespace agent9
