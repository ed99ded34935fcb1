#include "fs/base/json_prefix.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace agent9 {
namespace {

using Options = JsonPrefix::Options;

constexpr Options kAny{};
constexpr Options kObject{.object = true};
constexpr Options kLines{.lines = true};

// Feeds text a byte at a time; the offset of the first byte refused, or npos.
size_t FirstRefused(std::string_view text, Options opts) {
  JsonPrefix p(opts);
  for (size_t i = 0; i < text.size(); ++i) {
    if (!p.Feed(text.substr(i, 1))) {
      EXPECT_EQ(p.error_offset(), i);
      return i;
    }
  }
  return std::string_view::npos;
}

bool Parses(std::string_view text, Options opts) {
  if (!opts.lines) {
    auto j = ParseJson(text, "JSON", opts.max_depth);
    return j.ok() && (!opts.object || j->is_object());
  }
  while (!text.empty()) {  // as ValidateJsonLines (tick/agent_docs.cc) reads lines
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (!ParseJson(line, "line", opts.max_depth).ok()) return false;
  }
  return true;
}

// Every prefix of a valid document is accepted, is complete exactly when it parses, and its
// Completion() makes it parse.
void ExpectEveryPrefixGood(std::string_view doc, Options opts) {
  SCOPED_TRACE(std::string(doc));
  ASSERT_TRUE(Parses(doc, opts));
  JsonPrefix p(opts);
  for (size_t n = 0; n <= doc.size(); ++n) {
    if (n > 0) {
      ASSERT_TRUE(p.Feed(doc.substr(n - 1, 1))) << "refused at byte " << n - 1;
    }
    std::string_view prefix = doc.substr(0, n);
    EXPECT_EQ(p.complete(), Parses(prefix, opts)) << "prefix [" << prefix << "]";
    std::string whole = std::string(prefix) + p.Completion();
    EXPECT_TRUE(Parses(whole, opts)) << "completion of [" << prefix << "]: [" << whole << "]";
  }
  EXPECT_TRUE(p.complete());
}

TEST(JsonPrefix, AcceptsEveryPrefixOfValidDocumentsByteByByte) {
  const char* any[] = {
      "{}",
      "[]",
      R"({"a":1})",
      "  {\"nested\":[[[{\"x\":[true,false,null]}]],{}]} \n\t\r ",
      "[0,-0,12,-3.25,1e5,1E+2,2e-7,-0.5e10,1.0e+0,123456789012345678901234567890]",
      "12",
      "-0.5E-10",
      "0",
      "true",
      "null",
      "\"\"",
      R"("esc \" \\ \/ \b \f \n \r \t \u0000 \u00e9 \uFFFF \uD83D\uDE00 \ud800\udc00")",
      "\"caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \x7F\"",
      // The edges of each UTF-8 form: U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF,
      // U+10000, U+10FFFF.
      "[\"\xC2\x80\",\"\xDF\xBF\",\"\xE0\xA0\x80\",\"\xED\x9F\xBF\",\"\xEE\x80\x80\","
      "\"\xEF\xBF\xBF\",\"\xF0\x90\x80\x80\",\"\xF4\x8F\xBF\xBF\"]",
      R"({"description":"ship","priority":2,"status":"active","tags":["a","b"],"n":{}})",
      "[[1,[2,[3]]],{\"k\":{\"k\":{\"k\":[]}}}]",
  };
  for (const char* doc : any) ExpectEveryPrefixGood(doc, kAny);
  for (const char* doc : any) {
    if (doc[0] == '{' || doc[0] == ' ') ExpectEveryPrefixGood(doc, kObject);
  }
  ExpectEveryPrefixGood("{\"role\":\"user\"}\n\n  \n[1,2]\r\n\"x\"\n7\n", kLines);
  ExpectEveryPrefixGood("", kLines);
  ExpectEveryPrefixGood(std::string(512, '[') + std::string(512, ']'), kAny);
  // Numbers near the largest double: a mantissa too large so far may still take a negative
  // exponent.
  for (const std::string& doc : std::vector<std::string>{
           "[1.7976931348623157e308,1e308,-1e308,1e-400,0.0001e310]",
           "1" + std::string(400, '0') + "e-100", "[1" + std::string(400, '0') + ".5E-93]",
           "0." + std::string(400, '0') + "1e400", "1" + std::string(308, '0')}) {
    ExpectEveryPrefixGood(doc, kAny);
  }
}

