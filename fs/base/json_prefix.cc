#include "fs/base/json_prefix.h"

#include <algorithm>

namespace agent9 {
namespace {

bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }

// 2^1024 - 2^970, halfway between the largest double and 2^1024: strtod rounds a decimal at
// least this large to infinity, and nlohmann refuses it ("number overflow").
constexpr std::string_view kOverflowDigits =
    "17976931348623158079372897140530341507993413271003782693617377898044496829276475094664901797"
    "75872070963302864166928879109465555478519404026306574886715058206819089020007083836762738548"
    "45817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711"
    "559699508093042880177904174497792";
constexpr int64_t kOverflowExponent = 308;  // of kOverflowDigits' first digit
constexpr int64_t kCap = int64_t{1} << 50;  // digit counts and exponents saturate here

int HexValue(unsigned char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A SAX handler that builds nothing and keeps the parser's error.
class ErrorOnly final : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string& last_token,
                   const nlohmann::detail::exception& ex) override {
    message = ex.what();
    token = last_token;
    return false;
  }
  std::string message;
  std::string token;
};

// nlohmann's message for text, without its "[json.exception...] parse error at line 1,
// column 3: " lead (and without the input it quotes unless excerpt); empty when text parses.
std::string ParserMessage(std::string_view text, bool excerpt) {
  ErrorOnly sax;
  Json::sax_parse(text.begin(), text.end(), &sax, Json::input_format_t::json, /*strict=*/true);
  std::string& m = sax.message;
  size_t col = m.find(", column ");
  size_t colon = col == std::string::npos ? std::string::npos : m.find(": ", col);
  if (colon != std::string::npos) m.erase(0, colon + 2);
  if (!excerpt) {
    std::string quoted = "; last read: '" + sax.token + "'";
    size_t at = m.find(quoted);
    if (at != std::string::npos) m.erase(at, quoted.size());
  }
  return m;
}

}  // namespace

bool JsonPrefix::Feed(std::string_view text) {
  if (failed_) return false;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    // Plain string content is by far the most common byte: skip the dispatch.
    if (state_ == State::kString && c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++fed_;
      continue;
    }
    if (!Step(c)) {
      failed_ = true;
      error_at_ = fed_++;
      return false;
    }
    ++fed_;
  }
  return true;
}

bool JsonPrefix::Fail(Reason r) {
  reason_ = r;
  return false;
}

bool JsonPrefix::NumberComplete() const {
  return state_ == State::kZero || state_ == State::kInt || state_ == State::kFrac ||
         state_ == State::kExpDigits;
}

void JsonPrefix::NumberStart(unsigned char c) {
  int_digits_ = frac_zeros_ = exp_ = 0;
  nonzero_ = exp_neg_ = false;
  sig_.clear();
  if (c >= '1' && c <= '9') NumberDigit(c);
}

// A digit of the integer part or of the fraction.
void JsonPrefix::NumberDigit(unsigned char c) {
  bool integer = state_ != State::kDot && state_ != State::kFrac;
  if (!nonzero_ && c == '0') {  // "0" or a zero before the first significant digit
    if (!integer) frac_zeros_ = std::min(frac_zeros_ + 1, kCap);
    return;
  }
  nonzero_ = true;
  if (integer) int_digits_ = std::min(int_digits_ + 1, kCap);
  if (sig_.size() < kOverflowDigits.size()) sig_ += static_cast<char>(c);
}

int64_t JsonPrefix::Lead() const { return int_digits_ > 0 ? int_digits_ - 1 : -(frac_zeros_ + 1); }

bool JsonPrefix::Overflows() const {
  if (!nonzero_) return false;
  int64_t at = Lead() + (exp_neg_ ? -exp_ : exp_);
  if (at != kOverflowExponent) return at > kOverflowExponent;
  std::string digits = sig_;
  digits.resize(kOverflowDigits.size(), '0');
  return digits >= kOverflowDigits;
}

bool JsonPrefix::complete() const {
  if (failed_) return false;
  if (done_ || (Top() && NumberComplete() && !Overflows())) return true;
  return opts_.lines && Top() && state_ == State::kValue;  // a blank line
}

