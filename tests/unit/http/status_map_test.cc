#include "controlplane/http/status_map.h"

#include <gtest/gtest.h>

#include "controlplane/http/http_util.h"
#include "fs/base/json.h"

namespace agent9 {
namespace {

// Adding a Code must update HttpStatusFor (-Werror=switch) and this table.
static_assert(static_cast<int>(Code::kInternal) == 15,
              "a Code was added: map it in status_map.cc and list it in kExpected below");

TEST(StatusMapTest, EveryCodeHasItsDocumentedHttpStatus) {
  const std::pair<Code, int> kExpected[] = {
      {Code::kOk, 200},
      {Code::kNotFound, 404},
      {Code::kAlreadyExists, 409},
      {Code::kInvalidArgument, 400},
      {Code::kPermissionDenied, 403},
      {Code::kUnauthenticated, 401},
      {Code::kBudgetExceeded, 402},
      {Code::kResourceExhausted, 429},
      {Code::kAborted, 409},
      {Code::kTooLarge, 413},
      {Code::kIsDirectory, 400},
      {Code::kNotDirectory, 400},
      {Code::kUnimplemented, 501},
      {Code::kUnavailable, 503},
      {Code::kDeadlineExceeded, 504},
      {Code::kInternal, 500},
  };
  ASSERT_EQ(std::size(kExpected), static_cast<size_t>(Code::kInternal) + 1);
  for (size_t i = 0; i < std::size(kExpected); ++i) {
    auto [code, http] = kExpected[i];
    EXPECT_EQ(static_cast<size_t>(code), i) << "table out of order";
    EXPECT_EQ(HttpStatusFor(code), http) << CodeName(code);
    if (code != Code::kOk) {
      EXPECT_GE(HttpStatusFor(code), 400) << CodeName(code);
    }
  }
}

TEST(StatusMapTest, ErrorBodyIsTheDocumentedJson) {
  std::string body = ErrorBody(Status::NotFound("no such agent", "bob"));
  ASSERT_EQ(body.back(), '\n');
  auto j = ParseJsonObject(body);
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j, (Json{{"error", "not_found"}, {"message", "no such agent: bob"}}));
  // Odd bytes in a message still give valid JSON.
  auto odd = ParseJsonObject(ErrorBody(Status::InvalidArgument("bad \"x\"\n\xff")));
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ((*odd)["error"], "invalid_argument");
}

TEST(HttpUtilTest, QueryLimitRejectsHostileValues) {
  for (const char* bad : {"limit=0", "limit=1001", "limit=abc", "limit=-1", "limit=1e3",
                          "limit=", "limit=99999999999999999999999", "limit=18446744073709551617",
                          "limit=%31%30%30%30%30", "limit=+5", "limit=5%00"}) {
    auto q = http::Query::Parse(bad);
    ASSERT_TRUE(q.ok()) << bad;
    EXPECT_EQ(q->Limit("limit", 100, 1000).status().code(), Code::kInvalidArgument) << bad;
  }
  auto q = http::Query::Parse("limit=%31%30&after=a%2Db");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->Limit("limit", 100, 1000), 10u);
  EXPECT_EQ(*q->Get("after"), "a-b");
  EXPECT_EQ(*http::Query::Parse("")->Limit("limit", 100, 1000), 100u);
}

TEST(HttpUtilTest, QueryRejectsBadEncodingAndDuplicates) {
  for (const char* bad : {"a=%zz", "a=%4", "a=%", "%g0=1", "limit=1&limit=2"}) {
    EXPECT_EQ(http::Query::Parse(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  auto q = http::Query::Parse("watch=1&x=a+b");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(*q->Flag("watch"));
  EXPECT_EQ(*q->Get("x"), "a b");
  EXPECT_FALSE(q->Flag("watch2").value());
  EXPECT_FALSE(http::Query::Parse("watch=yes")->Flag("watch").ok());
}

TEST(HttpUtilTest, PercentDecodeIsStrict) {
  EXPECT_EQ(*http::PercentDecode("a%20b%2F", false), "a b/");
  EXPECT_EQ(*http::PercentDecode("a+b", false), "a+b");
  EXPECT_FALSE(http::PercentDecode("%2", false).ok());
  EXPECT_FALSE(http::PercentDecode("%x1", false).ok());
}

TEST(HttpUtilTest, SplitTargetKeepsTheRawPath) {
  auto t = http::SplitTarget("/v1/fs/a%2Fb?watch=1?x");
  EXPECT_EQ(t.path, "/v1/fs/a%2Fb");
  EXPECT_EQ(t.query, "watch=1?x");
  EXPECT_EQ(http::SplitTarget("/x").query, "");
}

TEST(HttpUtilTest, HttpDateIsImfFixdate) {
  EXPECT_EQ(http::HttpDate(784111777000), "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace
}  // namespace agent9
