#include "fs/base/json.h"

namespace agent9 {

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + " is not valid JSON");
  return j;
}

Result<Json> ParseJsonObject(std::string_view text, std::string_view what) {
  AGENT9_ASSIGN_OR_RETURN(Json j, ParseJson(text, what));
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + " must be a JSON object");
  return j;
}

std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string PrettyJson(const Json& j) {
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

bool CouldBeginObject(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    return c == '{';
  }
  return true;  // only whitespace so far
}

}  // namespace agent9
