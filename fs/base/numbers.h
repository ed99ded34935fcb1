// Strict decimal parsing for outside input (file names, ctl arguments, query strings).
// Thread-safety: pure functions.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace agent9 {

// s as a decimal integer in [lo, hi]: digits only (a leading '-' only when lo < 0), no
// spaces, no '+', no overflow. nullopt otherwise.
inline std::optional<int64_t> ParseDecimal(std::string_view s, int64_t lo, int64_t hi) {
  if (s.empty() || (s[0] == '-' && lo >= 0)) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

}  // namespace agent9
