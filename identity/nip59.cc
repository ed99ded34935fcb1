#include "identity/nip59.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "identity/nip44.h"
#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

// The same fault, told as happening in one layer ("gift wrap: ...", "seal: ...").
Status In(std::string_view layer, const Status& st) {
  return Status(st.code(), std::string(layer) + ": " + st.message());
}

// A created_at in [now_s - kWrapTimeJitterS, now_s], never below 0.
int64_t RandomPast(int64_t now_s) {
  uint64_t r = 0;
  RandomBytes(std::span(reinterpret_cast<uint8_t*>(&r), sizeof r));
  // The modulo bias over 2^64 is far below anything observable.
  auto back = static_cast<int64_t>(r % static_cast<uint64_t>(kWrapTimeJitterS + 1));
  return std::max<int64_t>(0, now_s - back);
}

Result<int64_t> GetInt(const Json& j, const char* name, int64_t min, int64_t max) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) {
    return Status::InvalidArgument(std::string("rumor ") + name + " missing or not an integer");
  }
  if (it->is_number_unsigned()) {
    if (it->get<uint64_t>() > static_cast<uint64_t>(max)) {
      return Status::InvalidArgument(std::string("rumor ") + name + " out of range");
    }
    return static_cast<int64_t>(it->get<uint64_t>());
  }
  auto v = it->get<int64_t>();
  if (v < min || v > max) {
    return Status::InvalidArgument(std::string("rumor ") + name + " out of range");
  }
  return v;
}

Result<std::string> GetString(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return Status::InvalidArgument(std::string("rumor ") + name + " missing or not a string");
  }
  return it->get<std::string>();
}

// NIP-44 encryption of JSON text from sk to pub.
Result<std::string> EncryptJson(const SecretBytes& sk, const Bytes32& pub, const Json& j) {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes conv, Nip44ConversationKey(sk, pub));
  return Nip44Encrypt(DumpJson(j), conv);
}

// The JSON document in `payload`, a NIP-44 payload from `from_hex` to sk.
Result<Json> DecryptJson(const SecretBytes& sk, const std::string& from_hex,
                         const std::string& payload) {
  AGENT9_ASSIGN_OR_RETURN(Bytes32 from, HexDecode32(from_hex));
  AGENT9_ASSIGN_OR_RETURN(SecretBytes conv, Nip44ConversationKey(sk, from));
  AGENT9_ASSIGN_OR_RETURN(std::string text, Nip44Decrypt(payload, conv));
  return ParseJsonObject(text, "content", kMaxInputJsonDepth);
}

}  // namespace

Result<std::string> RumorId(const Rumor& rumor) {
  AGENT9_ASSIGN_OR_RETURN(
      Bytes32 id, EventId(rumor.pubkey, rumor.created_at, rumor.kind, rumor.tags, rumor.content));
  return HexEncode(id);
}

Json RumorToJson(const Rumor& rumor) {
  return Json{{"id", rumor.id},     {"pubkey", rumor.pubkey}, {"created_at", rumor.created_at},
              {"kind", rumor.kind}, {"tags", rumor.tags},     {"content", rumor.content}};
}

Result<Rumor> RumorFromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("rumor must be a JSON object");
  if (j.contains("sig")) {
    return Status::InvalidArgument("rumor must not be signed (it has a sig)");
  }
  Rumor r;
  AGENT9_ASSIGN_OR_RETURN(r.pubkey, GetString(j, "pubkey"));
  AGENT9_ASSIGN_OR_RETURN(r.created_at,
                          GetInt(j, "created_at", 0, std::numeric_limits<int64_t>::max()));
  AGENT9_ASSIGN_OR_RETURN(int64_t kind, GetInt(j, "kind", 0, 65535));
  r.kind = static_cast<int>(kind);
  auto tags = j.find("tags");
  if (tags == j.end()) return Status::InvalidArgument("rumor tags missing");
  r.tags = *tags;
  AGENT9_ASSIGN_OR_RETURN(r.content, GetString(j, "content"));
  // EventId checks every field's form and size (pubkey hex, tags shape, UTF-8, bounds).
  auto id = RumorId(r);
  if (!id.ok()) return In("rumor", id.status());
  if (j.contains("id")) {
    AGENT9_ASSIGN_OR_RETURN(r.id, GetString(j, "id"));
    if (r.id != *id) return Status::InvalidArgument("rumor id does not match its content");
  } else {
    r.id = std::move(*id);
  }
  return r;
}

