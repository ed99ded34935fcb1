// Relay URLs: ws:// or wss:// host[:port][/path], parsed and normalised once at the edge.
// The normal form lowercases the scheme and host and drops a default port (80 for ws, 443
// for wss); the path (with any query) is kept as given. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/status.h"

namespace agent9::nostr {

struct RelayUrl {
  bool tls = false;         // wss://
  std::string host;         // lowercased; an IPv6 literal without brackets
  uint16_t port = 0;        // explicit or the scheme's default
  std::string target;       // "/" when the URL has no path
  std::string normalized;   // the URL's normal form, the pool's key for it
  std::string host_header;  // Host: value (brackets and a non-default port included)
};

// Parses url; kInvalidArgument names what is wrong (scheme, host, port, characters, length).
Result<RelayUrl> ParseRelayUrl(std::string_view url);

// ParseRelayUrl(url)->normalized.
Result<std::string> NormalizeRelayUrl(std::string_view url);

// Whether some continuation of url (a relay list's last word, still being written) is a URL
// ParseRelayUrl accepts; kInvalidArgument naming the problem as ParseRelayUrl would.
Status CheckRelayUrlPrefix(std::string_view url);

}  // namespace agent9::nostr
