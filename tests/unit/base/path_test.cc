#include "fs/base/path.h"

#include <gtest/gtest.h>

#include <random>

namespace agent9 {
namespace {

TEST(Path, ParsesPlainPaths) {
  auto p = Path::Parse("/agents/alice/status");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[1], "alice");
  EXPECT_EQ(p->ToString(), "/agents/alice/status");
  EXPECT_EQ(p->Parent().ToString(), "/agents/alice");
  EXPECT_EQ(p->Base(), "status");
  EXPECT_TRUE(Path::Parse("/")->empty());
  EXPECT_TRUE(Path::Parse("")->empty());
  EXPECT_EQ(Path::Parse("agents/")->ToString(), "/agents");  // one trailing slash is fine
}

TEST(Path, RejectsHostilePaths) {
  for (const char* bad :
       {"/agents/../x", "/..", "/a/./b", "/a//b", "//", "/a/b//", "/a/..", "./a"}) {
    EXPECT_EQ(Path::Parse(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(Path::Parse(std::string("/a\0b", 4)).ok());
  EXPECT_FALSE(Path::Parse(std::string(5000, 'a')).ok());
  EXPECT_FALSE(Path::Parse("/" + std::string(256, 'a')).ok());
  EXPECT_TRUE(Path::Parse("/" + std::string(255, 'a')).ok());
}

TEST(Path, UrlDecodingRejectsEncodedTricks) {
  EXPECT_EQ(Path::ParseUrl("/agents/a%20b")->Base(), "a b");
  for (const char* bad : {"/agents/%2e%2e/x", "/agents/%2E%2E", "/a%2Fb", "/a%2fb", "/a%00b", "/a%",
                          "/a%4", "/a%zz", "/%2e", "/x/%2e%2e"}) {
    EXPECT_EQ(Path::ParseUrl(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

TEST(Path, RandomBytesNeverCrashAndNeverYieldDotSegments) {
  std::mt19937 rng(42);
  const std::string alphabet = "/.%2eEfF0a\0";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    int len = rng() % 24;
    for (int j = 0; j < len; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    for (bool url : {false, true}) {
      auto p = url ? Path::ParseUrl(s) : Path::Parse(s);
      if (!p.ok()) continue;
      for (const auto& seg : p->segments()) {
        EXPECT_NE(seg, "..");
        EXPECT_NE(seg, ".");
        EXPECT_FALSE(seg.empty());
        EXPECT_EQ(seg.find('/'), std::string::npos);
        EXPECT_EQ(seg.find('\0'), std::string::npos);
      }
    }
  }
}

TEST(AgentId, Grammar) {
  for (const char* ok : {"a", "alice", "0", "a.b_c-d", "abc123"}) {
    EXPECT_TRUE(ValidateAgentId(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateAgentId(std::string(63, 'a')).ok());
  for (const char* bad : {"", "Alice", "-a", ".a", "_a", "a b", "a/b", "..", "a\xc3\xa9"}) {
    EXPECT_FALSE(ValidateAgentId(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateAgentId(std::string(64, 'a')).ok());
}

}  // namespace
}  // namespace agent9
