#include "controlplane/http/http_client.h"

#include <httplib.h>

#include <cctype>

namespace agent9 {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

HttpResponse Convert(const httplib::Response& r) {
  HttpResponse out;
  out.status = r.status;
  out.body = r.body;
  for (const auto& [k, v] : r.headers) out.headers.emplace_back(k, v);
  return out;
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (IEquals(k, name)) return v;
  }
  return {};
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct HttpClient::Impl {
  Impl(const std::string& scheme_host_port, std::string p) : cli(scheme_host_port), prefix(p) {}
  httplib::Client cli;
  std::string prefix;  // "" or "/base" (no trailing slash)

  Status TransportError(httplib::Error e, const std::string& url) const {
    switch (e) {
      case httplib::Error::Read:
        return Status(Code::kDeadlineExceeded,
                      "no answer from agent9 at " + url + " (read failed or timed out)");
      case httplib::Error::Connection:
      case httplib::Error::ConnectionTimeout:
        return Status::Unavailable("cannot reach agent9 at " + url + ": is the daemon running?");
      default:
        return Status::Unavailable("request to agent9 at " + url +
                                   " failed: " + httplib::to_string(e));
    }
  }
};

HttpClient::HttpClient(std::string base_url, std::unique_ptr<Impl> impl)
    : base_url_(std::move(base_url)), impl_(std::move(impl)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view base_url, std::string token,
                                                       HttpClientOptions opts) {
  std::string url(base_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return Status::InvalidArgument("bad server URL (want http://host:port)", url);
  }
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") {
    return Status::InvalidArgument("bad server URL scheme (want http or https)", url);
  }
  size_t path_start = url.find('/', scheme_end + 3);
  std::string authority =
      url.substr(scheme_end + 3,
                 path_start == std::string::npos ? std::string::npos : path_start - scheme_end - 3);
  if (authority.empty()) return Status::InvalidArgument("bad server URL (no host)", url);
  std::string prefix = path_start == std::string::npos ? "" : url.substr(path_start);
  auto impl = std::make_unique<Impl>(scheme + "://" + authority, prefix);
  if (!impl->cli.is_valid()) return Status::InvalidArgument("bad server URL", url);
  auto ms = [](int v) { return std::chrono::milliseconds(v); };
  impl->cli.set_connection_timeout(ms(opts.connect_timeout_ms));
  impl->cli.set_read_timeout(ms(opts.read_timeout_ms));
  impl->cli.set_write_timeout(ms(opts.read_timeout_ms));
  impl->cli.set_keep_alive(true);
  impl->cli.set_url_encode(false);  // targets arrive percent-encoded already
  impl->cli.set_tcp_nodelay(true);
  if (!token.empty()) impl->cli.set_bearer_token_auth(token);
  return std::unique_ptr<HttpClient>(new HttpClient(url, std::move(impl)));  // NOLINT: private ctor
}

Result<HttpResponse> HttpClient::Send(std::string_view method, std::string_view target,
                                      std::string_view body, std::string_view content_type,
                                      const HttpHeaders& headers) {
  httplib::Request req;
  for (const auto& [k, v] : headers) req.set_header(k, v);
  req.method = std::string(method);
  req.path = impl_->prefix + std::string(target);
  req.body = std::string(body);
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.set_header("Content-Type", std::string(content_type));
  }
  auto r = impl_->cli.send(req);
  if (!r) return impl_->TransportError(r.error(), base_url_);
  return Convert(*r);
}

Result<HttpResponse> HttpClient::Stream(std::string_view target, const HttpHeaders& headers,
                                        const std::function<bool(std::string_view)>& on_data) {
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  int status = 0;
  std::string error_body;
  bool stopped_by_caller = false;
  auto r = impl_->cli.Get(
      impl_->prefix + std::string(target), h,
      [&](const httplib::Response& resp) {
        status = resp.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (status < 200 || status >= 300) {
          error_body.append(data, len);
          return true;
        }
        if (!on_data(std::string_view(data, len))) {
          stopped_by_caller = true;
          return false;
        }
        return true;
      });
  if (!r) {
    if (stopped_by_caller && r.error() == httplib::Error::Canceled) {
      HttpResponse out;
      out.status = status;
      return out;
    }
    return impl_->TransportError(r.error(), base_url_);
  }
  HttpResponse out = Convert(*r);
  out.body = std::move(error_body);
  return out;
}

}  // namespace agent9
