// Private to the Daytona provider (daytona_provider.cc, daytona_sandbox.cc): the HTTP side
// (requests with the bearer key, server errors mapped to Status with the key redacted), and
// the helpers both files share (workdir paths, shell quoting, multipart bodies).
// Thread-safety: Api is immutable after construction and its methods may be called from any
// thread; the helpers are pure functions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "compute/http_client.h"
#include "containers/daytona_provider.h"

namespace agent9::containers {

struct ApiRequest {
  std::string method = "GET";
  std::string path;  // after base_url, query included and encoded: "/sandbox/ID?x=y"
  std::string body;
  std::string content_type = "application/json";
  int64_t timeout_ms = 0;  // 0: config.request_timeout_ms
  const std::atomic<bool>* cancel = nullptr;
  bool auth = true;  // send Authorization: Bearer <key>
};

struct DaytonaProvider::Api {
  Api(RemoteConfig c, std::function<Result<std::string>()> key)
      : config(std::move(c)), api_key(std::move(key)) {}

  // The body of a 2xx answer. Errors: kUnavailable "not configured" (no base_url or key),
  // transport errors as HttpClient gives them, and an HTTP error status mapped by code with
  // the message "HTTP <n>: <server's message>" (never containing the key).
  Result<std::string> Send(const ApiRequest& req) const;
  // Send, then the body parsed as JSON (null when empty).
  Result<Json> SendJson(const ApiRequest& req) const;

  const RemoteConfig config;
  const std::function<Result<std::string>()> api_key;
  mutable compute::HttpClient http;
};

// Percent-encodes a query value.
std::string UrlEncode(std::string_view s);
// The absolute path of rel inside workdir. "" and "." are the workdir itself. Absolute paths
// and ".." components are kPermissionDenied "path escapes the workdir"; NUL is
// kInvalidArgument.
Result<std::string> WorkPath(const std::string& workdir, const std::string& rel);
// s as one single-quoted sh word.
std::string ShellQuote(std::string_view s);
// `/bin/sh -c '<exports> <line>'`: the toolbox splits its command into words itself (no
// shell), so the line goes to sh as one quoted word. kInvalidArgument for a bad env name.
Result<std::string> ShellCommand(const std::map<std::string, std::string>& env,
                                 const std::string& line);
// A multipart/form-data body with one part "file" holding data; sets *content_type.
std::string MultipartFile(std::string_view filename, std::string_view data,
                          std::string* content_type);
// Milliseconds since the epoch of a Daytona modTime ("2024-01-02T03:04:05Z" or Go's
// "2024-01-02 03:04:05.123 +0000 UTC"); 0 when it does not parse.
int64_t ParseModTime(const std::string& s);

}  // namespace agent9::containers
