// JSON helpers over nlohmann::json: parsing outside input without exceptions, and
// canonical dumps. Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fs/base/status.h"

namespace agent9 {

using Json = nlohmann::json;

// Nesting limits. Copying, comparing and printing a Json recurse once per level, so a
// deeply nested document from outside would overflow a thread's stack (a 256 KiB message of
// '[' did). ParseJson refuses documents nested deeper than kMaxJsonDepth. Outside input the
// runtime wraps before storing it (a message body in its envelope, a program's output in
// events and trajectories) is held to kMaxInputJsonDepth, so what it stores stays readable.
inline constexpr size_t kMaxJsonDepth = 512;
inline constexpr size_t kMaxInputJsonDepth = 256;

// The nesting depth of JSON text: the most '[' and '{' open at once outside strings (exact
// for valid JSON; 0 for a scalar). Linear, no recursion.
size_t JsonDepth(std::string_view text);

// Parses text as one JSON document; an error names what was wrong (InvalidArgument), also
// for a document nested deeper than max_depth.
Result<Json> ParseJson(std::string_view text, std::string_view what = "JSON",
                       size_t max_depth = kMaxJsonDepth);
// Parses text that must be one JSON object.
Result<Json> ParseJsonObject(std::string_view text, std::string_view what = "JSON",
                             size_t max_depth = kMaxJsonDepth);
// Compact dump; invalid UTF-8 is replaced rather than throwing.
std::string DumpJson(const Json& j);
// Indented dump with a trailing newline, for files people `cat`.
std::string PrettyJson(const Json& j);

}  // namespace agent9
