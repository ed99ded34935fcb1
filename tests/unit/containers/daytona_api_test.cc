// The Daytona provider's pure helpers: workdir paths, shell quoting, the command line sent to
// the toolbox, multipart bodies and modTime parsing.
#include "containers/daytona_api.h"

#include <gtest/gtest.h>

namespace agent9::containers {
namespace {

TEST(DaytonaApi, WorkPath) {
  EXPECT_EQ(*WorkPath("/work", ""), "/work");
  EXPECT_EQ(*WorkPath("/work", "."), "/work");
  EXPECT_EQ(*WorkPath("/work/", "a//b/./c"), "/work/a/b/c");
  EXPECT_EQ(*WorkPath("/", "x"), "/x");
  for (const char* bad : {"..", "../a", "a/../..", "a/..", "/abs", "/"}) {
    auto r = WorkPath("/work", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << bad;
    EXPECT_EQ(r.status().message(), "path escapes the workdir");
  }
  EXPECT_EQ(WorkPath("/work", std::string("a\0b", 3)).status().code(), Code::kInvalidArgument);
}

TEST(DaytonaApi, ShellQuoteAndCommand) {
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  auto cmd = ShellCommand({{"A", "x y"}}, "echo $A");
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(*cmd, "/bin/sh -c 'export A='\\''x y'\\''\necho $A'");
  EXPECT_EQ(ShellCommand({{"1A", "x"}}, "true").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ShellCommand({{"A-B", "x"}}, "true").status().code(), Code::kInvalidArgument);
}

TEST(DaytonaApi, UrlEncode) {
  EXPECT_EQ(UrlEncode("/work/a b&c=d"), "/work/a%20b%26c%3Dd");
  EXPECT_EQ(UrlEncode("{\"k\":\"v\"}"), "%7B%22k%22%3A%22v%22%7D");
}

TEST(DaytonaApi, Multipart) {
  std::string type;
  std::string body = MultipartFile("f\"x.txt", "DATA", &type);
  ASSERT_EQ(type.rfind("multipart/form-data; boundary=", 0), 0u);
  std::string boundary = type.substr(type.find('=') + 1);
  EXPECT_EQ(body.rfind("--" + boundary + "\r\n", 0), 0u);
  EXPECT_NE(body.find("name=\"file\"; filename=\"f_x.txt\""), std::string::npos);
  EXPECT_NE(body.find("\r\n\r\nDATA\r\n--" + boundary + "--\r\n"), std::string::npos);
}

TEST(DaytonaApi, ParseModTime) {
  EXPECT_EQ(ParseModTime("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseModTime("2024-01-02 03:04:05.123 +0000 UTC"), 1704164645000);
  EXPECT_EQ(ParseModTime("yesterday"), 0);
}

}  // namespace
}  // namespace agent9::containers
