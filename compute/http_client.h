// HttpClient: the compute providers' HTTP(S) client, over libcurl (OpenSSL). One client per
// provider keeps its connections alive across requests (a pool of reusable easy handles
// sharing one connection cache) and streams response bodies to a callback as they arrive, so
// SSE answers are parsed while the model is still writing.
// Thread-safety: Send may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fs/base/status.h"

namespace agent9::compute {

struct HttpRequest {
  std::string method = "POST";  // GET | POST | PUT | DELETE (a DELETE body is sent if set)
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_ms = 120'000;  // the whole exchange
  int64_t connect_timeout_ms = 5'000;
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // the whole body, unless an on_body callback took it
};

// Receives body bytes as they arrive; returning false aborts the transfer (kAborted).
using BodySink = std::function<bool(std::string_view chunk)>;

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends req. With on_body, the body goes to it (after the status and headers are known:
  // HttpResponse::status is set before the first call) and HttpResponse::body stays empty.
  // Errors: kUnavailable "connection refused: URL" (and other transport failures, naming
  // curl's reason), kDeadlineExceeded on timeout, kAborted when cancel became true or
  // on_body returned false. An HTTP error status is not an error here: see status.
  Result<HttpResponse> Send(const HttpRequest& req, const BodySink& on_body = nullptr,
                            const std::atomic<bool>* cancel = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agent9::compute
