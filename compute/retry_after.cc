// ParseRetryAfter (provider.h): the Retry-After header of a 429 or 503 (RFC 9110 10.2.3).
#include <cctype>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "compute/provider.h"

namespace agent9::compute {

int64_t ParseRetryAfter(std::string_view value, int64_t now_ms) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) return -1;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    int64_t secs = 0;
    for (char c : value) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
      secs = secs * 10 + (c - '0');
      if (secs > 86'400 * 365) secs = 86'400 * 365;  // a year is plenty; no overflow
    }
    return secs * 1000;
  }
  // An HTTP date: IMF-fixdate, or the obsolete RFC 850 and asctime forms.
  std::string text(value);
  for (const char* fmt :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), fmt, &tm);
    if (end == nullptr || *end != '\0') continue;
    int64_t at_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
    return at_ms > now_ms ? at_ms - now_ms : 0;
  }
  return -1;
}

}  // namespace agent9::compute
