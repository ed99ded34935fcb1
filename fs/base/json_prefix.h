// JsonPrefix: reads JSON text as it arrives, a byte at a time, and tells at every byte whether
// some continuation could still make it a document ParseJson accepts. A validated file's
// write() uses it to fail at the first byte no completion can fix (`{n`, `[1,]`, `{} x`),
// keeping its state between writes, so a document written in many small writes costs O(n).
// Exact: it accepts a prefix iff some continuation of it parses (nlohmann's grammar, strict
// UTF-8 and surrogate pairs, plus ParseJson's own refusals: NUL bytes, a leading BOM, nesting
// deeper than max_depth). Thread-safety: a value type; one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/json.h"

namespace agent9 {

class JsonPrefix {
 public:
  struct Options {
    bool object = false;  // the document must be a JSON object
    bool lines = false;   // JSON Lines: each '\n'-ended line one document, or blank (" \t\r")
    size_t max_depth = kMaxJsonDepth;
  };

  JsonPrefix() : JsonPrefix(Options{}) {}
  explicit JsonPrefix(Options opts) : opts_(opts) {}

  // Reads more text. Returns false from the first byte no continuation can accept; that
  // byte's offset is error_offset() and later calls read nothing more.
  bool Feed(std::string_view text);
  bool failed() const { return failed_; }
  // Bytes read so far (the rejected byte included, once failed).
  size_t fed() const { return fed_; }
  size_t error_offset() const { return error_at_; }
  // The text read so far is a whole document, perhaps followed by whitespace; in lines mode,
  // its last line is one or blank (so an empty text is complete only in lines mode).
  bool complete() const;
  // Bytes that make the text read so far complete (none when it is), for tests and fuzzers.
  // Meaningless once failed().
  std::string Completion() const;

  // Why the text fails: text is every byte read (at least through error_offset()). The
  // parser's message ("syntax error while parsing object key - invalid literal; last read:
  // '{n'; expected string literal"), with "line N: " first in lines mode. Without excerpt,
  // the "; last read: '...'" part, which quotes the input, is left out (for files that may
  // hold secrets). Only once failed().
  std::string ErrorMessage(std::string_view text, bool excerpt = true) const;
  // Why a text that is not complete() is not a document yet: the parser's message at its end.
  std::string IncompleteMessage(std::string_view text, bool excerpt = true) const;

 private:
  enum class State : uint8_t {
    kValue,         // a value (or only whitespace) comes next
    kValueOrClose,  // after '[': a value or ']'
    kKeyOrClose,    // after '{': a key or '}'
    kKey,           // after ',' in an object
    kColon,         // after a key
    kAfterValue,    // after a value: ',' or a closer; whitespace only at the top
    kString,
    kEscape,        // after '\'
    kHex,           // in \uXXXX: hex_ digits read
    kLowBackslash,  // after a high surrogate: '\' must follow
    kLowU,          // then 'u'
    kUtf8,          // in a multi-byte UTF-8 sequence: utf8_left_ bytes to go
    kLiteral,       // in true, false or null
    kMinus,         // "-"
    kZero,          // "0" (no digit may follow)
    kInt,           // "12"
    kDot,           // "1."
    kFrac,          // "1.5"
    kExp,           // "1e"
    kExpSign,       // "1e+"
    kExpDigits,     // "1e5"
  };
  enum class Reason : uint8_t {
    kSyntax,
    kNul,
    kBom,
    kDepth,
    kNotObject,
    kLoneLow,
    kNoLow,
    kOverflow,
  };

  bool Step(unsigned char c);
  bool StartValue(unsigned char c);
  bool ValueDone();
  bool Fail(Reason r);
  bool Top() const { return depth_ == 0; }
  bool NumberComplete() const;
  void NumberStart(unsigned char c);
  void NumberDigit(unsigned char c);
  int64_t Lead() const;
  bool Overflows() const;
  std::string NumberCompletion() const;
  std::string_view CurrentLine(std::string_view text, size_t end) const;
  std::string Where() const;

  Options opts_;
  State state_ = State::kValue;
  std::string stack_;  // '[' or '{' per open container
  size_t depth_ = 0;   // stack_.size(); kept apart for speed
  bool key_ = false;   // the string being read is an object key
  bool low_ = false;   // the \u escape being read must be a low surrogate
  bool done_ = false;  // the top value is complete
  bool started_ = false;
  uint8_t hex_ = 0;
  uint16_t code_ = 0;  // the \u escape's digits so far
  uint8_t utf8_left_ = 0;
  unsigned char utf8_lo_ = 0x80, utf8_hi_ = 0xBF;
  const char* literal_ = nullptr;
  uint8_t literal_pos_ = 0;
  // The number being read: nlohmann refuses one too large for a double (1e309), so its
  // magnitude is followed: the decimal exponent of its first significant digit and the
  // digits that decide the last case.
  int64_t int_digits_ = 0;  // of a non-zero integer part
  int64_t frac_zeros_ = 0;  // zeros after the point before a significant digit
  bool nonzero_ = false;    // a significant digit was read
  std::string sig_;         // the first significant digits (as many as the limit has)
  int64_t exp_ = 0;         // saturating
  bool exp_neg_ = false;
  bool failed_ = false;
  Reason reason_ = Reason::kSyntax;
  size_t fed_ = 0;
  size_t error_at_ = 0;
  size_t line_start_ = 0;  // offset of the current line (lines mode) or 0
  size_t line_no_ = 1;
};

}  // namespace agent9
