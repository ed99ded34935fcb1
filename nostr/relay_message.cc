#include "nostr/relay_message.h"

namespace agent9::nostr {
namespace {

// Events nest a few levels (tags are arrays of arrays); anything deeper is not a message.
constexpr size_t kMaxMessageDepth = 32;

Status Malformed(std::string_view what) { return Status::InvalidArgument("relay message", what); }

std::string OptionalString(const Json& msg, size_t index) {
  if (msg.size() > index && msg[index].is_string()) return msg[index].get<std::string>();
  return "";
}

}  // namespace

Result<RelayMessage> ParseRelayMessage(std::string_view text) {
  AGENT9_ASSIGN_OR_RETURN(Json msg, ParseJson(text, "relay message", kMaxMessageDepth));
  if (!msg.is_array() || msg.empty() || !msg[0].is_string()) {
    return Malformed("not an array starting with a string");
  }
  RelayMessage out;
  const std::string& verb = msg[0].get_ref<const std::string&>();
  if (verb == "EVENT") {
    if (msg.size() < 3 || !msg[1].is_string() || !msg[2].is_object()) return Malformed("EVENT");
    out.type = RelayMessage::Type::kEvent;
    out.sub_id = msg[1].get<std::string>();
    out.event = std::move(msg[2]);
  } else if (verb == "EOSE") {
    if (msg.size() < 2 || !msg[1].is_string()) return Malformed("EOSE");
    out.type = RelayMessage::Type::kEose;
    out.sub_id = msg[1].get<std::string>();
  } else if (verb == "OK") {
    if (msg.size() < 3 || !msg[1].is_string() || !msg[2].is_boolean()) return Malformed("OK");
    out.type = RelayMessage::Type::kOk;
    out.event_id = msg[1].get<std::string>();
    out.ok = msg[2].get<bool>();
    out.message = OptionalString(msg, 3);
  } else if (verb == "CLOSED") {
    if (msg.size() < 2 || !msg[1].is_string()) return Malformed("CLOSED");
    out.type = RelayMessage::Type::kClosed;
    out.sub_id = msg[1].get<std::string>();
    out.message = OptionalString(msg, 2);
  } else if (verb == "NOTICE") {
    if (msg.size() < 2 || !msg[1].is_string()) return Malformed("NOTICE");
    out.type = RelayMessage::Type::kNotice;
    out.message = msg[1].get<std::string>();
  } else if (verb == "AUTH") {
    if (msg.size() < 2 || !msg[1].is_string()) return Malformed("AUTH");
    out.type = RelayMessage::Type::kAuth;
    out.challenge = msg[1].get<std::string>();
  } else if (verb == "COUNT") {
    if (msg.size() < 3 || !msg[1].is_string() || !msg[2].is_object()) return Malformed("COUNT");
    out.type = RelayMessage::Type::kCount;
    out.sub_id = msg[1].get<std::string>();
  } else {
    out.type = RelayMessage::Type::kUnknown;
    out.verb = verb;
  }
  return out;
}

bool HasReasonPrefix(std::string_view message, std::string_view prefix) {
  return message.size() > prefix.size() && message.substr(0, prefix.size()) == prefix &&
         message[prefix.size()] == ':';
}

}  // namespace agent9::nostr
