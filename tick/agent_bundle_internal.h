// Internal to the agent bundle code (agent_bundle.cc: tar and export; agent_bundle_import.cc:
// import): the bundle layout both sides share, and the tar reader. agent_bundle.cc is the only
// file that includes libarchive. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "fs/base/status.h"
#include "tick/agent_docs.h"

namespace agent9 {

// The directories a bundle may hold, and where each kind of document lives in it.
inline constexpr std::string_view kBundleDirs[] = {"goals", "memory", "memory/conversations",
                                                   "memory/patterns"};
struct BundleDocPlace {
  std::string_view prefix;  // "goals/", ...
  DocRules (*rules)();
};
inline constexpr BundleDocPlace kBundleDocPlaces[] = {{"goals/", GoalRules},
                                                      {"memory/conversations/", ConversationRules},
                                                      {"memory/patterns/", PatternRules}};

struct TarFile {
  std::string data;
  std::optional<int64_t> mtime_ms;  // the entry's modification time, when it has one
};

// Every file of a bundle held in memory, by its clean name ("goals/g1.json"). Refuses what is
// not a tar, links, devices, names that are absolute, hold "..", repeat or are not part of
// the layout, and entries over their size limits. kInvalidArgument (naming the entry),
// kTooLarge. module_file names the entries a module reads (top-level files up to 64 KiB).
Result<std::map<std::string, TarFile>> ReadBundleTar(
    std::string_view tar, const std::function<bool(std::string_view)>& module_file = nullptr);

// Parses what Rfc3339() prints ("2026-01-02T03:04:05.678Z"; the milliseconds may be absent).
std::optional<int64_t> ParseRfc3339(std::string_view s);

}  // namespace agent9
