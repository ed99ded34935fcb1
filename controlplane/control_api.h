// ControlApi: the control-plane operations that are not plain file I/O (DESIGN section 7:
// /v1/agents, /send, /tokens, /tick|hibernate|wake, /replay, /v1/runtime). The HTTP server and
// tests call this; it calls the same domain services the files use, so FUSE and HTTP cannot drift.
// Every method checks the caller itself (admin-only routes answer kPermissionDenied or
// kUnauthenticated). Results are JSON documents ready to send.
// Thread-safety: implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "fs/base/json.h"
#include "fs/module.h"
#include "fs/node.h"

namespace agent9 {

class ControlApi {
 public:
  virtual ~ControlApi() = default;

  // POST /v1/agents: body {"id"?, "kind"?, "config"?}. → {"id","kind","token",...}.
  // kAlreadyExists when the id is taken; kInvalidArgument for a bad name or config.
  virtual Result<Json> CreateAgent(const Caller& who, const Json& body) = 0;
  // GET /v1/agents?limit=&after= → {"agents":[{"id","kind","state","created_at"}...],
  // "next": "<id>"|null}.
  virtual Result<Json> ListAgents(const Caller& who, size_t limit, std::string_view after) = 0;
  // GET /v1/agents/{id} → the status document (same bytes as the status file, parsed).
  virtual Result<Json> AgentStatus(const Caller& who, std::string_view id) = 0;
  // DELETE /v1/agents/{id}.
  virtual Status DeleteAgent(const Caller& who, std::string_view id) = 0;
  // POST /v1/agents/{id}/tokens → {"token"}. Admin only.
  virtual Result<Json> MintToken(const Caller& who, std::string_view id) = 0;
  // POST /v1/agents/{id}/send: body = message bytes (DESIGN 4.1) → {"id","seq"}.
  // `from` is the transport's sender name ("http"); an agent token sends as that agent.
  virtual Result<Json> Send(const Caller& who, std::string_view id, std::string_view body,
                            std::string_view from) = 0;
  // POST /v1/agents/{id}/tick|hibernate|wake: verb is "tick", "hibernate" or "wake".
  virtual Result<Json> Lifecycle(const Caller& who, std::string_view id, std::string_view verb,
                                 std::string_view arg) = 0;
  // GET /v1/agents/{id}/export → the agent's tar bundle (DESIGN section 8), the same bytes as
  // agents/{id}/memory/export and with the same permission (the admin, or the agent itself).
  // With req.key_passphrase (admin only) the bundle adds key.ncryptsec (DESIGN 4.3).
  virtual Result<std::string> ExportAgent(const Caller& who, std::string_view id,
                                          const ExportRequest& req = {}) = 0;
  // POST /v1/agents/import?mode=restore|clone[&id=NEW]: creates an agent from a bundle →
  // {"id","kind","mode"}. new_id ("" = none) names a clone. Admin only. kInvalidArgument for
  // a bad mode or bundle, kAlreadyExists when the id is taken.
  // key_passphrase opens a bundle's key.ncryptsec (restore); a wrong or missing one is
  // kInvalidArgument naming the cause, and nothing is imported.
  virtual Result<Json> ImportAgent(const Caller& who, std::string_view bundle,
                                   std::string_view mode, std::string_view new_id,
                                   const std::string& key_passphrase = "") = 0;
  // POST /v1/agents/{id}/replay: body {"tick":N,"program"?:"/abs/path"} → the replay result
  // (tick/replay.h: ReplayTick): re-runs a committed tick offline and compares its effects.
  // Admin only (it runs a program the caller names). kInvalidArgument naming a bad body field;
  // kNotFound for an unknown agent or a tick that is not recorded.
  virtual Result<Json> Replay(const Caller& who, std::string_view id, const Json& body) = 0;
  // GET /v1/runtime (same document as the /status file).
  virtual Result<Json> Runtime(const Caller& who) = 0;
  // GET /metrics: Prometheus text exposition.
  virtual Result<std::string> Metrics(const Caller& who) = 0;
};

// Maps bearer tokens to principals. Tokens are compared in constant time and stored hashed.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Empty token → Caller::Public(). Unknown token → kUnauthenticated.
  virtual Result<Caller> Authenticate(std::string_view bearer_token) = 0;
  // Any other Authorization scheme (NIP-98 "Nostr"): kUnauthenticated naming the failed check,
  // or the caller the request proves (an operator's npub: admin; any other: a public caller
  // with Caller::npub set).
  virtual Result<Caller> AuthenticateRequest(const HttpAuth& req) {
    (void)req;
    return Status::Unauthenticated("unsupported Authorization scheme (want: Bearer <token>)");
  }
};

}  // namespace agent9
