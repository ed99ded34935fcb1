#include "fs/files/doc_check.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "fs/files/files.h"

namespace agent9 {
namespace {

std::span<const std::byte> Bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

// A document file over one string, with a JSON check; counts commits.
struct Doc {
  explicit Doc(JsonDocRules rules, std::string initial = "") : content(std::move(initial)) {
    DocOps ops;
    ops.load = [this]() -> Result<std::string> { return content; };
    ops.commit = [this](std::string text) -> Status {
      ++commits;
      content = std::move(text);
      return Status::OK();
    };
    ops.append = [this](std::string text) -> Status {
      ++commits;
      content += text;
      return Status::OK();
    };
    ops.new_check = JsonDocChecks(std::move(rules));
    file = std::make_shared<DocFile>(1, "", Access{}, std::move(ops));
  }
  std::unique_ptr<Handle> Open(bool truncate = true, bool append = false) {
    OpenFlags f;
    f.write = true;
    f.truncate = truncate;
    f.append = append;
    return std::move(file->Open(f, Caller::Admin())).value();
  }
  std::string content;
  int commits = 0;
  std::shared_ptr<DocFile> file;
};

JsonDocRules Goal() {
  JsonDocRules r;
  r.what = "goals/g.json";
  r.syntax.object = true;
  r.validate = [](const Json& j) {
    return j.contains("description") ? Status::OK()
                                     : Status::InvalidArgument("goal: description is required");
  };
  return r;
}

TEST(DocCheck, ManySmallWritesOfAValidDocumentAreAccepted) {
  Doc d(Goal());
  auto h = d.Open();
  std::string text = "{\"description\":\"caf\xC3\xA9 \\u00e9\",\"n\":[1.5e3,-0,true]}\n";
  for (size_t i = 0; i < text.size(); ++i) {
    ASSERT_TRUE(h->Write(i, Bytes(text.substr(i, 1))).ok()) << i;
  }
  EXPECT_TRUE(h->Flush().ok());
  EXPECT_EQ(d.content, text);
  EXPECT_EQ(d.commits, 1);
}

TEST(DocCheck, TheWriteThatMakesItImpossibleFailsAndNothingIsStored) {
  Doc d(Goal(), "{\"description\":\"old\"}");
  auto h = d.Open();
  ASSERT_TRUE(h->Write(0, Bytes("{")).ok());
  Result<size_t> w = h->Write(1, Bytes("not json\n"));
  ASSERT_EQ(w.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(w.status().message(),
            "goals/g.json: syntax error while parsing object key - invalid literal; last read: "
            "'{n'; expected string literal");
  EXPECT_TRUE(h->Flush().ok());  // the failed write already said it; nothing is committed
  EXPECT_EQ(d.commits, 0);
  EXPECT_EQ(d.content, "{\"description\":\"old\"}");
}

TEST(DocCheck, AWholeDocumentIsJudgedAtTheWriteThatCompletesIt) {
  Doc d(Goal());
  auto h = d.Open();
  ASSERT_TRUE(h->Write(0, Bytes("{\"priority\":1")).ok());
  EXPECT_EQ(h->Write(13, Bytes("}")).status().message(), "goal: description is required");
  Doc trailing(Goal());
  auto t = trailing.Open();
  ASSERT_TRUE(t->Write(0, Bytes("{\"description\":\"x\"}\n  ")).ok());
  EXPECT_EQ(t->Write(22, Bytes("x")).status().code(), Code::kInvalidArgument);
}

TEST(DocCheck, AnIncompleteDocumentFailsTheClose) {
  Doc d(Goal(), "{\"description\":\"old\"}");
  auto h = d.Open();
  ASSERT_TRUE(h->Write(0, Bytes("{\"a\":")).ok());
  Status st = h->Flush();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "goals/g.json: incomplete document: syntax error while parsing value - unexpected end "
            "of input; expected '[', '{', or a literal");
  EXPECT_EQ(d.commits, 0);
  EXPECT_EQ(d.content, "{\"description\":\"old\"}");
}

TEST(DocCheck, SecretsStayOutOfMessages) {
  JsonDocRules r;
  r.what = "config";
  r.syntax.object = true;
  r.excerpt = false;
  Doc d(r);
  auto h = d.Open();
  Status st = h->Write(0, Bytes("{\"env\":{\"TOKEN\":\"sk-live-123\x01")).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().find("sk-live"), std::string::npos) << st.message();
  Doc e(r);
  auto g = e.Open();
  ASSERT_TRUE(g->Write(0, Bytes("{\"env\":{\"TOKEN\":\"sk-live-123")).ok());
  st = g->Flush();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().find("sk-live"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("missing closing quote"), std::string::npos) << st.message();
}

TEST(DocCheck, RewritingEarlierBytesIsJudgedAgain) {
  Doc d(Goal());
  auto h = d.Open();
  ASSERT_TRUE(h->Write(0, Bytes("{\"description\":\"aaaa\"}")).ok());
  ASSERT_TRUE(h->Write(17, Bytes("bb")).ok());  // inside the string: still fine
  EXPECT_EQ(h->Write(0, Bytes("[")).status().code(), Code::kInvalidArgument);
  // A write that mends the refused bytes makes the document good again.
  ASSERT_TRUE(h->Write(0, Bytes("{")).ok());
  EXPECT_TRUE(h->Flush().ok());
  EXPECT_EQ(d.content, "{\"description\":\"abba\"}");
  // A write past the end leaves a hole of NUL bytes: never a document.
  Doc hole(Goal());
  auto g = hole.Open();
  ASSERT_TRUE(g->Write(0, Bytes("{")).ok());
  EXPECT_EQ(g->Write(5, Bytes("}")).status().code(), Code::kInvalidArgument);
}

TEST(DocCheck, WithoutTruncationOnlyWhatWasWrittenIsJudgedUntilClose) {
  // A document rewritten in place, in order: the old bytes past the written ones do not
  // make the writes fail, only the close when they are still there.
  Doc d(Goal(), "{\"description\":\"a long old description\"}");
  auto h = d.Open(/*truncate=*/false);
  ASSERT_TRUE(h->Write(0, Bytes("[")).status().code() == Code::kInvalidArgument);
  auto g = d.Open(false);
  ASSERT_TRUE(g->Write(0, Bytes("{\"description\":\"new\"}")).ok());
  EXPECT_EQ(g->Flush().code(), Code::kInvalidArgument);  // ...ion\"}" of the old one follows
  EXPECT_EQ(d.commits, 0);
  auto k = d.Open(false);
  std::string same = "{\"description\":\"a long new description\"}";
  for (size_t i = 0; i < same.size(); i += 5)
    ASSERT_TRUE(k->Write(i, Bytes(same.substr(i, 5))).ok());
  EXPECT_TRUE(k->Flush().ok());
  EXPECT_EQ(d.content, same);
}

TEST(DocCheck, JsonLinesAreJudgedLineByLine) {
  JsonDocRules r;
  r.what = "memory/conversations/c.jsonl";
  r.syntax.lines = true;
  Doc d(r);
  auto h = d.Open(false, /*append=*/true);
  ASSERT_TRUE(h->Write(0, Bytes("{\"role\":\"user\"}\n{\"ro")).ok());
  ASSERT_TRUE(h->Write(0, Bytes("le\":\"agent\"}\n")).ok());
  EXPECT_TRUE(h->Flush().ok());
  EXPECT_EQ(d.content, "{\"role\":\"user\"}\n{\"role\":\"agent\"}\n");
  Status bad = h->Write(0, Bytes("{}\n{\"a\"\n")).status();
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.message(),
            "memory/conversations/c.jsonl: line 2: syntax error while parsing object separator - "
            "unexpected end of input; expected ':'");
  auto g = d.Open(false, true);
  ASSERT_TRUE(g->Write(0, Bytes("[1,")).ok());
  EXPECT_NE(g->Flush().message().find("line 1: incomplete document"), std::string::npos);
  EXPECT_EQ(d.commits, 1);
}

