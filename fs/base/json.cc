#include "fs/base/json.h"

#include <algorithm>

namespace agent9 {

size_t JsonDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

Result<Json> ParseJson(std::string_view text, std::string_view what, size_t max_depth) {
  // Checked first: the parser itself is iterative, but nothing after it is.
  if (JsonDepth(text) > max_depth) {
    return Status::InvalidArgument(std::string(what) + " is nested deeper than " +
                                   std::to_string(max_depth) + " levels");
  }
  // nlohmann stops at a NUL as at the end of input ("1\0junk" would parse as 1) and skips a
  // leading UTF-8 BOM, which other parsers (Python's json.loads) refuse. JSON text never
  // holds a raw NUL, not even in strings: refuse both.
  bool refused = text.find('\0') != std::string_view::npos || text.starts_with("\xEF\xBB\xBF");
  Json j = refused ? Json(Json::value_t::discarded)
                   : Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + " is not valid JSON");
  return j;
}

Result<Json> ParseJsonObject(std::string_view text, std::string_view what, size_t max_depth) {
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJson(text, what, max_depth));
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  return j;
}

namespace {

// Json::dump, into a string that starts with room for a typical document: dump grows its
// string from empty, one reallocation per doubling (six for a 1 KiB status document).
std::string Dump(const Json& j, int indent, size_t reserve) {
  std::string out;
  out.reserve(reserve);
  nlohmann::detail::serializer<Json> s(nlohmann::detail::output_adapter<char, std::string>(out),
                                       ' ', Json::error_handler_t::replace);
  s.dump(j, indent >= 0, false, indent >= 0 ? static_cast<unsigned>(indent) : 0);
  return out;
}

}  // namespace

std::string DumpJson(const Json& j) { return Dump(j, -1, 512); }

std::string PrettyJson(const Json& j) {
  std::string out = Dump(j, 2, 1024);
  out.push_back('\n');
  return out;
}

}  // namespace agent9
