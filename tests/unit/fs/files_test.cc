#include "fs/files/files.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace agent9 {
namespace {

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string ReadChunked(Handle& h, size_t chunk) {
  std::string out;
  std::vector<std::byte> buf(chunk);
  for (;;) {
    auto n = h.Read(out.size(), buf);
    if (!n.ok() || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

TEST(SnapshotFile, ContentIsBuiltOnceAtOpenSoChunkedReadsNeverTear) {
  int calls = 0;
  auto f = std::make_shared<SnapshotFile>(5, "", Access{}, [&]() -> Result<std::string> {
    ++calls;
    return std::string(1000, static_cast<char>('a' + calls % 26));
  });
  auto h = f->Open(OpenFlags{}, Caller::Admin());
  ASSERT_TRUE(h.ok());
  std::string got = ReadChunked(**h, 7);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, std::string(1000, 'b'));
  EXPECT_EQ(f->Open(OpenFlags{false, true}, Caller::Admin()).status().code(),
            Code::kPermissionDenied);
}

std::vector<CtlCommand> Table(std::vector<std::string>* log) {
  auto rec = [log](const Caller&, const std::vector<std::string>& a) {
    std::string s;
    for (const auto& x : a) s += "[" + x + "]";
    log->push_back(s);
    return Status::OK();
  };
  return {CtlCommand{"tick", 0, 1, "tick [reason]", rec},
          CtlCommand{"alarm", 1, 2, "alarm <in_ms> [payload]", rec},
          CtlCommand{"wake", 0, 0, "wake", rec}};
}

TEST(Ctl, ParsesVerbsAndRestOfLine) {
  std::vector<std::string> log;
  auto t = Table(&log);
  auto r = ParseCtl(t, "alarm 500 hello  world\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first->verb, "alarm");
  ASSERT_EQ(r->second.size(), 2u);
  EXPECT_EQ(r->second[1], "hello  world");
  EXPECT_EQ(ParseCtl(t, "tick")->second.size(), 0u);
  EXPECT_EQ(ParseCtl(t, "  wake  \r\n")->first->verb, "wake");
}

// Found by fuzz/ctl_fuzz.cc: a line ending in "\r " gave the last argument "\r".
TEST(Ctl, BlanksAndNewlinesAtTheEndAreNotAnArgument) {
  std::vector<std::string> log;
  auto t = Table(&log);
  auto r = ParseCtl(t, "tick \r \n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->second.empty());
  r = ParseCtl(t, "alarm 5 say hi\r\t\r\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->second.size(), 2u);
  EXPECT_EQ(r->second[1], "say hi");
  EXPECT_EQ(ParseCtl(t, "wake \r ").status().code(), Code::kOk);
}

TEST(Ctl, RejectsBadMessagesWithClearErrors) {
  std::vector<std::string> log;
  auto t = Table(&log);
  EXPECT_EQ(ParseCtl(t, "").status().message(), "empty control message");
  EXPECT_EQ(ParseCtl(t, "\n").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseCtl(t, "explode now").status().message(), "unknown control message: explode");
  EXPECT_EQ(ParseCtl(t, "alarm").status().message(),
            "bad # args to command: usage: alarm <in_ms> [payload]");
  EXPECT_EQ(ParseCtl(t, "wake up").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseCtl(t, "tick\nwake").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseCtl(t, std::string("tick\0x", 6)).status().code(), Code::kInvalidArgument);
}

TEST(Ctl, FuzzNeverCrashes) {
  std::vector<std::string> log;
  auto t = Table(&log);
  std::mt19937 rng(7);
  const std::string alphabet = "tickalrmwe \n\t\r0\0x";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    int len = rng() % 20;
    for (int j = 0; j < len; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    auto r = ParseCtl(t, s);
    if (r.ok()) {
      EXPECT_GE(static_cast<int>(r->second.size()), r->first->min_args);
      EXPECT_LE(static_cast<int>(r->second.size()), r->first->max_args);
    }
  }
}

TEST(CtlFile, OneWriteIsOneCommandAndReadShowsUsage) {
  std::vector<std::string> log;
  auto table = std::make_shared<std::vector<CtlCommand>>(Table(&log));
  CtlFile f(9, "a", Access{Who::kOwner, Who::kOwner}, table);
  auto h = f.Open(OpenFlags{true, true}, Caller::Admin());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*(*h)->Write(0, Bytes("tick because\n")), 13u);
  EXPECT_EQ(log, std::vector<std::string>{"[because]"});
  EXPECT_EQ((*h)->Write(0, Bytes("bogus")).status().code(), Code::kInvalidArgument);
  EXPECT_NE(ReadChunked(**h, 64).find("alarm <in_ms> [payload]"), std::string::npos);
}

TEST(CallFile, RunsOnceAtFirstReadOrAtFlush) {
  int runs = 0;
  auto cache = std::make_shared<CallCache>();
  auto f = std::make_shared<CallFile>(
      11, "a", Access{Who::kOwner, Who::kOwner},
      [&](const Caller&, std::string req) -> Result<std::string> {
        ++runs;
        if (req == "bad") return Status::InvalidArgument("bad request");
        return "re:" + req;
      },
      cache);
  // Same handle: write, then read.
  auto h = f->Open(OpenFlags{true, true}, Caller::Admin());
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE((*h)->Write(0, Bytes("he")).ok());
  ASSERT_TRUE((*h)->Write(2, Bytes("llo")).ok());
  EXPECT_EQ(ReadChunked(**h, 2), "re:hello");
  EXPECT_TRUE((*h)->Flush().ok());
  EXPECT_EQ(runs, 1);
  // Shell case: write + close, then a fresh open reads the cached response.
  auto w = f->Open(OpenFlags{false, true}, Caller::Admin());
  ASSERT_TRUE((*w)->Write(0, Bytes("shell")).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  EXPECT_EQ(runs, 2);
  auto r = f->Open(OpenFlags{}, Caller::Admin());
  EXPECT_EQ(ReadChunked(**r, 100), "re:shell");
  EXPECT_EQ(runs, 2);
  // Another caller has no cached response: an empty request is EINVAL.
  auto other = f->Open(OpenFlags{}, Caller::Agent("a"));
  char buf[8];
  EXPECT_EQ((*other)->Read(0, std::as_writable_bytes(std::span(buf))).status().code(),
            Code::kInvalidArgument);
  // A failing call fails the flush.
  auto bad = f->Open(OpenFlags{false, true}, Caller::Admin());
  ASSERT_TRUE((*bad)->Write(0, Bytes("bad")).ok());
  EXPECT_EQ((*bad)->Flush().code(), Code::kInvalidArgument);
  // A fresh open then fails the same way: it never shows the older answer ("re:shell"), so
  // `echo BAD > f; cat f` reports the failure.
  auto after = f->Open(OpenFlags{}, Caller::Admin());
  EXPECT_EQ((*after)->Read(0, std::as_writable_bytes(std::span(buf))).status().code(),
            Code::kInvalidArgument);
  // And the next good call replaces it.
  auto good = f->Open(OpenFlags{false, true}, Caller::Admin());
  ASSERT_TRUE((*good)->Write(0, Bytes("ok")).ok());
  ASSERT_TRUE((*good)->Flush().ok());
  auto read = f->Open(OpenFlags{}, Caller::Admin());
  EXPECT_EQ(ReadChunked(**read, 100), "re:ok");
}

TEST(Stream, ReadsBlockUntilDataAndCancelWakesThem) {
  auto s = std::make_shared<Stream>(64);
  StreamFile f(3, "a", Access{}, s);
  auto h = f.Open(OpenFlags{}, Caller::Admin());
  ASSERT_TRUE(h.ok());
  std::thread writer([&] { s->Append("line1\n"); });
  char buf[32];
  auto n = (*h)->Read(0, std::as_writable_bytes(std::span(buf)));
  writer.join();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "line1\n");
  std::thread canceller([&] { (*h)->Cancel(); });
  auto c = (*h)->Read(0, std::as_writable_bytes(std::span(buf)));
  canceller.join();
  EXPECT_EQ(c.status().code(), Code::kAborted);
  // The cancel is consumed: the handle reads again.
  s->Append("line2\n");
  auto again = (*h)->Read(0, std::as_writable_bytes(std::span(buf)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(std::string(buf, *again), "line2\n");
}

TEST(Stream, BacklogIsBoundedAndNonBlockingReadsEnd) {
  auto s = std::make_shared<Stream>(10);
  s->Append("0123456789abcdef");
  OpenFlags nb;
  nb.wait_ms = 0;
  StreamFile f(3, "a", Access{}, s);
  auto h = f.Open(nb, Caller::Admin());
  EXPECT_EQ(ReadChunked(**h, 4), "6789abcdef");
  OpenFlags timed;
  timed.wait_ms = 20;
  auto t = f.Open(timed, Caller::Admin());
  EXPECT_EQ(ReadChunked(**t, 64), "6789abcdef");
  char buf[4];
  EXPECT_EQ((*t)->Read(0, std::as_writable_bytes(std::span(buf))).status().code(),
            Code::kDeadlineExceeded);
  s->Close();
  EXPECT_EQ(*(*t)->Read(0, std::as_writable_bytes(std::span(buf))), 0u);
}

}  // namespace
}  // namespace agent9