Result<Event> SealAndWrap(const SecretBytes& sender_sk, const Bytes32& recipient,
                          const Rumor& rumor, int64_t now_s) {
  if (now_s < 0) return Status::InvalidArgument("gift wrap: now must not be negative");
  if (!IsValidXOnly(recipient)) {
    return Status::InvalidArgument("gift wrap: recipient is not a valid public key");
  }
  AGENT9_ASSIGN_OR_RETURN(Bytes32 sender, XOnlyPubkey(sender_sk));
  if (rumor.pubkey != HexEncode(sender)) {
    return Status::InvalidArgument("rumor pubkey is not the sender's");
  }
  Rumor r = rumor;
  auto id = RumorId(r);
  if (!id.ok()) return In("rumor", id.status());
  if (r.id.empty()) {
    r.id = std::move(*id);
  } else if (r.id != *id) {
    return Status::InvalidArgument("rumor id does not match its content");
  }

  auto sealed = EncryptJson(sender_sk, recipient, RumorToJson(r));
  if (!sealed.ok()) return In("seal", sealed.status());
  auto seal = SignEvent(sender_sk, kSealKind, Json::array(), std::move(*sealed), RandomPast(now_s));
  if (!seal.ok()) return In("seal", seal.status());

  AGENT9_ASSIGN_OR_RETURN(SecretBytes ephemeral, NewSecretKey());  // zeroed when it goes
  auto wrapped = EncryptJson(ephemeral, recipient, EventToJson(*seal));
  if (!wrapped.ok()) return In("gift wrap", wrapped.status());
  Json tags = Json::array({Json::array({"p", HexEncode(recipient)})});
  auto wrap =
      SignEvent(ephemeral, kGiftWrapKind, std::move(tags), std::move(*wrapped), RandomPast(now_s));
  if (!wrap.ok()) return In("gift wrap", wrap.status());
  return std::move(*wrap);
}

Result<Unwrapped> Unwrap(const SecretBytes& recipient_sk, const Event& wrap) {
  if (wrap.kind != kGiftWrapKind) {
    return Status::InvalidArgument("gift wrap: kind must be 1059, got " +
                                   std::to_string(wrap.kind));
  }
  if (Status st = VerifyEvent(wrap); !st.ok()) return In("gift wrap", st);
  auto seal_json = DecryptJson(recipient_sk, wrap.pubkey, wrap.content);
  if (!seal_json.ok()) return In("gift wrap", seal_json.status());

  auto seal = EventFromJson(*seal_json);
  if (!seal.ok()) return In("seal", seal.status());
  if (seal->kind != kSealKind) {
    return Status::InvalidArgument("seal: kind must be 13, got " + std::to_string(seal->kind));
  }
  // NIP-59: "Tags MUST always be empty in a kind:13."
  if (!seal->tags.empty()) return Status::InvalidArgument("seal: must have no tags");
  if (Status st = VerifyEvent(*seal); !st.ok()) return In("seal", st);

  auto rumor_json = DecryptJson(recipient_sk, seal->pubkey, seal->content);
  if (!rumor_json.ok()) return In("seal", rumor_json.status());
  AGENT9_ASSIGN_OR_RETURN(Rumor rumor, RumorFromJson(*rumor_json));
  // The seal's signature is the only proof of authorship (NIP-17): a rumor naming anyone
  // else would let the sealer impersonate them.
  if (rumor.pubkey != seal->pubkey) {
    return Status::InvalidArgument("seal pubkey differs from the rumor's");
  }
  return Unwrapped{std::move(rumor), std::move(*seal), wrap};
}

Rumor MakeDmRumor(const Bytes32& sender, const Bytes32& recipient, std::string content,
                  int64_t now_s, const std::string& reply_to_event_id) {
  Rumor r;
  r.pubkey = HexEncode(sender);
  r.created_at = now_s;
  r.kind = kChatMessageKind;
  r.tags = Json::array({Json::array({"p", HexEncode(recipient)})});
  if (!reply_to_event_id.empty()) {
    r.tags.push_back(Json::array({"e", reply_to_event_id, "", "reply"}));
  }
  r.content = std::move(content);
  if (auto id = RumorId(r); id.ok()) r.id = std::move(*id);
  return r;
}

}  // namespace agent9::identity
