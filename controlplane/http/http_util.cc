#include "controlplane/http/http_util.h"

#include <ctime>

#include "controlplane/http/status_map.h"
#include "fs/base/numbers.h"

namespace agent9::http {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Target SplitTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

Result<Query> Query::Parse(std::string_view raw) {
  Query q;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view item = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    AGENT9_ASSIGN_OR_RETURN(std::string key, PercentDecode(k, true));
    AGENT9_ASSIGN_OR_RETURN(std::string value, PercentDecode(v, true));
    if (q.Get(key)) return Status::InvalidArgument("duplicate query parameter", key);
    q.items_.emplace_back(std::move(key), std::move(value));
  }
  return q;
}

std::optional<std::string_view> Query::Get(std::string_view key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

Result<size_t> Query::Limit(std::string_view key, size_t default_value, size_t max) const {
  auto v = Get(key);
  if (!v) return default_value;
  auto bad = [&] {
    return Status::InvalidArgument(std::string(key) + " must be an integer from 1 to " +
                                   std::to_string(max));
  };
  auto n = ParseDecimal(*v, 1, static_cast<int64_t>(std::min<size_t>(max, INT64_MAX)));
  if (!n) return bad();
  return static_cast<size_t>(*n);
}

Result<bool> Query::Flag(std::string_view key) const {
  auto v = Get(key);
  if (!v) return false;
  if (*v == "1" || *v == "true" || v->empty()) return true;
  if (*v == "0" || *v == "false") return false;
  return Status::InvalidArgument(std::string(key) + " must be 1 or 0");
}

Result<Caller> Authenticate(const httplib::Request& req, Authenticator* auth,
                            std::string_view body) {
  size_t n = req.get_header_value_count("Authorization");
  if (n == 0) return Caller::Public();
  if (n > 1) return Status::Unauthenticated("more than one Authorization header");
  const std::string header = req.get_header_value("Authorization");
  std::string_view v = TrimSpaces(header);
  size_t sp = v.find_first_of(" \t");
  std::string_view scheme = v.substr(0, sp);
  if (!IEquals(scheme, "Bearer")) {
    HttpAuth a;
    a.scheme = scheme;
    a.credentials = sp == std::string_view::npos ? std::string_view() : TrimSpaces(v.substr(sp));
    a.method = req.method;
    a.url = "http://" + req.get_header_value("Host") + req.target;
    a.body = body;
    return auth->AuthenticateRequest(a);
  }
  std::string_view token =
      sp == std::string_view::npos ? std::string_view() : TrimSpaces(v.substr(sp));
  if (token.empty()) return Status::Unauthenticated("missing bearer token");
  auto who = auth->Authenticate(token);
  if (who.ok()) return who;
  // Never echo a message that could carry the token back to the client or a log.
  const Status& st = who.status();
  if (st.code() == Code::kUnauthenticated || st.message().find(token) != std::string::npos) {
    return Status::Unauthenticated("invalid token");
  }
  return st;
}

Status ReadBody(const httplib::Request& req, httplib::Response& res,
                const httplib::ContentReader& reader, size_t max_bytes, std::string* body) {
  body->clear();
  if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
    return Status::OK();
  }
  bool too_large = false;
  bool ok = reader([&](const char* data, size_t len) {
    if (body->size() + len > max_bytes) {
      too_large = true;
      return false;
    }
    body->append(data, len);
    return true;
  });
  if (ok) return Status::OK();
  res.set_header("Connection", "close");
  body->clear();
  // httplib sets 413 itself when a Content-Length is over its payload limit.
  if (too_large || res.status == 413) {
    return Status::TooLarge("request body over " + std::to_string(max_bytes) + " bytes");
  }
  return Status::InvalidArgument("could not read the request body");
}

void SendError(httplib::Response& res, const Status& status) {
  if (status.ok()) {  // a bug in a handler; never answer an error with "ok"
    SendError(res, Status::Internal("error response without an error"));
    return;
  }
  int code = HttpStatusFor(status.code());
  res.status = code;
  if (code == 429) res.set_header("Retry-After", "1");
  if (code == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"agent9\"");
  res.set_content(ErrorBody(status), "application/json");
}

void SendJson(httplib::Response& res, int http_status, const Json& body) {
  res.status = http_status;
  res.set_content(DumpJson(body) + "\n", "application/json");
}

void SendRaw(httplib::Response& res, int http_status, std::string_view error,
             std::string_view message) {
  res.status = http_status;
  Json j = {{"error", std::string(error)}, {"message", std::string(message)}};
  res.set_content(DumpJson(j) + "\n", "application/json");
}

std::string HttpDate(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

}  // namespace agent9::http
