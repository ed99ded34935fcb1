#include "compute/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace agent9::compute {
namespace {

std::vector<SseEvent> ParseAll(std::string_view text) {
  SseParser p;
  std::vector<SseEvent> out;
  EXPECT_TRUE(p.Feed(text, &out).ok());
  return out;
}

TEST(SseParser, BasicEventsAndFields) {
  auto ev = ParseAll("event: message_start\ndata: {\"a\":1}\nid: 7\n\ndata: [DONE]\n\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].event, "message_start");
  EXPECT_EQ(ev[0].data, "{\"a\":1}");
  EXPECT_EQ(ev[0].id, "7");
  EXPECT_EQ(ev[1].event, "");
  EXPECT_EQ(ev[1].data, "[DONE]");
}

TEST(SseParser, MultiLineDataCommentsAndNoSpace) {
  auto ev = ParseAll(": keep-alive\n\ndata:first\ndata:  second\n: mid comment\ndata\n\n");
  ASSERT_EQ(ev.size(), 1u);
  // One leading space is stripped; "data" without a colon is an empty data line.
  EXPECT_EQ(ev[0].data, "first\n second\n");
}

TEST(SseParser, LineEndingsCrLfAndCr) {
  auto crlf = ParseAll("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n");
  ASSERT_EQ(crlf.size(), 2u);
  EXPECT_EQ(crlf[0].data, "a\nb");
  EXPECT_EQ(crlf[1].data, "c");
  auto cr = ParseAll("data: x\r\rdata: y\r\r");
  ASSERT_EQ(cr.size(), 2u);
  EXPECT_EQ(cr[0].data, "x");
  EXPECT_EQ(cr[1].data, "y");
}

TEST(SseParser, EverySplitPointGivesTheSameEvents) {
  const std::string text =
      "\xEF\xBB\xBF: hello\r\nevent: delta\r\ndata: {\"t\":\"h\xC3\xA9\"}\r\n\r\n"
      "data: line1\rdata: line2\r\rdata: z\n\ndata: [DONE]\r\n\r\n";
  auto whole = ParseAll(text);
  ASSERT_EQ(whole.size(), 4u);
  EXPECT_EQ(whole[0].event, "delta");
  EXPECT_EQ(whole[1].data, "line1\nline2");
  for (size_t i = 0; i <= text.size(); ++i) {
    for (size_t j = i; j <= text.size(); j += 7) {
      SseParser p;
      std::vector<SseEvent> out;
      ASSERT_TRUE(p.Feed(std::string_view(text).substr(0, i), &out).ok());
      ASSERT_TRUE(p.Feed(std::string_view(text).substr(i, j - i), &out).ok());
      ASSERT_TRUE(p.Feed(std::string_view(text).substr(j), &out).ok());
      ASSERT_EQ(out.size(), whole.size()) << "split at " << i << "," << j;
      for (size_t k = 0; k < out.size(); ++k) {
        EXPECT_EQ(out[k].data, whole[k].data) << "split at " << i << "," << j;
        EXPECT_EQ(out[k].event, whole[k].event);
      }
    }
  }
}

TEST(SseParser, ByteByByte) {
  const std::string text = "data: a\r\n\r\ndata: b\n\n";
  SseParser p;
  std::vector<SseEvent> out;
  for (char c : text) ASSERT_TRUE(p.Feed(std::string_view(&c, 1), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "a");
  EXPECT_EQ(out[1].data, "b");
  EXPECT_FALSE(p.HasPartial());
}

TEST(SseParser, CrLfSplitAcrossChunksIsOneLineEnd) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed("data: a\r", &out).ok());
  ASSERT_TRUE(p.Feed("\ndata: b\r", &out).ok());
  ASSERT_TRUE(p.Feed("\n\r", &out).ok());
  ASSERT_TRUE(p.Feed("\n", &out).ok());
  // A "\n" taken as a second line end would have dispatched "a" alone.
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
}

TEST(SseParser, BomOnlyAtStart) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed("\xEF", &out).ok());
  ASSERT_TRUE(p.Feed("\xBB", &out).ok());
  ASSERT_TRUE(p.Feed("\xBF"
                     "data: x\n\n",
                     &out)
                  .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "x");
  // Not a BOM: the bytes are kept (as the start of a field name, ignored here).
  auto ev = ParseAll(
      "\xEF"
      "data: y\n\ndata: z\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "z");
}

TEST(SseParser, PartialEventIsReportedAndNotDispatched) {
  SseParser p;
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed("data: {\"cut\":", &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(p.HasPartial());
}

TEST(SseParser, OversizedEventFailsAndStaysFailed) {
  SseParser p(1024);
  std::vector<SseEvent> out;
  std::string line = "data: " + std::string(600, 'x') + "\n";
  ASSERT_TRUE(p.Feed(line, &out).ok());
  Status s = p.Feed(line, &out);  // two lines of one event: over 1024
  EXPECT_EQ(s.code(), Code::kTooLarge);
  EXPECT_EQ(p.Feed("\n", &out).code(), Code::kTooLarge);
  EXPECT_TRUE(out.empty());
  // One line without an end grows past the limit too.
  SseParser q(1024);
  EXPECT_EQ(q.Feed(std::string(2000, 'd'), &out).code(), Code::kTooLarge);
}

TEST(SseParser, HostileInputDoesNotCrash) {
  std::string junk;
  for (int i = 0; i < 20000; ++i) junk.push_back(static_cast<char>((i * 131 + 7) % 256));
  junk += std::string("\0\0data:\0\n\n", 11);
  SseParser p;
  std::vector<SseEvent> out;
  for (size_t i = 0; i < junk.size(); i += 97) {
    Status s = p.Feed(std::string_view(junk).substr(i, 97), &out);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Many empty lines and comments produce nothing.
  auto ev = ParseAll(std::string(10000, '\n') + std::string(5000, ':') + "\n\n");
  EXPECT_TRUE(ev.empty());
}

TEST(SseParser, CallbackCanStop) {
  SseParser p;
  int seen = 0;
  Status s = p.Feed("data: 1\n\ndata: 2\n\ndata: 3\n\n", [&seen](const SseEvent&) {
    ++seen;
    return seen < 2;
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(seen, 2);
}

}  // namespace
}  // namespace agent9::compute
