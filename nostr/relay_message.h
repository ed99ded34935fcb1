// Parsing of the JSON arrays a Nostr relay sends (NIP-01, NIP-42, NIP-45), defensively: any
// text that is not a well-formed message of a known type is an error, never an exception.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9::nostr {

struct RelayMessage {
  enum class Type { kEvent, kEose, kOk, kClosed, kNotice, kAuth, kCount, kUnknown };
  Type type = Type::kUnknown;
  std::string sub_id;     // EVENT, EOSE, CLOSED, COUNT
  Json event;             // EVENT: the event object (not validated)
  std::string event_id;   // OK
  bool ok = false;        // OK
  std::string message;    // OK, CLOSED, NOTICE: the human-readable part (may be empty)
  std::string challenge;  // AUTH
  std::string verb;       // kUnknown: the first element
};

// Parses one text frame. kInvalidArgument for anything that is not a JSON array starting with a
// string, or a known message whose elements have the wrong types. An unknown verb is kUnknown.
Result<RelayMessage> ParseRelayMessage(std::string_view text);

// True when a relay's OK/CLOSED message has the machine-readable prefix (e.g. "auth-required").
bool HasReasonPrefix(std::string_view message, std::string_view prefix);

}  // namespace agent9::nostr
