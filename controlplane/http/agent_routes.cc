// Control-plane routes (DESIGN section 7): thin translations from HTTP to ControlApi.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/http/agent_route_match.h"
#include "controlplane/http/http_context.h"
#include "controlplane/http/http_util.h"
#include "fs/base/path.h"

namespace agent9::http {
namespace {

constexpr size_t kDefaultListLimit = 100;
constexpr size_t kMaxListLimit = 1000;

bool IsGet(const httplib::Request& req) { return req.method == "GET" || req.method == "HEAD"; }

void NotAllowed(httplib::Response& res, std::string_view allow) {
  res.set_header("Allow", std::string(allow));
  SendRaw(res, 405, "method_not_allowed", "allowed methods: " + std::string(allow));
}

Result<std::string> AgentIdFromSegment(std::string_view raw) {
  AGENT9_ASSIGN_OR_RETURN(std::string id, PercentDecode(raw, false));
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(id));
  return id;
}

std::string_view TrimTrailingSpace(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Sends a Result<Json> with the given success status.
void Reply(httplib::Response& res, const Result<Json>& r, int ok_status) {
  if (!r.ok()) return SendError(res, r.status());
  SendJson(res, ok_status, *r);
}

// GET /v1/agents/{id}/export: the tar bundle as an attachment.
// The passphrase of an exported key travels in this header, never in a URL (DESIGN 4.3).
constexpr const char* kPassphraseHeader = "X-Agent9-Passphrase";

void ExportAgent(HttpContext& ctx, const Caller& who, const httplib::Request& req,
                 httplib::Response& res, const std::string& id, std::string_view query) {
  auto q = Query::Parse(query);
  if (!q.ok()) return SendError(res, q.status());
  auto with_key = q->Flag("with_key");
  if (!with_key.ok()) return SendError(res, with_key.status());
  ExportRequest er;
  if (*with_key) {
    er.key_passphrase = req.get_header_value(kPassphraseHeader);
    if (er.key_passphrase.empty()) {
      return SendError(res, Status::InvalidArgument(std::string("with_key=1 needs the passphrase "
                                                                "in the ") +
                                                    kPassphraseHeader + " header"));
    }
  }
  auto tar = ctx.api->ExportAgent(who, id, er);
  if (!tar.ok()) return SendError(res, tar.status());
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + id + ".tar\"");
  res.set_content(std::move(tar).value(), "application/x-tar");
}

// POST /v1/agents/import?mode=restore|clone[&id=NEW]: body = a bundle.
void ImportAgent(HttpContext& ctx, const Caller& who, const httplib::Request& req,
                 httplib::Response& res, std::string_view query, const std::string& body) {
  auto q = Query::Parse(query);
  if (!q.ok()) return SendError(res, q.status());
  std::string_view mode = q->Get("mode").value_or("restore");
  std::string_view new_id = q->Get("id").value_or("");
  if (!new_id.empty()) {
    Status st = ValidateAgentId(new_id);
    if (!st.ok()) return SendError(res, Status::InvalidArgument("id", st.message()));
  }
  Reply(res, ctx.api->ImportAgent(who, body, mode, new_id, req.get_header_value(kPassphraseHeader)),
        201);
}

void ListAgents(HttpContext& ctx, const Caller& who, httplib::Response& res,
                std::string_view query) {
  auto q = Query::Parse(query);
  if (!q.ok()) return SendError(res, q.status());
  auto limit = q->Limit("limit", kDefaultListLimit, kMaxListLimit);
  if (!limit.ok()) return SendError(res, limit.status());
  std::string_view after = q->Get("after").value_or("");
  if (!after.empty()) {
    Status st = ValidateAgentId(after);
    if (!st.ok()) return SendError(res, Status::InvalidArgument("after", st.message()));
  }
  Reply(res, ctx.api->ListAgents(who, *limit, after), 200);
}

void CreateAgent(HttpContext& ctx, const Caller& who, httplib::Response& res,
                 const std::string& body) {
  Json doc = Json::object();
  if (!TrimTrailingSpace(body).empty()) {
    auto parsed = ParseJsonObject(body, "request body");
    if (!parsed.ok()) return SendError(res, parsed.status());
    doc = std::move(parsed).value();
  }
  Reply(res, ctx.api->CreateAgent(who, doc), 201);
}

// /v1/agents/{id}[/{verb}]
void AgentRoute(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
                const Caller& who, const std::string& id, std::string_view verb,
                std::string_view query, const std::string& body) {
  if (verb.empty()) {
    if (IsGet(req)) return Reply(res, ctx.api->AgentStatus(who, id), 200);
    if (req.method == "DELETE") {
      Status st = ctx.api->DeleteAgent(who, id);
      if (!st.ok()) return SendError(res, st);
      res.status = 204;
      return;
    }
    return NotAllowed(res, "GET, HEAD, DELETE");
  }
  if (verb == "export") {
    if (!IsGet(req)) return NotAllowed(res, "GET, HEAD");
    return ExportAgent(ctx, who, req, res, id, query);
  }
  if (req.method != "POST") return NotAllowed(res, "POST");
  if (verb == "tokens") return Reply(res, ctx.api->MintToken(who, id), 201);
  if (verb == "send") return Reply(res, ctx.api->Send(who, id, body, "http"), 202);
  if (verb == "replay") {
    auto doc = ParseJsonObject(TrimTrailingSpace(body).empty() ? "{}" : body, "request body");
    if (!doc.ok()) return SendError(res, doc.status());
    return Reply(res, ctx.api->Replay(who, id, *doc), 200);
  }
  return Reply(res, ctx.api->Lifecycle(who, id, verb, TrimTrailingSpace(body)), 200);
}

}  // namespace

