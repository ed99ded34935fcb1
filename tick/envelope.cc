#include "tick/envelope.h"

#include <sys/random.h>

#include <limits>

#include "fs/base/clock.h"

namespace agent9 {
namespace {

Status CheckId(std::string_view id) {
  if (id.empty() || id.size() > kMaxMessageIdBytes) {
    return Status::InvalidArgument("message id must be 1..128 bytes");
  }
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return Status::InvalidArgument("message id must be printable ASCII");
  }
  return Status::OK();
}

}  // namespace

Json Envelope::ToJson() const {
  Json j{{"id", id}, {"from", from}, {"ts", Rfc3339(ts_ms)}, {"body", body}};
  if (!reply_to.empty()) j["reply_to"] = reply_to;
  if (!sender.is_null()) j["sender"] = sender;
  return j;
}

Result<Envelope> ParseEnvelope(std::string_view bytes, std::string_view from, int64_t now_ms,
                               std::string_view new_id) {
  if (bytes.size() > kMaxMessageBytes) return Status::TooLarge("message over 256 KiB");
  std::string_view trimmed = bytes;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r' ||
                              trimmed.back() == ' ' || trimmed.back() == '\t')) {
    trimmed.remove_suffix(1);
  }
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\n' ||
                              trimmed.front() == '\t' || trimmed.front() == '\r')) {
    trimmed.remove_prefix(1);
  }
  if (trimmed.empty()) return Status::InvalidArgument("empty message");
  Envelope e;
  e.from = std::string(from);
  e.ts_ms = now_ms;
  // No depth limit in the parse: too deep is an error below, not a text message.
  auto parsed = ParseJson(trimmed, "message", std::numeric_limits<size_t>::max());
  Json j = parsed.ok() ? std::move(parsed).value() : Json(Json::value_t::discarded);
  if (!j.is_discarded() && JsonDepth(trimmed) > kMaxInputJsonDepth) {
    return Status::InvalidArgument("message is nested deeper than " +
                                   std::to_string(kMaxInputJsonDepth) + " levels");
  }
  if (!j.is_discarded() && j.is_object() && j.contains("body")) {
    e.body = j["body"];
    if (j.contains("id")) {
      if (!j["id"].is_string()) return Status::InvalidArgument("message id must be a string");
      e.id = j["id"].get<std::string>();
      AGENT9_RETURN_IF_ERROR(CheckId(e.id));
      e.client_id = true;
    }
    if (j.contains("reply_to")) {
      if (!j["reply_to"].is_string()) return Status::InvalidArgument("reply_to must be a string");
      e.reply_to = j["reply_to"].get<std::string>();
      if (e.reply_to.size() > 256) return Status::InvalidArgument("reply_to too long");
    }
  } else if (!j.is_discarded()) {
    e.body = std::move(j);
  } else {
    std::string text(bytes);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    e.body = Json{{"text", std::move(text)}};
  }
  if (e.id.empty()) e.id = std::string(new_id);
  return e;
}

std::string RandomHexId(size_t bytes) {
  unsigned char buf[32];
  if (bytes > sizeof buf) bytes = sizeof buf;
  size_t got = 0;
  while (got < bytes) {
    ssize_t r = getrandom(buf + got, bytes - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < bytes; ++i) {
    out.push_back(kHex[buf[i] >> 4]);
    out.push_back(kHex[buf[i] & 15]);
  }
  return out;
}

}  // namespace agent9
