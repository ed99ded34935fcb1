// Internal helpers shared by the HTTP route handlers: strict parsing of the raw request
// target and query, bearer-token authentication, body reading with a size limit, and JSON
// responses. Only controlplane/http/*.cc include this (it exposes httplib types).
// Thread-safety: pure functions over their arguments.
#pragma once

#include <httplib.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/control_api.h"
#include "fs/base/json.h"
#include "fs/base/path.h"
#include "fs/base/status.h"

namespace agent9::http {

// The undecoded path and query of a request target ("/v1/fs/a%20b?watch=1").
struct Target {
  std::string_view path;
  std::string_view query;
};
Target SplitTarget(std::string_view target);

// PercentDecode lives in fs/base/path.h (one decoder for paths and queries).
using ::agent9::PercentDecode;

// A decoded query string. Duplicate keys are an error (kInvalidArgument).
class Query {
 public:
  static Result<Query> Parse(std::string_view raw);
  // The value of key, or nullopt when absent.
  std::optional<std::string_view> Get(std::string_view key) const;
  // A decimal integer in [1, max]; default_value when absent. kInvalidArgument otherwise.
  Result<size_t> Limit(std::string_view key, size_t default_value, size_t max) const;
  // "1"/"true" → true, "0"/"false" → false, absent → false; kInvalidArgument otherwise.
  Result<bool> Flag(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// Resolves the Authorization header: absent → Caller::Public(); "Bearer <token>" →
// auth->Authenticate; anything else → kUnauthenticated. Messages never contain the token.
// Another scheme (NIP-98's "Nostr <base64 event>") goes to auth->AuthenticateRequest with the
// method, the URL as the client addressed it (http://<Host><target>) and the body.
Result<Caller> Authenticate(const httplib::Request& req, Authenticator* auth,
                            std::string_view body = {});

// Reads a POST/PUT body through the content reader, failing with kTooLarge past max_bytes
// (so chunked bodies are bounded too). On failure the answer carries Connection: close,
// since the rest of the body was not consumed.
Status ReadBody(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader, size_t max_bytes, std::string* body);

// Writes the JSON error document with the mapped status (plus Retry-After for 429 and
// WWW-Authenticate for 401).
void SendError(httplib::Response& res, const Status& status);
void SendJson(httplib::Response& res, int http_status, const Json& body);
// A transport-level error that has no Code (405); same JSON shape.
void SendRaw(httplib::Response& res, int http_status, std::string_view error,
             std::string_view message);

// "Sun, 06 Nov 1994 08:49:37 GMT" for a Unix-ms time.
std::string HttpDate(int64_t ms);

}  // namespace agent9::http
