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

TEST(Json, DumpSurvivesInvalidUtf8) {
  Json j{{"text", std::string("a\xff\xfe")}};
  EXPECT_NO_THROW(DumpJson(j));
  EXPECT_EQ(PrettyJson(Json{{"a", 1}}).back(), '\n');
}

TEST(Json, CouldBeginObject) {
  EXPECT_TRUE(CouldBeginObject(""));
  EXPECT_TRUE(CouldBeginObject("  \n{"));
  EXPECT_FALSE(CouldBeginObject("hello"));
  EXPECT_FALSE(CouldBeginObject(" [1]"));
}

TEST(Clock, Rfc3339) {
  EXPECT_EQ(Rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339(1700000000123), "2023-11-14T22:13:20.123Z");
}

}  // namespace
}  // namespace agent9
