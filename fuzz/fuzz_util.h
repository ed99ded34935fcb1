// Helpers shared by the libFuzzer targets in fuzz/: invariant checks that abort (libFuzzer
// then saves the input as a crash artifact) and small conversions.
// Thread-safety: pure functions; each target runs its inputs on one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace agent9::fuzz {

// Aborts with `what` when ok is false: an invariant of the parser under test was broken.
inline void Require(bool ok, const char* what, std::string_view detail = {}) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant failed: %s", what);
  if (!detail.empty())
    std::fprintf(stderr, " [%.*s]", static_cast<int>(detail.size()), detail.data());
  std::fprintf(stderr, "\n");
  std::abort();
}

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace agent9::fuzz