TEST(JsonPrefix, WriteBoundariesDoNotMatter) {
  // A multi-byte character, an escape and a number cut by a write are all fine.
  std::string doc = "{\"k\":\"\xF0\x9F\x98\x80\\u00e9\\uD83D\\uDE00\",\"n\":-12.5e+3}";
  for (size_t cut = 0; cut <= doc.size(); ++cut) {
    JsonPrefix p(kObject);
    ASSERT_TRUE(p.Feed(doc.substr(0, cut))) << cut;
    ASSERT_TRUE(p.Feed(doc.substr(cut))) << cut;
    EXPECT_TRUE(p.complete());
    EXPECT_EQ(p.fed(), doc.size());
  }
  JsonPrefix n(kAny);  // "12" is whole, and still whole when more digits come
  ASSERT_TRUE(n.Feed("12"));
  EXPECT_TRUE(n.complete());
  ASSERT_TRUE(n.Feed("34"));
  EXPECT_TRUE(n.complete());
  ASSERT_TRUE(n.Feed(" "));
  EXPECT_FALSE(n.Feed("5"));
}

struct Bad {
  std::string text;
  size_t at;  // the byte that makes it impossible
  Options opts = kAny;
};

TEST(JsonPrefix, RefusesAtTheExactByteThatMakesADocumentImpossible) {
  const Bad bad[] = {
      {"{n", 1},
      {"{not json\n", 1},
      {"x", 0},
      {"{}x", 2},
      {"{} x", 3},
      {"{}\n}", 3},
      {"{}}", 2},
      {"[1,]", 3},
      {"[,1]", 1},
      {"{,}", 1},
      {"[1 2]", 3},
      {"{\"a\"1", 4},
      {"{\"a\":}", 5},
      {"{\"a\":1,}", 7},
      {"{\"a\":1 \"b\"", 7},
      {"{1:2}", 1},
      {"[1}", 2},
      {"{\"a\":1]", 6},
      {"]", 0},
      // literals
      {"tru ", 3},
      {"trUe", 2},
      {"nul!", 3},
      {"fals3", 4},
      {"True", 0},
      {"nulll", 4},
      // numbers
      {"01", 1},
      {"-01", 2},
      {"00", 1},
      {"-a", 1},
      {"--1", 1},
      {"+1", 0},
      {".5", 0},
      {"1.x", 2},
      {"1.e5", 2},
      {"1..", 2},
      {"1.5.2", 3},
      {"1ex", 2},
      {"1e+x", 3},
      {"1e+-1", 3},
      {"1e5.0", 3},
      {"1e5e", 3},
      {"12a", 2},
      {"[1-]", 2},
      {"0x10", 1},
      // numbers too large for a double (nlohmann refuses them): impossible at the digit that
      // makes them so, or at the end of a mantissa no negative exponent may follow any more
      {"1e309", 4},
      {"-1e+309", 6},
      {"2e308", 4},
      {"1.7976931348623159e308", 21},
      {"1e3090", 4},
      {"1" + std::string(309, '0') + " ", 310},
      {"[1" + std::string(400, '0') + "]", 402},
      {"1" + std::string(400, '0') + "e+", 402},
      {"1" + std::string(400, '0') + "e0", 402},
      {"1" + std::string(400, '0') + ".5e1", 404},
      {"1" + std::string(400, '0') + "\n", 401, kLines},
      // strings
      {"\"a\x01", 2},
      {"\"a\n", 2},
      {"\"a\t\"", 2},
      {"\"\\x", 2},
      {"\"\\U0041", 2},
      {"\"\\u12g", 5},
      {"\"\\uDC00\"", 4},  // a low surrogate alone
      {"\"\\uDfff\"", 4},
      {"\"\\uD800x", 7},  // a high surrogate alone
      {"\"\\uD800\"", 7},
      {"\"\\uD800\\n", 8},
      {"\"\\uD800\\u0041", 9},
      {"\"\\uD800\\uD800", 10},
      {"\"\\uDBFF\\uE000", 9},
      {"{\"\\uDC00\":1}", 5},
      // UTF-8
      {"\"\xC3(", 2},
      {"\"\xC3\"", 2},
      {"\"\xC0\x80", 1},  // overlong
      {"\"\xC1", 1},
      {"\"\x80", 1},
      {"\"\xF5", 1},
      {"\"\xFF", 1},
      {"\"\xE0\x80", 2},  // overlong
      {"\"\xE0\x9F", 2},
      {"\"\xED\xA0\x80", 2},  // an encoded surrogate
      {"\"\xF0\x80", 2},
      {"\"\xF0\x8F", 2},
      {"\"\xF4\x90", 2},  // past U+10FFFF
      {"\"\xE2\x82(", 3},
      {"\"\xF0\x9F\x98\"", 4},
      {"\xC3\xA9", 0},
      {"[\xC3\xA9]", 1},
      // what ParseJson refuses beyond the grammar
      {"\xEF\xBB\xBF{}", 0},
      {" \xEF\xBB\xBF{}", 1},
      {std::string("{\0}", 3), 1},
      {std::string("\"a\0\"", 4), 2},
      {std::string("1\0", 2), 1},
      {std::string("{}\0", 3), 2},
      {std::string(513, '['), 512},
      {"[[[", 2, Options{.max_depth = 2}},
      // documents that must be objects
      {"[1]", 0, kObject},
      {"  1", 2, kObject},
      {"\"s\"", 0, kObject},
      {"null", 0, kObject},
      {"{}{}", 2, kObject},
      // JSON Lines: a line ends the document it holds
      {"{\"a\":\n", 5, kLines},
      {"[1,\n2]", 3, kLines},
      {"\"a\nb\"", 2, kLines},
      {"1\n2\n{}x", 6, kLines},
      {"1 2", 2, kLines},
      {"{}\n\n{n", 5, kLines},
      {"tru\n", 3, kLines},
      {"1.\n", 2, kLines},
  };
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.text);
    EXPECT_EQ(FirstRefused(b.text, b.opts), b.at);
    // ...and whole, the same.
    JsonPrefix p(b.opts);
    EXPECT_FALSE(p.Feed(b.text));
    EXPECT_EQ(p.error_offset(), b.at);
    EXPECT_FALSE(p.complete());
    EXPECT_FALSE(Parses(b.text, b.opts));
  }
}

