// Message envelopes (DESIGN 4.1): what a write into an inbox becomes. Parsing outside input
// lives here, once, for every transport (inbox file create, HTTP send, CLI send).
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9 {

struct Envelope {
  std::string id;  // client-supplied (idempotency key) or generated
  bool client_id = false;
  std::string from;
  int64_t ts_ms = 0;
  Json body;
  std::string reply_to;  // optional
  // Set by the runtime, never taken from the sender's bytes: for a message from a local
  // agent, {"id","pubkey","npub"} (its identity when it sent it).
  Json sender = nullptr;

  Json ToJson() const;  // {"id","from","ts","body","reply_to"?,"sender"?}
};

inline constexpr size_t kMaxMessageBytes = 256 * 1024;
inline constexpr size_t kMaxMessageIdBytes = 128;

// Turns the bytes written by a sender into an envelope: a JSON object with a "body" key is a
// whole envelope (its "id" makes the write idempotent; its "from"/"ts" are ignored, the
// runtime fills them); any other JSON is the body; other text becomes {"text": ...} (one
// trailing newline dropped). Empty input, an oversized message or a bad id is
// kInvalidArgument / kTooLarge. `new_id` is used when the sender gave no id.
Result<Envelope> ParseEnvelope(std::string_view bytes, std::string_view from, int64_t now_ms,
                               std::string_view new_id);

// 16 random hex bytes from the kernel (getrandom).
std::string RandomHexId(size_t bytes = 8);

}  // namespace agent9