bool JsonPrefix::ValueDone() {
  state_ = State::kAfterValue;
  if (Top()) done_ = true;
  return true;
}

bool JsonPrefix::StartValue(unsigned char c) {
  bool at_start = fed_ == line_start_;
  if (Top()) {
    // ParseJson refuses a leading BOM, which nlohmann would skip.
    if (c == 0xEF && at_start) return Fail(Reason::kBom);
    if (opts_.object && c != '{') return Fail(Reason::kNotObject);
    started_ = true;
  }
  switch (c) {
    case '{':
    case '[':
      if (depth_ >= opts_.max_depth) return Fail(Reason::kDepth);
      stack_.push_back(static_cast<char>(c));
      ++depth_;
      state_ = c == '{' ? State::kKeyOrClose : State::kValueOrClose;
      return true;
    case '"':
      state_ = State::kString;
      key_ = false;
      return true;
    case 't':
    case 'f':
    case 'n':
      literal_ = c == 't' ? "true" : c == 'f' ? "false" : "null";
      literal_pos_ = 1;
      state_ = State::kLiteral;
      return true;
    case '-':
      NumberStart(c);
      state_ = State::kMinus;
      return true;
    default:
      if (!IsDigit(c)) return Fail(Reason::kSyntax);
      NumberStart(c);
      state_ = c == '0' ? State::kZero : State::kInt;
      return true;
  }
}