TEST(JsonPrefix, CompleteOnlyWhenWhole) {
  struct Case {
    std::string text;
    bool complete;
    Options opts = kAny;
  };
  const Case cases[] = {
      {"", false},
      {"  \n", false},
      {"{", false},
      {"{}", true},
      {"{}\n", true},
      {"tru", false},
      {"nul", false},
      {"fals", false},
      {"-", false},
      {"1.", false},
      {"1e", false},
      {"1e+", false},
      {"1e+5", true},
      {"0", true},
      {"-0", true},
      {"\"\\", false},
      {"\"\\u12", false},
      {"\"a\"", true},
      {"[1", false},
      {"", true, kLines},
      {"{}\n{", false, kLines},
      {"{}\n  ", true, kLines},
      {"1\n2", true, kLines},
  };
  for (const Case& c : cases) {
    JsonPrefix p(c.opts);
    ASSERT_TRUE(p.Feed(c.text)) << c.text;
    EXPECT_EQ(p.complete(), c.complete) << c.text;
    EXPECT_EQ(p.complete(), Parses(c.text, c.opts)) << c.text;
  }
}

TEST(JsonPrefix, MessagesAreTheParsers) {
  JsonPrefix p(kObject);
  std::string text = "{not json\n";
  ASSERT_FALSE(p.Feed(text));
  EXPECT_EQ(p.ErrorMessage(text),
            "syntax error while parsing object key - invalid literal; last read: '{n'; "
            "expected string literal");
  EXPECT_EQ(p.ErrorMessage(text, /*excerpt=*/false),
            "syntax error while parsing object key - invalid literal; expected string literal");

  JsonPrefix q(kAny);
  ASSERT_FALSE(q.Feed("[1,]"));
  EXPECT_EQ(q.ErrorMessage("[1,]"),
            "syntax error while parsing value - unexpected ']'; expected '[', '{', or a literal");
  JsonPrefix t(kAny);
  ASSERT_FALSE(t.Feed("{} x"));
  EXPECT_NE(t.ErrorMessage("{} x").find("expected end of input"), std::string::npos);
  JsonPrefix s(kAny);
  ASSERT_FALSE(s.Feed("\"secret\x01"));
  EXPECT_NE(s.ErrorMessage("\"secret\x01").find("control character U+0001"), std::string::npos);
  EXPECT_EQ(s.ErrorMessage("\"secret\x01", false).find("secret"), std::string::npos);

  JsonPrefix inc(kObject);
  ASSERT_TRUE(inc.Feed("{\"a\":"));
  EXPECT_EQ(inc.IncompleteMessage("{\"a\":"),
            "incomplete document: syntax error while parsing value - unexpected end of input; "
            "expected '[', '{', or a literal");
  JsonPrefix str(kAny);
  ASSERT_TRUE(str.Feed("\"sk-12"));
  EXPECT_EQ(str.IncompleteMessage("\"sk-12", false),
            "incomplete document: syntax error while parsing value - invalid string: missing "
            "closing quote");
  EXPECT_EQ(JsonPrefix(kObject).IncompleteMessage(""), "empty document");

  JsonPrefix lines(kLines);
  std::string jl = "{\"a\":1}\n{\"b\" 2}\n";
  ASSERT_FALSE(lines.Feed(jl));
  EXPECT_EQ(lines.ErrorMessage(jl),
            "line 2: syntax error while parsing object separator - unexpected number literal; "
            "expected ':'");
  JsonPrefix nul(kAny);
  ASSERT_FALSE(nul.Feed(std::string("{\0", 2)));
  EXPECT_NE(nul.ErrorMessage(std::string("{\0", 2)).find("NUL"), std::string::npos);
  JsonPrefix bom(kObject);
  ASSERT_FALSE(bom.Feed("\xEF\xBB\xBF{}"));
  EXPECT_NE(bom.ErrorMessage("\xEF\xBB\xBF{}").find("byte order mark"), std::string::npos);
  JsonPrefix arr(kObject);
  ASSERT_FALSE(arr.Feed("[1]"));
  EXPECT_EQ(arr.ErrorMessage("[1]"), "must be a JSON object");
  JsonPrefix low(kAny);
  ASSERT_FALSE(low.Feed("\"\\uDC00"));
  EXPECT_EQ(low.ErrorMessage("\"\\uDC00"),
            "invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF");
}

