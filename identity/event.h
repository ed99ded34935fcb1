// NIP-01 events: the canonical serialization and id, signing, verification, and strict
// parsing of events from outside JSON. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "fs/base/json.h"
#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity {

// Bounds on an event's size, applied when parsing and when serializing.
inline constexpr size_t kMaxEventContent = 1 << 20;  // bytes
inline constexpr size_t kMaxEventTags = 5000;
inline constexpr size_t kMaxEventTagBytes = 1 << 20;  // sum over all tag strings

struct Event {
  std::string id;      // 64 lowercase hex
  std::string pubkey;  // 64 lowercase hex
  int64_t created_at = 0;
  int kind = 0;
  Json tags = Json::array();  // array of arrays of strings
  std::string content;
  std::string sig;  // 128 lowercase hex
};

// `[0,pubkey,created_at,kind,tags,content]` with no whitespace, escaped as JSON.stringify does
// (the 7 short escapes, other C0 controls as \u00xx, everything else raw). kInvalidArgument for
// a pubkey that is not 64 lowercase hex, created_at < 0, kind outside 0..65535, tags that are
// not an array of arrays of strings, invalid UTF-8 anywhere, or sizes over the bounds above.
Result<std::string> EventSerialization(const std::string& pubkey_hex, int64_t created_at, int kind,
                                       const Json& tags, const std::string& content);
// SHA-256 of EventSerialization.
Result<Bytes32> EventId(const std::string& pubkey_hex, int64_t created_at, int kind,
                        const Json& tags, const std::string& content);
// A complete signed event by sk. aux_rand null = random (pass one only for test vectors).
Result<Event> SignEvent(const SecretBytes& sk, int kind, Json tags, std::string content,
                        int64_t created_at, const Bytes32* aux_rand = nullptr);

// Strict validation of an event from outside: every field present with the right type and
// form; unknown fields are ignored. Does not check the id or signature (see VerifyEvent).
Result<Event> EventFromJson(const Json& j);
Json EventToJson(const Event& e);
// OK when the id matches the content and the signature verifies; kInvalidArgument "event id
// does not match its content" / "event signature does not verify" (or a format error).
Status VerifyEvent(const Event& e);

}  // namespace agent9::identity
