// JSON helpers over nlohmann::json: parsing outside input without exceptions, and
// canonical dumps. Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fs/base/status.h"

namespace agent9 {

using Json = nlohmann::json;

// Parses text as one JSON document; an error names what was wrong (InvalidArgument).
Result<Json> ParseJson(std::string_view text, std::string_view what = "JSON");
// Parses text that must be one JSON object.
Result<Json> ParseJsonObject(std::string_view text, std::string_view what = "JSON");
// Compact dump; invalid UTF-8 is replaced rather than throwing.
std::string DumpJson(const Json& j);
// Indented dump with a trailing newline, for files people `cat`.
std::string PrettyJson(const Json& j);
// True when the first non-space byte of text could begin a JSON object ('{'); used to fail
// a write() early on validated files.
bool CouldBeginObject(std::string_view text);

}  // namespace agent9
