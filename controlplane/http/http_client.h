// HttpClient: a small blocking HTTP/1.1 client for the agent9 CLI, so that httplib stays
// inside controlplane/http. It speaks to one daemon (base URL + optional bearer token) and
// reports transport failures as Status values (kUnavailable: cannot connect;
// kDeadlineExceeded: no answer in time).
// Thread-safety: one HttpClient is used by one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/base/status.h"

namespace agent9 {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  HttpHeaders headers;
  // The first header called name (case-insensitive), or "" when absent.
  std::string Header(std::string_view name) const;
};

struct HttpClientOptions {
  int connect_timeout_ms = 5000;
  int read_timeout_ms = 120000;
};

class HttpClient {
 public:
  // base_url: http[s]://host[:port][/prefix]. An empty token sends no Authorization header.
  // kInvalidArgument for a URL that is not http or https.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view base_url, std::string token,
                                                    HttpClientOptions opts = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends method to prefix + target (an already percent-encoded path and query). Any HTTP
  // status is a successful Result; only transport failures are errors.
  Result<HttpResponse> Send(std::string_view method, std::string_view target,
                            std::string_view body = {},
                            std::string_view content_type = "application/octet-stream",
                            const HttpHeaders& headers = {});
  // GET that hands the body to on_data as it arrives (SSE); on_data returns false to stop.
  // The returned response carries status and headers; its body holds the bytes of a non-2xx
  // answer (the JSON error), which are not passed to on_data.
  Result<HttpResponse> Stream(std::string_view target, const HttpHeaders& headers,
                              const std::function<bool(std::string_view)>& on_data);

  const std::string& base_url() const { return base_url_; }

 private:
  struct Impl;
  HttpClient(std::string base_url, std::unique_ptr<Impl> impl);
  std::string base_url_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes s for one URL path segment or query value: every byte but the RFC 3986
// unreserved characters A-Z a-z 0-9 - . _ ~ becomes %XX.
std::string PercentEncode(std::string_view s);

}  // namespace agent9
