// FakeDaytona: a loopback server speaking the subset of Daytona's sandbox REST API that
// containers/daytona_provider.cc uses, so the remote provider is tested through its real
// client code. Sandboxes are real enough: each is a temp directory standing for the
// sandbox's root ("/work/x" is <root>/work/x), and process/execute runs the command with
// /bin/sh -c on this machine, in the mapped cwd, with the sandbox's env, under the request's
// timeout (seconds), output combined as Daytona returns it.
//   POST   /sandbox                               create: {"id","state":"creating",...}
//   GET    /sandbox?labels=<json>                 list, filtered by labels
//   GET    /sandbox/{id}                          {"id","state","errorReason"?,"labels",...}
//   DELETE /sandbox/{id}                          kills its processes, removes its root
//   POST   /toolbox/{id}/toolbox/process/execute  {"command","cwd"?,"timeout"?} ->
//                                                 {"exitCode","result"}; 408 on timeout
//   GET    /toolbox/{id}/toolbox/files?path=      [FileInfo]; /files/info?path= FileInfo
//   GET    /toolbox/{id}/toolbox/files/download?path=
//   POST   /toolbox/{id}/toolbox/files/upload?path=   multipart/form-data, part "file"
//   POST   /toolbox/{id}/toolbox/files/folder?path=&mode=
//   DELETE /toolbox/{id}/toolbox/files?path=[&recursive=true]
// And this project's Nostr auth convention (Daytona has none; docs/DAYTONA.md):
//   GET  /auth/nostr/challenge  {"challenge"};  POST /auth/nostr {"event"} -> {"ok","pubkey"}
//   or 401 {"error"}: the event must be kind 22242, carry ["challenge",<one issued, unused>]
//   and ["u",<this server's url>], and its id and BIP-340 signature must verify.
// With api_key set, every sandbox/toolbox request needs "Authorization: Bearer <api_key>"
// (else 401). Errors are {"statusCode","message","error"} like Daytona's.
// Thread-safety: all methods may be called from any thread while the server runs.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace agent9::testing {

struct FakeDaytonaOptions {
  std::string host = "127.0.0.1";
  int port = 0;         // 0: a free port
  std::string api_key;  // required bearer token; empty: any (or none)
  // A new sandbox stays "creating" for the first half of this, then "starting", then
  // "started".
  int64_t start_delay_ms = 0;
  int threads = 16;
};

class FakeDaytona {
 public:
  explicit FakeDaytona(FakeDaytonaOptions opts = {});  // listening when this returns
  ~FakeDaytona();                                      // kills processes, removes roots
  FakeDaytona(const FakeDaytona&) = delete;
  FakeDaytona& operator=(const FakeDaytona&) = delete;

  int port() const;
  std::string url() const;  // "http://127.0.0.1:PORT": the provider's base_url

  // Injections, for every later request until changed.
  void SetStartDelayMs(int64_t ms);
  // Create answers this status (0 = normal) with message.
  void FailCreate(int status, const std::string& message);
  // New sandboxes end in state ("error" or "build_failed") with errorReason reason after the
  // start delay; "" = they start.
  void FailStart(const std::string& state, const std::string& reason);
  // 401 answers echo the bearer token they got (to test that the client redacts it).
  void EchoTokenInErrors(bool on);

  // Sandboxes not deleted, and all ever created.
  int LiveSandboxes() const;
  int CreatedSandboxes() const;
  // The root directory of sandbox id ("" when unknown or deleted).
  std::string RootOf(const std::string& id) const;
  // The last create body, and requests per route key ("POST /sandbox", "execute", ...).
  nlohmann::json LastCreateBody() const;
  int64_t Requests(const std::string& key) const;
  // Creates a sandbox directly (as a previous daemon run would have left), labelled labels;
  // returns its id.
  std::string Plant(const nlohmann::json& labels);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace agent9::testing