// Random documents (dumped by nlohmann, then re-spaced) are accepted at every prefix, and
// random byte strings are refused exactly when no completion exists: a text never refused
// must parse once completed, and a text refused must not parse.
TEST(JsonPrefix, RandomDocumentsAndBytes) {
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::function<Json(int)> gen = [&](int depth) -> Json {
    switch (pick(depth > 3 ? 5 : 7)) {
      case 0:
        return nullptr;
      case 1:
        return pick(2) == 0;
      case 2:
        return static_cast<int64_t>(rng()) - (1LL << 31);
      case 3:
        return std::ldexp(static_cast<double>(rng()), static_cast<int>(pick(80)) - 40);
      case 4: {
        const char* pieces[] = {"a", "\"", "\\", "\n", "\xC3\xA9", "\xF0\x9F\x98\x80", "\x01", "/"};
        std::string s;
        for (size_t i = pick(6); i > 0; --i) s += pieces[pick(8)];
        return s;
      }
      case 5: {
        Json a = Json::array();
        for (size_t i = pick(4); i > 0; --i) a.push_back(gen(depth + 1));
        return a;
      }
      default: {
        Json o = Json::object();
        for (size_t i = pick(4); i > 0; --i) o["k" + std::to_string(pick(9))] = gen(depth + 1);
        return o;
      }
    }
  };
  for (int i = 0; i < 300; ++i) {
    Json j = gen(0);
    ExpectEveryPrefixGood(pick(2) ? j.dump() : j.dump(pick(3), ' ', pick(2) == 0), kAny);
  }
  const char alphabet[] = "{}[],:\"\\u0123456789eE.+-tfnrlsaDCdc \n\xC3\xA9\xF0\x80";
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    for (size_t n = pick(12); n > 0; --n) text += alphabet[pick(sizeof alphabet - 1)];
    for (Options opts : {kAny, kObject, kLines}) {
      JsonPrefix p(opts);
      if (p.Feed(text)) {
        EXPECT_TRUE(Parses(text + p.Completion(), opts)) << text << " + " << p.Completion();
        EXPECT_EQ(p.complete(), Parses(text, opts)) << text;
      } else {
        EXPECT_FALSE(Parses(text, opts)) << text;
        EXPECT_LT(p.error_offset(), text.size());
      }
    }
  }
}

}  // namespace
}  // namespace agent9
