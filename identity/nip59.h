// NIP-59 gift wrap (https://github.com/nostr-protocol/nips/blob/master/59.md) and the NIP-17
// chat message rumor: an unsigned event (rumor) is NIP-44-encrypted into a kind-13 seal
// signed by its author, and the seal into a kind-1059 gift wrap signed by a one-time key.
// Unwrap checks every layer and that the rumor claims the seal's author.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "fs/base/json.h"
#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/event.h"
#include "identity/sodium.h"

namespace agent9::identity {

inline constexpr int kSealKind = 13;
inline constexpr int kGiftWrapKind = 1059;
inline constexpr int kChatMessageKind = 14;
// Seals and wraps get a created_at up to this many seconds before now (NIP-59, NIP-17).
inline constexpr int64_t kWrapTimeJitterS = 2 * 24 * 60 * 60;

// An unsigned event. id is SHA-256 of its NIP-01 serialization (64 lowercase hex).
struct Rumor {
  std::string id;
  std::string pubkey;  // 64 lowercase hex
  int64_t created_at = 0;
  int kind = 0;
  Json tags = Json::array();
  std::string content;
};

// The NIP-01 id of the rumor's fields, in hex; kInvalidArgument as EventSerialization.
Result<std::string> RumorId(const Rumor& rumor);
// {"id","pubkey","created_at","kind","tags","content"}, with no "sig".
Json RumorToJson(const Rumor& rumor);
// Strict parse of a rumor from outside: the fields' types and forms as for events (bounds of
// event.h), unknown fields ignored, no "sig" (a rumor is never signed). An absent id is
// computed; a present one must match the content. kInvalidArgument ("rumor ...") otherwise.
Result<Rumor> RumorFromJson(const Json& j);

// The gift wrap of rumor from sender_sk to recipient: seal (kind 13, no tags, content =
// NIP-44(sender -> recipient, rumor JSON), signed by the sender) inside a wrap (kind 1059,
// tags [["p", recipient hex]], content = NIP-44(ephemeral -> recipient, seal JSON), signed by
// a fresh random key that is zeroed on return). Both created_at are now_s minus a uniform
// random 0..kWrapTimeJitterS (never below 0). An empty rumor.id is filled in.
// kInvalidArgument when the rumor's pubkey is not the sender's, its id does not match, a field
// is invalid, recipient is not a curve point, or a layer grows past kMaxEventContent.
Result<Event> SealAndWrap(const SecretBytes& sender_sk, const Bytes32& recipient,
                          const Rumor& rumor, int64_t now_s);

struct Unwrapped {
  Rumor rumor;  // rumor.pubkey is the (verified) author: seal.pubkey
  Event seal;
  Event wrap;
};
// Opens a gift wrap addressed to recipient_sk: the wrap must be kind 1059 with a valid id and
// signature; its content must decrypt to a kind-13 seal with a valid id and signature and no
// tags; the seal's content must decrypt (with the seal's pubkey) to a rumor whose pubkey is the
// seal's. The wrap's "p" tag is not required to name recipient_sk (it may be an alias).
// kInvalidArgument naming the layer and the fault ("gift wrap: nip44: invalid MAC" for a wrap
// to another key, "seal pubkey differs from the rumor's", ...).
Result<Unwrapped> Unwrap(const SecretBytes& recipient_sk, const Event& wrap);

// A NIP-17 chat message (kind 14) from sender to recipient created at now_s: tags
// [["p", recipient]] and, when reply_to_event_id is set, ["e", id, "", "reply"]. id is filled
// in; it is left empty when the content is not valid (not UTF-8, too large), which
// SealAndWrap then reports.
Rumor MakeDmRumor(const Bytes32& sender, const Bytes32& recipient, std::string content,
                  int64_t now_s, const std::string& reply_to_event_id = "");

}  // namespace agent9::identity
