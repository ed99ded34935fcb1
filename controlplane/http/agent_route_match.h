// Internal: the route matcher of agent_routes.cc (/metrics, /v1/runtime, /v1/agents...),
// declared here so fuzz/agent_route_fuzz.cc can reach it. No httplib types.
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace agent9::http {

enum class RouteKind : uint8_t { kMetrics, kRuntime, kAgents, kImport, kAgent };

struct AgentRouteMatch {
  RouteKind kind;
  std::string_view id_seg;  // raw, for kAgent
  std::string_view verb;    // "" or tokens|send|tick|hibernate|wake|export|replay
};

// Matches the raw (undecoded, query-less) request path; nullopt when it is not one of
// agent_routes.cc's routes. The views point into path.
std::optional<AgentRouteMatch> MatchAgentRoute(std::string_view path);

}  // namespace agent9::http