TEST(DocCheck, SizeLimit) {
  JsonDocRules r = Goal();
  r.max_bytes = 64 * 1024;
  r.what = "config";
  Doc d(r);
  auto h = d.Open();
  std::string big = "{\"description\":\"" + std::string(64 * 1024, 'x');
  Status st = h->Write(0, Bytes(big)).status();
  EXPECT_EQ(st.code(), Code::kTooLarge);
  EXPECT_EQ(st.message(), "config over 64 KiB");
}

TEST(DocCheck, WholeDocCheckJudgesEverythingAtEveryWrite) {
  std::vector<std::string> seen;
  auto check = WholeDocCheck([&](std::string_view doc) {
    seen.emplace_back(doc);
    return doc.find('!') == std::string_view::npos ? Status::OK()
                                                   : Status::InvalidArgument("no '!'");
  });
  EXPECT_TRUE(check->Check("ab", 0).ok());
  EXPECT_FALSE(check->Finish("ab!", 2).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"ab", "ab!"}));
}

// The cost of the check for a 1 MiB document written in 4 KiB writes (what `cp` and most
// programs do): linear, since the parser keeps its state between writes. Printed for the
// record; the bound only catches a return to re-reading the whole document at every write.
TEST(DocCheck, OneMiBInFourKiBWritesCostsOneParse) {
  std::string doc = "{\"items\":[";
  for (int i = 0; doc.size() < (1 << 20) - 64; ++i) {
    doc += "{\"id\":" + std::to_string(i) + ",\"text\":\"caf\xC3\xA9 \\u00e9 x\",\"v\":1.5e3},";
  }
  doc += "{}]}";
  JsonDocRules r;
  r.what = "goals/big.json";
  r.syntax.object = true;
  r.validate = [](const Json&) { return Status::OK(); };
  auto rules = std::make_shared<const JsonDocRules>(r);
  auto time = [&](size_t chunk) {
    auto check = JsonDocCheck(rules);
    auto start = std::chrono::steady_clock::now();
    for (size_t end = 0; end < doc.size();) {
      size_t kept = end;
      end = std::min(doc.size(), end + chunk);
      EXPECT_TRUE(check->Check(std::string_view(doc).substr(0, end), kept).ok());
    }
    EXPECT_TRUE(check->Finish(doc, doc.size()).ok());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  double whole = time(doc.size());
  double chunked = time(4096);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ParseJson(doc).ok());
  double parse =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("1 MiB document: one write %.1f ms, 256 writes of 4 KiB %.1f ms, ParseJson %.1f ms\n",
              whole, chunked, parse);
  EXPECT_LT(chunked, whole * 4 + 50);
}

}  // namespace
}  // namespace agent9
