// SplitTarget and Query::Parse / Get / Limit / Flag (controlplane/http/http_util.h): the raw
// request target and query string of every HTTP request. Invariants: the split gives back
// the target; an accepted query has no duplicate keys and, percent-encoded again, parses to
// the same items; Limit and Flag return only values in their documented ranges.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "controlplane/http/http_client.h"
#include "controlplane/http/http_util.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  std::string_view target = AsText(data, size);
  http::Target t = http::SplitTarget(target);
  Require(t.path.find('?') == std::string_view::npos, "'?' in the split path");
  bool has_q = target.find('?') != std::string_view::npos;
  Require(
      (has_q ? std::string(t.path) + "?" + std::string(t.query) : std::string(t.path)) == target,
      "split does not give back the target", target);

  // The whole input as a query too, so '?' and '#' are exercised inside it.
  for (std::string_view raw : {t.query, target}) {
    auto q = http::Query::Parse(raw);
    if (!q.ok()) continue;
    std::string again;
    for (size_t i = 0; i < q->items().size(); ++i) {
      const auto& [k, v] = q->items()[i];
      for (size_t j = 0; j < i; ++j) Require(q->items()[j].first != k, "duplicate key", k);
      auto got = q->Get(k);
      Require(got && *got == v, "Get does not return the item's value", k);
      if (i) again += "&";
      again += PercentEncode(k) + "=" + PercentEncode(v);
    }
    auto round = http::Query::Parse(again);
    Require(round.ok() && round->items() == q->items(), "re-encoded query parses differently",
            again);
    for (const auto& [k, v] : q->items()) {
      for (size_t max : {size_t{1}, size_t{1000}, std::numeric_limits<size_t>::max()}) {
        auto lim = q->Limit(k, 7, max);
        if (lim.ok()) Require(*lim >= 1 && *lim <= max, "Limit out of range", v);
      }
      auto flag = q->Flag(k);
      Require(flag.ok() == (v.empty() || v == "1" || v == "true" || v == "0" || v == "false"),
              "Flag accepts exactly 1/true/0/false/empty", v);
    }
    auto absent = q->Limit("\x01no such key", 42, 100);
    Require(q->Get("\x01no such key") || (absent.ok() && *absent == 42), "absent Limit default");
  }
  return 0;
}
