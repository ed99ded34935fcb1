#include "compute/http_client.h"

#include <curl/curl.h>

#include <array>
#include <cctype>
#include <mutex>
#include <string_view>
#include <vector>

namespace agent9::compute {

namespace {

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct ShareDeleter {
  void operator()(CURLSH* s) const { curl_share_cleanup(s); }
};
using SharePtr = std::unique_ptr<CURLSH, ShareDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

constexpr size_t kMaxIdleHandles = 256;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One exchange's state, reached from curl's callbacks.
struct Transfer {
  HttpResponse* resp = nullptr;
  const BodySink* on_body = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool sink_stopped = false;

  bool Cancelled() const { return cancel != nullptr && cancel->load(); }
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    // A status line: a new response (after a 100 Continue, say) starts over.
    t->resp->headers.clear();
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      int code = 0;
      for (size_t i = sp + 1; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]));
           ++i) {
        code = code * 10 + (line[i] - '0');
        if (code > 999) break;
      }
      t->resp->status = code;
    }
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(Trim(line.substr(0, colon)));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t->resp->headers[name] = std::string(Trim(line.substr(colon + 1)));
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->Cancelled()) return 0;
  std::string_view chunk(data, size * n);
  if (t->on_body != nullptr && *t->on_body) {
    if (!(*t->on_body)(chunk)) {
      t->sink_stopped = true;
      return 0;
    }
  } else {
    t->resp->body.append(chunk);
  }
  return size * n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->Cancelled() ? 1 : 0;
}

}  // namespace

struct HttpClient::Impl {
  SharePtr share;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_mu;
  std::mutex pool_mu;
  std::vector<EasyPtr> idle;  // guarded by pool_mu

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Impl*>(user)->share_mu[data].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Impl*>(user)->share_mu[data].unlock();
  }

  EasyPtr Take() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        EasyPtr h = std::move(idle.back());
        idle.pop_back();
        curl_easy_reset(h.get());  // keeps the handle's live connections
        return h;
      }
    }
    return EasyPtr(curl_easy_init());
  }

  void Give(EasyPtr h) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (idle.size() < kMaxIdleHandles) idle.push_back(std::move(h));
  }
};

HttpClient::HttpClient() : impl_(std::make_unique<Impl>()) {
  GlobalInit();
  impl_->share.reset(curl_share_init());
  if (impl_->share) {
    CURLSH* s = impl_->share.get();
    curl_share_setopt(s, CURLSHOPT_LOCKFUNC, &Impl::Lock);
    curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, &Impl::Unlock);
    curl_share_setopt(s, CURLSHOPT_USERDATA, impl_.get());
    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
}

HttpClient::~HttpClient() {
  // Easy handles first: they must not outlive the share they use.
  impl_->idle.clear();
}

Result<HttpResponse> HttpClient::Send(const HttpRequest& req, const BodySink& on_body,
                                      const std::atomic<bool>* cancel) {
  if (req.method != "GET" && req.method != "POST" && req.method != "PUT" &&
      req.method != "DELETE") {
    return Status::InvalidArgument("unsupported HTTP method", req.method);
  }
  EasyPtr handle = impl_->Take();
  if (!handle) return Status::Internal("curl_easy_init failed");
  CURL* c = handle.get();
  HttpResponse resp;
  Transfer t;
  t.resp = &resp;
  t.on_body = &on_body;
  t.cancel = cancel;
  char errbuf[CURL_ERROR_SIZE] = {0};

  SlistPtr headers;
  auto add_header = [&headers](const std::string& line) {
    curl_slist* l = curl_slist_append(headers.get(), line.c_str());
    if (l != nullptr) {
      (void)headers.release();
      headers.reset(l);
    }
  };
  for (const auto& [name, value] : req.headers) add_header(name + ": " + value);
  add_header("Expect:");  // no 100-continue round trip for large bodies

  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  if (impl_->share) curl_easy_setopt(c, CURLOPT_SHARE, impl_->share.get());
  // Keep as many idle connections as jobs may run at once (libcurl's default keeps 5, so 64
  // concurrent jobs reconnected for almost every request: bench/results/compute.md).
  curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1024L);
  if (req.timeout_ms > 0)
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms));
  if (req.connect_timeout_ms > 0) {
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout_ms));
  }
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "DELETE" && req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    if (req.method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);

  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0) {
    resp.status = static_cast<int>(code);
  }
  // Detach what dies with this call before the handle goes back to the pool.
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  impl_->Give(std::move(handle));

  if (rc == CURLE_OK) return resp;
  if (t.Cancelled()) return Status::Aborted("cancelled");
  if (t.sink_stopped) return Status::Aborted("stopped by the body sink");
  switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
      return Status::Aborted("cancelled");
    case CURLE_COULDNT_CONNECT:
      return Status::Unavailable("connection refused", req.url);
    case CURLE_OPERATION_TIMEDOUT:
      return Status(Code::kDeadlineExceeded,
                    "timed out after " + std::to_string(req.timeout_ms) + " ms: " + req.url);
    default: {
      std::string why = curl_easy_strerror(rc);
      if (errbuf[0] != '\0') why += std::string(" (") + errbuf + ")";
      return Status::Unavailable(why, req.url);
    }
  }
}

}  // namespace agent9::compute