bool JsonPrefix::Step(unsigned char c) {
  if (c == 0) return Fail(Reason::kNul);  // nlohmann takes it for the end; ParseJson refuses it
  switch (state_) {
    case State::kString:
      if (c == '"') {
        if (!key_) return ValueDone();
        state_ = State::kColon;
        return true;
      }
      if (c == '\\') {
        state_ = State::kEscape;
        return true;
      }
      if (c < 0x20) return Fail(Reason::kSyntax);  // control characters must be escaped
      if (c < 0x80) return true;
      // The well-formed UTF-8 sequences (RFC 3629), as nlohmann checks them.
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (c >= 0xC2 && c <= 0xDF) {
        utf8_left_ = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        utf8_left_ = 2;
        if (c == 0xE0) utf8_lo_ = 0xA0;  // no overlong forms
        if (c == 0xED) utf8_hi_ = 0x9F;  // no surrogates
      } else if (c >= 0xF0 && c <= 0xF4) {
        utf8_left_ = 3;
        if (c == 0xF0) utf8_lo_ = 0x90;
        if (c == 0xF4) utf8_hi_ = 0x8F;  // nothing past U+10FFFF
      } else {
        return Fail(Reason::kSyntax);
      }
      state_ = State::kUtf8;
      return true;
    case State::kUtf8:
      if (c < utf8_lo_ || c > utf8_hi_) return Fail(Reason::kSyntax);
      utf8_lo_ = 0x80;
      utf8_hi_ = 0xBF;
      if (--utf8_left_ == 0) state_ = State::kString;
      return true;
    case State::kEscape:
      switch (c) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          state_ = State::kString;
          return true;
        case 'u':
          state_ = State::kHex;
          hex_ = 0;
          code_ = 0;
          return true;
        default:
          return Fail(Reason::kSyntax);
      }
    case State::kHex: {
      int d = HexValue(c);
      if (d < 0) return Fail(Reason::kSyntax);
      code_ = static_cast<uint16_t>(code_ << 4 | d);
      ++hex_;
      // Two digits decide whether the escape is a surrogate: D8..DB high, DC..DF low.
      if (low_ && hex_ == 1 && code_ != 0xD) return Fail(Reason::kNoLow);
      if (hex_ == 2) {
        bool low = code_ >= 0xDC && code_ <= 0xDF;
        if (low_ && !low) return Fail(Reason::kNoLow);
        if (!low_ && low) return Fail(Reason::kLoneLow);
      }
      if (hex_ < 4) return true;
      if (!low_ && code_ >= 0xD800 && code_ <= 0xDBFF) {
        state_ = State::kLowBackslash;
        return true;
      }
      low_ = false;
      state_ = State::kString;
      return true;
    }
    case State::kLowBackslash:
      if (c != '\\') return Fail(Reason::kNoLow);
      state_ = State::kLowU;
      return true;
    case State::kLowU:
      if (c != 'u') return Fail(Reason::kNoLow);
      state_ = State::kHex;
      hex_ = 0;
      code_ = 0;
      low_ = true;
      return true;
    case State::kLiteral:
      if (c != static_cast<unsigned char>(literal_[literal_pos_])) return Fail(Reason::kSyntax);
      if (literal_[++literal_pos_] == '\0') return ValueDone();
      return true;
    case State::kMinus:
      if (!IsDigit(c)) return Fail(Reason::kSyntax);
      NumberDigit(c);
      state_ = c == '0' ? State::kZero : State::kInt;
      return true;
    case State::kDot:
      if (!IsDigit(c)) return Fail(Reason::kSyntax);
      NumberDigit(c);
      state_ = State::kFrac;
      return true;
    case State::kExp:
      if (c == '+' || c == '-') {
        exp_neg_ = c == '-';
        state_ = State::kExpSign;
        // Past the limit already with an exponent that can only grow: no digits can help.
        return exp_neg_ || !Overflows() || Fail(Reason::kOverflow);
      }
      [[fallthrough]];
    case State::kExpSign:
    case State::kExpDigits:
      if (IsDigit(c)) {
        exp_ = std::min(exp_ * 10 + (c - '0'), kCap);
        state_ = State::kExpDigits;
        return exp_neg_ || !Overflows() || Fail(Reason::kOverflow);
      }
      if (state_ != State::kExpDigits) return Fail(Reason::kSyntax);
      break;
    case State::kInt:
    case State::kFrac:
      if (IsDigit(c)) {
        NumberDigit(c);
        return true;
      }
      [[fallthrough]];
    case State::kZero:
      if (c == '.' && state_ != State::kFrac) {
        state_ = State::kDot;
        return true;
      }
      if (c == 'e' || c == 'E') {
        state_ = State::kExp;
        return true;
      }
      break;
    case State::kValue:
    case State::kValueOrClose:
    case State::kKeyOrClose:
    case State::kKey:
    case State::kColon:
    case State::kAfterValue:
      break;
  }
  if (NumberComplete()) {  // the number ended before c
    if (Overflows()) return Fail(Reason::kOverflow);
    ValueDone();
  }
  // Between tokens.
  if (c == ' ' || c == '\t' || c == '\r') return true;
  if (c == '\n') {
    if (!opts_.lines) return true;
    // The line ends: it must hold one whole document or nothing.
    if (!Top() || (state_ != State::kValue && state_ != State::kAfterValue)) {
      return Fail(Reason::kSyntax);
    }
    state_ = State::kValue;
    done_ = started_ = false;
    line_start_ = fed_ + 1;
    ++line_no_;
    return true;
  }
  switch (state_) {
    case State::kValueOrClose:
      if (c != ']') return StartValue(c);
      stack_.pop_back();
      --depth_;
      return ValueDone();
    case State::kKeyOrClose:
      if (c == '}') {
        stack_.pop_back();
        --depth_;
        return ValueDone();
      }
      [[fallthrough]];
    case State::kKey:
      if (c != '"') return Fail(Reason::kSyntax);
      state_ = State::kString;
      key_ = true;
      return true;
    case State::kColon:
      if (c != ':') return Fail(Reason::kSyntax);
      state_ = State::kValue;
      return true;
    case State::kAfterValue: {
      if (Top()) return Fail(Reason::kSyntax);  // only whitespace after the document
      bool array = stack_.back() == '[';
      if (c == ',') {
        state_ = array ? State::kValue : State::kKey;
        return true;
      }
      if (c != (array ? ']' : '}')) return Fail(Reason::kSyntax);
      stack_.pop_back();
      --depth_;
      return ValueDone();
    }
    default:
      return StartValue(c);
  }
}

