#include "identity/event.h"

#include <limits>

#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

Status CheckTags(const Json& tags) {
  if (!tags.is_array()) return Status::InvalidArgument("event tags must be an array");
  if (tags.size() > kMaxEventTags) return Status::InvalidArgument("event has too many tags");
  size_t bytes = 0;
  for (const Json& tag : tags) {
    if (!tag.is_array()) return Status::InvalidArgument("event tag must be an array");
    for (const Json& item : tag) {
      if (!item.is_string()) return Status::InvalidArgument("event tag items must be strings");
      const auto& s = item.get_ref<const std::string&>();
      bytes += s.size() + 1;  // + 1 so that many empty strings also count
      if (bytes > kMaxEventTagBytes) return Status::InvalidArgument("event tags are too large");
      if (!IsValidUtf8(s)) return Status::InvalidArgument("event tag is not valid UTF-8");
    }
  }
  return Status::OK();
}

Status CheckFields(const std::string& pubkey_hex, int64_t created_at, int kind, const Json& tags,
                   const std::string& content) {
  if (!IsLowerHex(pubkey_hex, 64)) {
    return Status::InvalidArgument("event pubkey must be 64 lowercase hex digits");
  }
  if (created_at < 0) return Status::InvalidArgument("event created_at must not be negative");
  if (kind < 0 || kind > 65535) return Status::InvalidArgument("event kind out of range");
  if (content.size() > kMaxEventContent) return Status::InvalidArgument("event content too large");
  if (!IsValidUtf8(content)) return Status::InvalidArgument("event content is not valid UTF-8");
  return CheckTags(tags);
}

Result<std::string> GetHexField(const Json& j, const char* name, size_t digits) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) {
    return Status::InvalidArgument(std::string("event ") + name + " missing or not a string");
  }
  const auto& s = it->get_ref<const std::string&>();
  if (!IsLowerHex(s, digits)) {
    return Status::InvalidArgument(std::string("event ") + name + " must be " +
                                   std::to_string(digits) + " lowercase hex digits");
  }
  return s;
}

}  // namespace

Result<std::string> EventSerialization(const std::string& pubkey_hex, int64_t created_at, int kind,
                                       const Json& tags, const std::string& content) {
  AGENT9_RETURN_IF_ERROR(CheckFields(pubkey_hex, created_at, kind, tags, content));
  Json arr = Json::array({0, pubkey_hex, created_at, kind, tags, content});
  // nlohmann's compact dump escapes exactly like JSON.stringify: \" \\ \b \f \n \r \t, other
  // C0 controls as lowercase \u00xx, and the rest (DEL, U+2028/9, '/', non-ASCII) raw.
  try {
    return arr.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception& e) {
    return Status::InvalidArgument("event serialization", e.what());  // unreachable after checks
  }
}

Result<Bytes32> EventId(const std::string& pubkey_hex, int64_t created_at, int kind,
                        const Json& tags, const std::string& content) {
  AGENT9_ASSIGN_OR_RETURN(std::string ser,
                          EventSerialization(pubkey_hex, created_at, kind, tags, content));
  return Sha256(AsBytes(ser));
}

Result<Event> SignEvent(const SecretBytes& sk, int kind, Json tags, std::string content,
                        int64_t created_at, const Bytes32* aux_rand) {
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pk, XOnlyPubkey(sk));
  Event e;
  e.pubkey = HexEncode(pk);
  e.created_at = created_at;
  e.kind = kind;
  e.tags = std::move(tags);
  e.content = std::move(content);
  AGENT9_ASSIGN_OR_RETURN(Bytes32 id, EventId(e.pubkey, e.created_at, e.kind, e.tags, e.content));
  AGENT9_ASSIGN_OR_RETURN(Sig64 sig, SignSchnorr(sk, id, aux_rand));
  e.id = HexEncode(id);
  e.sig = HexEncode(sig);
  return e;
}

Result<Event> EventFromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("event must be a JSON object");
  Event e;
  AGENT9_ASSIGN_OR_RETURN(e.id, GetHexField(j, "id", 64));
  AGENT9_ASSIGN_OR_RETURN(e.pubkey, GetHexField(j, "pubkey", 64));
  AGENT9_ASSIGN_OR_RETURN(e.sig, GetHexField(j, "sig", 128));

  auto created = j.find("created_at");
  if (created == j.end() || !created->is_number_integer()) {
    return Status::InvalidArgument("event created_at missing or not an integer");
  }
  if (created->is_number_unsigned()) {
    auto v = created->get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument("event created_at out of range");
    }
    e.created_at = static_cast<int64_t>(v);
  } else {
    e.created_at = created->get<int64_t>();
    if (e.created_at < 0) return Status::InvalidArgument("event created_at must not be negative");
  }

  auto kind = j.find("kind");
  if (kind == j.end() || !kind->is_number_integer()) {
    return Status::InvalidArgument("event kind missing or not an integer");
  }
  if (kind->is_number_unsigned() ? kind->get<uint64_t>() > 65535
                                 : (kind->get<int64_t>() < 0 || kind->get<int64_t>() > 65535)) {
    return Status::InvalidArgument("event kind out of range");
  }
  e.kind = kind->get<int>();

  auto tags = j.find("tags");
  if (tags == j.end()) return Status::InvalidArgument("event tags missing");
  AGENT9_RETURN_IF_ERROR(CheckTags(*tags));
  e.tags = *tags;

  auto content = j.find("content");
  if (content == j.end() || !content->is_string()) {
    return Status::InvalidArgument("event content missing or not a string");
  }
  e.content = content->get<std::string>();
  if (e.content.size() > kMaxEventContent) {
    return Status::InvalidArgument("event content too large");
  }
  if (!IsValidUtf8(e.content)) return Status::InvalidArgument("event content is not valid UTF-8");
  return e;
}

Json EventToJson(const Event& e) {
  return Json{{"id", e.id},     {"pubkey", e.pubkey}, {"created_at", e.created_at},
              {"kind", e.kind}, {"tags", e.tags},     {"content", e.content},
              {"sig", e.sig}};
}

Status VerifyEvent(const Event& e) {
  if (!IsLowerHex(e.id, 64)) return Status::InvalidArgument("event id must be 64 lowercase hex");
  if (!IsLowerHex(e.sig, 128)) {
    return Status::InvalidArgument("event sig must be 128 lowercase hex");
  }
  AGENT9_ASSIGN_OR_RETURN(Bytes32 id, EventId(e.pubkey, e.created_at, e.kind, e.tags, e.content));
  if (HexEncode(id) != e.id) return Status::InvalidArgument("event id does not match its content");
  auto pk = HexDecode32(e.pubkey);
  auto sig = HexDecodeFixed<64>(e.sig);
  if (!pk.ok() || !sig.ok() || !VerifySchnorr(*pk, id, *sig)) {
    return Status::InvalidArgument("event signature does not verify");
  }
  return Status::OK();
}

}  // namespace agent9::identity
