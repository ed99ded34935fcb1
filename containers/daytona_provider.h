// DaytonaProvider: sandboxes on a Daytona server, driven over its REST API
// (https://www.daytona.io/docs; the requests are listed in docs/DAYTONA.md). A session is one
// Daytona sandbox: created from a snapshot with the session's env and an agent9-session=<id>
// label, polled until "started", its workdir and files written through the toolbox files
// API, its command run through the toolbox process API, and the sandbox deleted when the
// session ends (Wait returns after the delete; Stop deletes at once). The process API
// answers once the command ends, so output arrives in one piece, as "stdout" (Daytona
// combines stdout and stderr), when the command ends. The API key comes from a callback
// (the sealed store, else an environment variable) on each request and never appears in a
// Status, log or file: a server that echoes it back gets it redacted.
// Optional Nostr auth is this project's convention, not Daytona's (docs/DAYTONA.md).
// Thread-safety: as provider.h says; every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "containers/provider.h"

namespace agent9::containers {

struct RemoteConfig {
  std::string id;  // "daytona"
  std::string type = "daytona";
  std::string base_url;  // e.g. "https://app.daytona.io/api"; "" = not configured
  std::string api_key_env = "DAYTONA_API_KEY";
  std::string default_image;  // snapshot name used when spec.image is ""
  bool nostr_auth = false;    // the server accepts Nostr auth (AuthChallenge/AuthSubmit)
  // Send memory (GiB, rounded up) at create. Daytona refuses resources with a snapshot, so
  // only for servers that build sandboxes from images.
  bool send_resources = false;
  int64_t start_timeout_ms = 60000;    // create until "started"
  int64_t poll_ms = 200;               // state polling period while starting
  int64_t request_timeout_ms = 30000;  // each API request but execute
};

class DaytonaProvider final : public SandboxProvider {
 public:
  // api_key: returns the credential when asked (kNotFound or "" = none); called per request.
  DaytonaProvider(RemoteConfig config, std::function<Result<std::string>()> api_key);
  ~DaytonaProvider() override;

  const std::string& id() const override;
  Json Info() const override;
  // "ok" when configured and GET /sandbox answers; else kUnavailable with the reason:
  // "not configured", "connection refused: ...", "HTTP 401: ...".
  Result<std::string> Health() override;
  Result<std::unique_ptr<Sandbox>> Start(const SandboxSpec& spec, OutputFn on_output) override;
  // Deletes every sandbox labelled agent9-session=<id> for ids.
  Status Reap(const std::vector<std::string>& ids) override;

  bool AcceptsNostrAuth() const override;
  // GET {base_url}/auth/nostr/challenge -> the challenge string.
  Result<std::string> AuthChallenge() override;
  // POST {base_url}/auth/nostr {"event":signed_event}; kUnauthenticated with the server's
  // reason when refused.
  Result<Json> AuthSubmit(const Json& signed_event) override;

  struct Api;  // the HTTP side, shared with live sandboxes (daytona_api.cc)

 private:
  RemoteConfig config_;
  std::shared_ptr<Api> api_;
};

}  // namespace agent9::containers
