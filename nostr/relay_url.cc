#include "nostr/relay_url.h"

#include <cctype>
#include <charconv>

namespace agent9::nostr {
namespace {

constexpr size_t kMaxUrlLength = 2048;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

Result<RelayUrl> ParseRelayUrl(std::string_view url) {
  if (url.size() > kMaxUrlLength) return Status::InvalidArgument("relay url", "too long");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return Status::InvalidArgument("relay url", "space or control character");
    }
  }
  RelayUrl out;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Status::InvalidArgument("relay url", "want ws:// or wss://");
  }
  std::string scheme = Lower(url.substr(0, scheme_end));
  if (scheme == "wss") {
    out.tls = true;
  } else if (scheme != "ws") {
    return Status::InvalidArgument("relay url", "want ws:// or wss://, not " + scheme);
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (path.find('#') != std::string_view::npos) {
    return Status::InvalidArgument("relay url", "fragment not allowed");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("relay url", "user info not allowed");
  }
  std::string_view host;
  std::string_view port;
  bool ipv6 = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("relay url", "bad IPv6");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("relay url", "bad IPv6");
      port = after.substr(1);
      if (port.empty()) return Status::InvalidArgument("relay url", "empty port");
    }
    ipv6 = true;
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return Status::InvalidArgument("relay url", "bad IPv6");
      }
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Status::InvalidArgument("relay url", "empty port");
    }
    for (char c : host) {
      if (!IsHostChar(c)) return Status::InvalidArgument("relay url", "bad character in host");
    }
  }
  if (host.empty()) return Status::InvalidArgument("relay url", "no host");
  uint16_t default_port = out.tls ? 443 : 80;
  out.port = default_port;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Status::InvalidArgument("relay url", "bad port");
    }
    out.port = static_cast<uint16_t>(value);
  }
  out.host = Lower(host);
  out.target = path.empty() ? "/" : std::string(path);
  if (out.target.front() == '?') out.target.insert(0, "/");
  std::string host_part = ipv6 ? "[" + out.host + "]" : out.host;
  out.host_header = host_part;
  if (out.port != default_port) out.host_header += ":" + std::to_string(out.port);
  out.normalized = scheme + "://" + out.host_header + std::string(path);
  return out;
}

Status CheckRelayUrlPrefix(std::string_view url) {
  auto bad = [](std::string_view why) { return Status::InvalidArgument("relay url", why); };
  if (url.size() > kMaxUrlLength) return bad("too long");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return bad("space or control character");
  }
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {  // still in the scheme
    std::string low = Lower(url);
    if (std::string_view("ws://").starts_with(low) || std::string_view("wss://").starts_with(low)) {
      return Status::OK();
    }
    return bad("want ws:// or wss://");
  }
  std::string scheme = Lower(url.substr(0, scheme_end));
  if (scheme != "ws" && scheme != "wss") return bad("want ws:// or wss://, not " + scheme);
  std::string_view rest = url.substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?");
  bool whole = path_start != std::string_view::npos;  // the authority can no longer grow
  std::string_view authority = rest.substr(0, path_start);
  if (whole && rest.substr(path_start).find('#') != std::string_view::npos) {
    return bad("fragment not allowed");
  }
  if (authority.find('@') != std::string_view::npos) return bad("user info not allowed");
  std::string_view host, port;
  bool has_port = false, host_whole = whole;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    host = authority.substr(1, close == std::string_view::npos ? close : close - 1);
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return bad("bad IPv6");
      }
    }
    if (close == std::string_view::npos) return whole ? bad("bad IPv6") : Status::OK();
    host_whole = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("bad IPv6");
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    for (char c : host) {
      if (!IsHostChar(c)) return bad("bad character in host");
    }
    has_port = colon != std::string_view::npos;
    host_whole = host_whole || has_port;
    if (has_port) port = authority.substr(colon + 1);
  }
  if (host.empty() && host_whole) return bad("no host");
  if (!has_port) return Status::OK();
  if (port.empty()) return whole ? bad("empty port") : Status::OK();
  // Digits only, at most 65535 (leading zeros allowed, as std::from_chars reads them); a
  // port of 0 can still become 01 until the path begins.
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("bad port");
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > 65535) return bad("bad port");
  }
  if (value == 0 && whole) return bad("bad port");
  return Status::OK();
}

Result<std::string> NormalizeRelayUrl(std::string_view url) {
  AGENT9_ASSIGN_OR_RETURN(RelayUrl parsed, ParseRelayUrl(url));
  return parsed.normalized;
}

}  // namespace agent9::nostr
