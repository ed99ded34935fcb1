#include "containers/daytona_api.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

namespace agent9::containers {

namespace {

// Replaces every occurrence of secret in s (a server may echo the key back).
std::string Redact(std::string s, const std::string& secret) {
  if (secret.size() < 4) return s;
  for (size_t at = s.find(secret); at != std::string::npos; at = s.find(secret, at)) {
    s.replace(at, secret.size(), "[redacted]");
  }
  return s;
}

// The server's message in an error body: Daytona answers {"statusCode","message","error"}
// (message may be a list of validation errors); else the start of the raw body.
std::string ServerMessage(const std::string& body) {
  auto j = ParseJson(body, "error body");
  if (j.ok() && j->is_object()) {
    auto m = j->find("message");
    if (m != j->end() && m->is_string() && !m->get<std::string>().empty()) {
      return m->get<std::string>();
    }
    if (m != j->end() && m->is_array()) {
      std::string out;
      for (const auto& part : *m) {
        if (!part.is_string()) continue;
        if (!out.empty()) out += "; ";
        out += part.get<std::string>();
      }
      if (!out.empty()) return out;
    }
    auto e = j->find("error");
    if (e != j->end() && e->is_string()) return e->get<std::string>();
  }
  std::string raw = body.substr(0, 300);
  for (char& c : raw) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return raw.empty() ? "(no message)" : raw;
}

Code CodeForHttp(int status) {
  switch (status) {
    case 400:
    case 422:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kPermissionDenied;
    case 404:
      return Code::kNotFound;
    case 408:
    case 504:
      return Code::kDeadlineExceeded;
    case 409:
      return Code::kAlreadyExists;
    case 413:
      return Code::kTooLarge;
    case 429:
      return Code::kResourceExhausted;
    default:
      return status >= 500 ? Code::kUnavailable : Code::kInternal;
  }
}

}  // namespace

Result<std::string> DaytonaProvider::Api::Send(const ApiRequest& req) const {
  if (config.base_url.empty()) return Status::Unavailable("not configured: no base_url");
  std::string key;
  if (req.auth) {
    auto k = api_key ? api_key() : Result<std::string>(Status::NotFound("no key"));
    if (!k.ok() || k->empty()) {
      return Status::Unavailable("not configured: no API key ($" + config.api_key_env +
                                 " or a stored credential)");
    }
    key = std::move(k).value();
  }
  compute::HttpRequest h;
  h.method = req.method;
  h.url = config.base_url + req.path;
  h.body = req.body;
  h.timeout_ms = req.timeout_ms > 0 ? req.timeout_ms : config.request_timeout_ms;
  if (!req.body.empty() || req.method == "POST") {
    h.headers.emplace_back("Content-Type", req.content_type);
  }
  h.headers.emplace_back("Accept", "application/json");
  if (!key.empty()) h.headers.emplace_back("Authorization", "Bearer " + key);
  auto resp = http.Send(h, nullptr, req.cancel);
  if (!resp.ok()) {
    return Status(resp.status().code(), Redact(resp.status().message(), key));
  }
  if (resp->status >= 200 && resp->status < 300) return std::move(resp->body);
  std::string msg = "HTTP " + std::to_string(resp->status) + ": " + ServerMessage(resp->body);
  return Status(CodeForHttp(resp->status), Redact(std::move(msg), key));
}

Result<Json> DaytonaProvider::Api::SendJson(const ApiRequest& req) const {
  AGENT9_ASSIGN_OR_RETURN(std::string body, Send(req));
  if (body.empty()) return Json(nullptr);
  auto j = ParseJson(body, "Daytona answer");
  if (!j.ok()) return Status::Unavailable("Daytona answered with bad JSON", req.path);
  return j;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> WorkPath(const std::string& workdir, const std::string& rel) {
  if (rel.find('\0') != std::string::npos) return Status::InvalidArgument("NUL in a path");
  if (!rel.empty() && rel[0] == '/') return Status::PermissionDenied("path escapes the workdir");
  std::string out = workdir;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  size_t i = 0;
  while (i <= rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string::npos) j = rel.size();
    std::string_view part(rel.data() + i, j - i);
    if (part == "..") return Status::PermissionDenied("path escapes the workdir");
    if (!part.empty() && part != ".") {
      if (out != "/") out += '/';
      out.append(part);
    }
    i = j + 1;
  }
  return out;
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Result<std::string> ShellCommand(const std::map<std::string, std::string>& env,
                                 const std::string& line) {
  std::string script;
  for (const auto& [name, value] : env) {
    bool ok = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
    for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok) return Status::InvalidArgument("bad environment variable name", name);
    script += "export " + name + "=" + ShellQuote(value) + "\n";
  }
  script += line;
  return "/bin/sh -c " + ShellQuote(script);
}

std::string MultipartFile(std::string_view filename, std::string_view data,
                          std::string* content_type) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string boundary = "agent9-" + std::to_string(rng()) + std::to_string(rng());
  *content_type = "multipart/form-data; boundary=" + boundary;
  std::string name;
  for (char c : filename) name += (c == '"' || c == '\r' || c == '\n') ? '_' : c;
  std::string out = "--" + boundary + "\r\n";
  out += "Content-Disposition: form-data; name=\"file\"; filename=\"" + name + "\"\r\n";
  out += "Content-Type: application/octet-stream\r\n\r\n";
  out.append(data);
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

int64_t ParseModTime(const std::string& s) {
  std::tm tm{};
  char sep = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 7) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  time_t t = timegm(&tm);
  return t < 0 ? 0 : static_cast<int64_t>(t) * 1000;
}

}  // namespace agent9::containers
