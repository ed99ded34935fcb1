// MatchAgentRoute (controlplane/http/agent_route_match.h): which handler gets a raw request
// path under /v1/agents, /v1/runtime and /metrics, followed by what the handler does with
// the agent segment (PercentDecode + ValidateAgentId). Invariants: a match is exactly one
// of the documented shapes and rebuilding the path from it gives the input back; an agent
// id reaching a handler is a valid agent name.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "controlplane/http/agent_route_match.h"
#include "fs/base/path.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  using http::RouteKind;
  std::string_view path = AsText(data, size);
  auto m = http::MatchAgentRoute(path);
  if (!m) {
    Require(path != "/metrics" && path != "/v1/runtime" && path != "/v1/agents" &&
                path != "/v1/agents/import",
            "a fixed route did not match", path);
    return 0;
  }
  auto inside = [&](std::string_view v) {
    return v.empty() ||
           (v.data() >= path.data() && v.data() + v.size() <= path.data() + path.size());
  };
  Require(inside(m->id_seg) && inside(m->verb), "match views point outside the path");
  switch (m->kind) {
    case RouteKind::kMetrics:
      Require(path == "/metrics", "metrics", path);
      return 0;
    case RouteKind::kRuntime:
      Require(path == "/v1/runtime", "runtime", path);
      return 0;
    case RouteKind::kAgents:
      Require(path == "/v1/agents", "agents", path);
      return 0;
    case RouteKind::kImport:
      Require(path == "/v1/agents/import", "import", path);
      return 0;
    case RouteKind::kAgent:
      break;
  }
  static constexpr std::string_view kVerbs[] = {"",          "tokens", "send",   "tick",
                                                "hibernate", "wake",   "export", "replay"};
  Require(std::find(std::begin(kVerbs), std::end(kVerbs), m->verb) != std::end(kVerbs),
          "unknown verb", m->verb);
  Require(m->id_seg.find('/') == std::string_view::npos, "'/' in the raw agent segment", path);
  std::string rebuilt = "/v1/agents/" + std::string(m->id_seg);
  if (!m->verb.empty()) rebuilt += "/" + std::string(m->verb);
  Require(rebuilt == path, "the match does not rebuild the path", path);
  // What agent_routes.cc does next (AgentIdFromSegment).
  auto id = PercentDecode(m->id_seg, false);
  if (!id.ok() || !ValidateAgentId(*id).ok()) return 0;
  Require(Path::ValidateName(*id).ok() && id->find_first_of("/%?#") == std::string::npos,
          "an agent id a handler would use is not a plain name", *id);
  return 0;
}