std::optional<AgentRouteMatch> MatchAgentRoute(std::string_view path) {
  constexpr std::string_view kAgents = "/v1/agents";
  if (path == "/metrics") return AgentRouteMatch{RouteKind::kMetrics, {}, {}};
  if (path == "/v1/runtime") return AgentRouteMatch{RouteKind::kRuntime, {}, {}};
  if (path == kAgents) return AgentRouteMatch{RouteKind::kAgents, {}, {}};
  if (!path.starts_with(kAgents) || path[kAgents.size()] != '/') return std::nullopt;
  std::string_view rest = path.substr(kAgents.size() + 1);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    if (rest == "import") return AgentRouteMatch{RouteKind::kImport, {}, {}};
    return AgentRouteMatch{RouteKind::kAgent, rest, {}};
  }
  std::string_view verb = rest.substr(slash + 1);
  static constexpr std::string_view kVerbs[] = {"tokens", "send",   "tick",  "hibernate",
                                                "wake",   "export", "replay"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
    return std::nullopt;
  }
  return AgentRouteMatch{RouteKind::kAgent, rest.substr(0, slash), verb};
}

namespace {

void Serve(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
           const AgentRouteMatch& m, std::string_view query, const std::string& body) {
  auto who = Authenticate(req, ctx.auth, body);
  if (!who.ok()) return SendError(res, who.status());
  switch (m.kind) {
    case RouteKind::kMetrics: {
      if (!IsGet(req)) return NotAllowed(res, "GET, HEAD");
      auto text = ctx.api->Metrics(*who);
      if (!text.ok()) return SendError(res, text.status());
      res.status = 200;
      res.set_content(std::move(text).value(), "text/plain; version=0.0.4; charset=utf-8");
      return;
    }
    case RouteKind::kRuntime:
      if (!IsGet(req)) return NotAllowed(res, "GET, HEAD");
      return Reply(res, ctx.api->Runtime(*who), 200);
    case RouteKind::kAgents:
      if (IsGet(req)) return ListAgents(ctx, *who, res, query);
      if (req.method == "POST") return CreateAgent(ctx, *who, res, body);
      return NotAllowed(res, "GET, HEAD, POST");
    case RouteKind::kImport:
      if (req.method != "POST") return NotAllowed(res, "POST");
      return ImportAgent(ctx, *who, req, res, query, body);
    case RouteKind::kAgent: {
      auto id = AgentIdFromSegment(m.id_seg);
      if (!id.ok()) return SendError(res, id.status());
      return AgentRoute(ctx, req, res, *who, *id, m.verb, query, body);
    }
  }
}

}  // namespace

bool HandleAgentRoute(HttpContext& ctx, const httplib::Request& req, httplib::Response& res,
                      std::string_view path, std::string_view query, const std::string& body) {
  auto m = MatchAgentRoute(path);
  if (!m) return false;
  Serve(ctx, req, res, *m, query, body);
  return true;
}

}  // namespace agent9::http