std::string JsonPrefix::Completion() const {
  std::string out;
  bool in_string = true;
  switch (state_) {
    case State::kUtf8:
      out += static_cast<char>(utf8_lo_);
      out.append(utf8_left_ - 1, '\x80');
      break;
    case State::kEscape:
      out += 'n';
      break;
    case State::kHex: {
      uint32_t code = code_;
      for (int i = hex_; i < 4; ++i) {
        char d = low_ && i == 0 ? 'D' : low_ && i == 1 ? 'C' : '0';
        out += d;
        code = code << 4 | static_cast<uint32_t>(HexValue(static_cast<unsigned char>(d)));
      }
      if (!low_ && code >= 0xD800 && code <= 0xDBFF) out += "\\uDC00";
      break;
    }
    case State::kLowBackslash:
      out += "\\uDC00";
      break;
    case State::kLowU:
      out += "uDC00";
      break;
    case State::kString:
      break;
    default:
      in_string = false;
  }
  if (in_string) out += key_ ? "\":0" : "\"";
  switch (state_) {
    case State::kLiteral:
      out += literal_ + literal_pos_;
      break;
    case State::kMinus:
    case State::kDot:
    case State::kExp:
    case State::kExpSign:
    case State::kZero:
    case State::kInt:
    case State::kFrac:
    case State::kExpDigits:
      out += NumberCompletion();
      break;
    case State::kValue:
      if (!Top()) {
        out += '0';
      } else if (!opts_.lines) {
        out += opts_.object ? "{}" : "0";
      }
      break;
    case State::kKey:
      out += "\"\":0";
      break;
    case State::kColon:
      out += ":0";
      break;
    default:
      break;
  }
  for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) out += *it == '[' ? ']' : '}';
  return out;
}

std::string JsonPrefix::NumberCompletion() const {
  std::string out;
  if (state_ == State::kMinus || state_ == State::kDot) out += '0';
  if (!Overflows()) {
    if (state_ == State::kExp || state_ == State::kExpSign) out += '0';
    return out;
  }
  // Too large so far: a negative exponent, long enough, brings it back into range.
  int64_t e = exp_;
  if (state_ == State::kExp) {
    out += '-';
  } else if (state_ != State::kExpSign && state_ != State::kExpDigits) {
    out += "e-";
    e = 0;
  }
  for (int64_t lead = Lead(); lead - e >= kOverflowExponent; e = std::min(e * 10 + 9, kCap)) {
    out += '9';
  }
  return out;
}

std::string JsonPrefix::Where() const {
  return opts_.lines ? "line " + std::to_string(line_no_) + ": " : std::string();
}

std::string_view JsonPrefix::CurrentLine(std::string_view text, size_t end) const {
  end = std::min(end, text.size());
  return line_start_ < end ? text.substr(line_start_, end - line_start_) : std::string_view();
}

std::string JsonPrefix::ErrorMessage(std::string_view text, bool excerpt) const {
  switch (reason_) {
    case Reason::kNul:
      return Where() + "a NUL byte is not JSON (write it as \\u0000 in a string)";
    case Reason::kBom:
      return Where() + "JSON text may not begin with a byte order mark";
    case Reason::kDepth:
      return Where() + "nested deeper than " + std::to_string(opts_.max_depth) + " levels";
    case Reason::kNotObject:
      return Where() + "must be a JSON object";
    case Reason::kLoneLow:
      return Where() + "invalid string: surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF";
    case Reason::kNoLow:
      return Where() +
             "invalid string: surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF";
    case Reason::kOverflow:
      return Where() + "number overflow: too large for a double";
    case Reason::kSyntax:
      break;
  }
  std::string m = ParserMessage(CurrentLine(text, error_at_ + 1), excerpt);
  if (m.empty()) m = "invalid JSON at byte " + std::to_string(error_at_);
  return Where() + m;
}

std::string JsonPrefix::IncompleteMessage(std::string_view text, bool excerpt) const {
  if (Top() && !started_) return Where() + "empty document";
  std::string m = ParserMessage(CurrentLine(text, fed_), excerpt);
  return Where() + "incomplete document" + (m.empty() ? "" : ": " + m);
}

}  // namespace agent9
