#include "identity/nip98.h"

#include <limits>
#include <optional>

#include "fs/base/json.h"
#include "identity/event.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"

namespace agent9::identity {
namespace {

// An event is an object of arrays of arrays of strings: depth 3. A little slack for unknown
// fields a client may add; anything deeper is not an event and is refused before nlohmann's
// recursive parser sees it.
constexpr size_t kMaxEventDepth = 8;
// How much of a client-controlled string an error message repeats.
constexpr size_t kMaxQuoted = 160;

Status Fail(std::string_view what) { return Status::Unauthenticated("nip98", what); }

// s in double quotes, cut to kMaxQuoted bytes, with anything outside printable ASCII (and
// '"', '\\') escaped as \xNN, so a hostile tag cannot forge log lines or bloat a response.
std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxQuoted; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMaxQuoted) out += "...";
  out += '"';
  return out;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// |a - b| <= window without overflow for any int64 values.
bool WithinWindow(int64_t a, int64_t b, int64_t window) {
  uint64_t diff = a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                         : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
  return window >= 0 && diff <= static_cast<uint64_t>(window);
}

std::string OutsideWindow(int64_t window) {
  return "created_at is outside \u00b1" + std::to_string(window) + " s";
}

// The value of the single tag named `name` (tags were validated by EventFromJson: an array
// of arrays of strings). nullopt when absent; an error when repeated or without a value.
Result<std::optional<std::string>> SingleTag(const Json& tags, std::string_view name) {
  std::optional<std::string> value;
  bool seen = false;
  for (const Json& tag : tags) {
    if (tag.empty() || tag[0].get_ref<const std::string&>() != name) continue;
    if (seen) return Fail("more than one " + std::string(name) + " tag");
    seen = true;
    if (tag.size() < 2) return Fail(std::string(name) + " tag has no value");
    value = tag[1].get<std::string>();
  }
  return value;
}

Result<Event> DecodeEvent(std::string_view credentials) {
  credentials = TrimOws(credentials);
  // Before decoding, so an oversized header costs nothing but this comparison.
  if (credentials.size() > kNip98MaxCredentials) return Fail("credentials are too large");
  auto raw = Base64Decode(credentials);
  if (!raw.ok()) return Fail("credentials are not base64");
  std::string_view text(reinterpret_cast<const char*>(raw->data()), raw->size());
  auto json = ParseJson(text, "nip98 event", kMaxEventDepth);
  if (!json.ok() || !json->is_object()) return Fail("not a JSON event");
  auto event = EventFromJson(*json);
  if (!event.ok()) return Fail(event.status().message());
  return event;
}

// Kind, id and signature, each with its own message (VerifyEvent folds the last two).
Result<Bytes32> CheckSigned(const Event& e) {
  if (e.kind != kNip98Kind) return Fail("kind must be " + std::to_string(kNip98Kind));
  auto id = EventId(e.pubkey, e.created_at, e.kind, e.tags, e.content);
  if (!id.ok() || HexEncode(*id) != e.id) return Fail("event id does not match");
  auto pubkey = HexDecode32(e.pubkey);
  auto sig = HexDecodeFixed<64>(e.sig);
  if (!pubkey.ok() || !sig.ok() || !VerifySchnorr(*pubkey, *id, *sig)) {
    return Fail("bad signature");
  }
  return *pubkey;
}

Status CheckRequestTags(const Event& e, const Nip98Request& req) {
  AGENT9_ASSIGN_OR_RETURN(std::optional<std::string> u, SingleTag(e.tags, "u"));
  if (!u) return Fail("no u tag");
  if (*u != req.url) return Fail("u tag " + Quote(*u) + " does not match " + Quote(req.url));

  AGENT9_ASSIGN_OR_RETURN(std::optional<std::string> method, SingleTag(e.tags, "method"));
  if (!method) return Fail("no method tag");
  if (!EqualsIgnoreAsciiCase(*method, req.method)) {
    return Fail("method tag " + Quote(*method) + " does not match " + Quote(req.method));
  }

  AGENT9_ASSIGN_OR_RETURN(std::optional<std::string> payload, SingleTag(e.tags, "payload"));
  if (!payload) {
    if (!req.body.empty()) return Fail("no payload tag for a request with a body");
    return Status::OK();
  }
  auto want = HexDecode32(*payload);
  Bytes32 got = Sha256(AsBytes(req.body));
  if (!want.ok() || *want != got) return Fail("payload hash does not match the body");
  return Status::OK();
}

}  // namespace

Result<Nip98Auth> VerifyNip98(const Nip98Request& req) {
  AGENT9_ASSIGN_OR_RETURN(Event event, DecodeEvent(req.credentials));
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pubkey, CheckSigned(event));
  if (!WithinWindow(event.created_at, req.now_s, req.window_s)) {
    return Fail(OutsideWindow(req.window_s));
  }
  AGENT9_RETURN_IF_ERROR(CheckRequestTags(event, req));
  return Nip98Auth{pubkey, std::move(event.id), event.created_at};
}

Nip98ReplayGuard::Nip98ReplayGuard(int64_t window_s, size_t max_entries)
    : window_s_(window_s < 0 ? 0 : window_s), max_entries_(max_entries) {}

Status Nip98ReplayGuard::Accept(const std::string& event_id, int64_t created_at, int64_t now_s) {
  // An id is only remembered for 2 * window after its created_at; accepting an event older
  // than the window would let it be replayed once that record is dropped.
  if (!WithinWindow(created_at, now_s, window_s_)) return Fail(OutsideWindow(window_s_));
  MutexLock lock(&mu_);
  PruneLocked(now_s);
  if (by_id_.find(event_id) != by_id_.end()) return Fail("event already used");
  if (by_id_.size() >= max_entries_) {
    return Status::ResourceExhausted("nip98: too many recent auth events");
  }
  auto [it, inserted] = by_id_.emplace(event_id, created_at);
  by_time_.emplace(created_at, std::string_view(it->first));
  return Status::OK();
}

size_t Nip98ReplayGuard::size() const {
  MutexLock lock(&mu_);
  return by_id_.size();
}

void Nip98ReplayGuard::PruneLocked(int64_t now_s) {
  // cutoff = now_s - 2 * window_s, saturating (window_s_ >= 0).
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  int64_t cutoff = now_s;
  for (int i = 0; i < 2; ++i) cutoff = cutoff < kMin + window_s_ ? kMin : cutoff - window_s_;
  while (!by_time_.empty() && by_time_.begin()->first < cutoff) {
    auto oldest = by_time_.begin();
    auto node = by_id_.find(oldest->second);
    by_time_.erase(oldest);  // before the key its view points at goes
    if (node != by_id_.end()) by_id_.erase(node);
  }
}

}  // namespace agent9::identity
