// ParseJson, ParseJsonObject, DumpJson (fs/base/json.h): every JSON document written by a
// client (config, goals, messages, HTTP bodies) is parsed here. Invariants: a parsed
// document dumps to text that parses to the same document. (The early check at write(),
// JsonPrefix, has its own target: json_prefix.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/base/json.h"
#include "fuzz/fuzz_util.h"

namespace {

// Nesting depth of a parsed document, without recursion.
size_t TreeDepth(const agent9::Json& root) {
  size_t deepest = 0;
  std::vector<std::pair<const agent9::Json*, size_t>> pending{{&root, 0}};
  while (!pending.empty()) {
    auto [j, d] = pending.back();
    pending.pop_back();
    if (!j->is_structured()) continue;
    deepest = std::max(deepest, d + 1);
    for (const auto& child : *j) pending.emplace_back(&child, d + 1);
  }
  return deepest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  std::string_view text = AsText(data, size);
  auto any = ParseJson(text);
  auto obj = ParseJsonObject(text);
  Require(!obj.ok() || (any.ok() && any->is_object()), "ParseJsonObject accepted a non-object");
  Require(obj.ok() == (any.ok() && any->is_object()), "ParseJsonObject rejected an object");
  if (any.ok()) {
    Require(JsonDepth(text) == TreeDepth(*any), "JsonDepth is not the parsed depth");
    Require(TreeDepth(*any) <= kMaxJsonDepth, "ParseJson accepted a document nested too deep");
    // inf (from "1e999") dumps as null, so compare the second dump with the first.
    std::string once = DumpJson(*any);
    auto again = ParseJson(once);
    Require(again.ok(), "DumpJson output does not parse", once);
    Require(DumpJson(*again) == once, "dump/parse/dump is not stable", once);
    auto pretty = ParseJson(PrettyJson(*any));
    Require(pretty.ok() && DumpJson(*pretty) == once, "PrettyJson does not round-trip", once);
  }
  return 0;
}
