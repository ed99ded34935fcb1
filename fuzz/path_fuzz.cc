// Path::Parse, Path::ParseUrl, Path::ValidateName, ValidateAgentId, PercentDecode
// (fs/base/path.h): every file path and agent name from FUSE, HTTP and the CLI goes through
// these. Invariants: accepted paths hold only valid segments, print and re-parse to the same
// segments, and the name checks agree with the documented rules.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "controlplane/http/http_client.h"
#include "fs/base/path.h"
#include "fuzz/fuzz_util.h"

namespace agent9::fuzz {
namespace {

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The rule of path.h, written out independently.
bool NameOk(std::string_view n) {
  if (n.empty() || n.size() > Path::kMaxSegment || n == "." || n == "..") return false;
  return n.find('/') == std::string_view::npos && n.find('\0') == std::string_view::npos;
}

// [a-z0-9][a-z0-9._-]{0,62}
bool AgentIdOk(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

void CheckSegments(const Path& p) {
  size_t total = 0;
  for (const auto& seg : p.segments()) {
    Require(NameOk(seg), "a parsed segment breaks the name rules", seg);
    Require(Path::ValidateName(seg).ok(), "a parsed segment fails ValidateName", seg);
    total += seg.size() + 1;
  }
  Require(p.ToString().size() == (p.empty() ? 1 : total), "ToString length");
  if (!p.empty()) {
    Require(p.Parent().size() == p.size() - 1, "Parent drops one segment");
    Require(p.Parent().Child(p.Base()) == p, "Parent().Child(Base()) is the path");
  }
}

void CheckParse(std::string_view raw) {
  auto p = Path::Parse(raw);
  if (!p.ok()) return;
  CheckSegments(*p);
  Require(raw.size() <= Path::kMaxPath, "over-long path accepted");
  // The input is the canonical form up to one leading and one trailing slash.
  std::string_view body = raw;
  if (body.starts_with('/')) body.remove_prefix(1);
  if (body.ends_with('/')) body.remove_suffix(1);
  Require(p->ToString().substr(1) == body, "Parse is not ToString up to edge slashes", raw);
  auto again = Path::Parse(p->ToString());
  Require(again.ok() && *again == *p, "ToString does not re-parse to the same segments", raw);
  std::string encoded;
  for (const auto& seg : p->segments()) encoded += "/" + PercentEncode(seg);
  auto url = Path::ParseUrl(encoded);
  Require(url.ok() && *url == *p, "the percent-encoded path parses differently", raw);
}

void CheckParseUrl(std::string_view raw) {
  auto p = Path::ParseUrl(raw);
  if (raw.find('%') == std::string_view::npos) {
    auto plain = Path::Parse(raw);
    Require(p.ok() == plain.ok(), "ParseUrl and Parse disagree on a path without escapes", raw);
    if (p.ok()) Require(*p == *plain, "ParseUrl and Parse differ without escapes", raw);
  }
  if (!p.ok()) return;
  CheckSegments(*p);
  Require(PercentDecode(raw).ok(), "ParseUrl accepted a bad escape", raw);
  std::string encoded;
  for (const auto& seg : p->segments()) encoded += "/" + PercentEncode(seg);
  auto again = Path::ParseUrl(encoded);
  Require(again.ok() && *again == *p, "re-encoded URL path parses differently", raw);
  auto plain = Path::Parse(p->ToString());
  Require(plain.ok() && *plain == *p, "decoded path does not re-parse", raw);
}

void CheckDecode(std::string_view raw) {
  bool valid = true;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    if (i + 2 >= raw.size() || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2])) {
      valid = false;
      break;
    }
    i += 2;
  }
  for (bool plus : {false, true}) {
    auto d = PercentDecode(raw, plus);
    Require(d.ok() == valid, "PercentDecode accepts exactly the well-formed escapes", raw);
    if (!d.ok()) continue;
    Require(d->size() <= raw.size(), "decoding grew the text");
    if (!plus) {
      auto round = PercentDecode(PercentEncode(*d));
      Require(round.ok() && *round == *d, "encode/decode round trip");
    } else {
      std::string spaced;  // '+' is exactly "%20" in a query
      for (char c : raw) spaced += c == '+' ? std::string("%20") : std::string(1, c);
      auto as_space = PercentDecode(spaced, false);
      Require(as_space.ok() && *as_space == *d, "plus_is_space is not '+' as %20", raw);
    }
  }
}

}  // namespace
}  // namespace agent9::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9;
  using namespace agent9::fuzz;
  std::string_view raw = AsText(data, size);
  CheckParse(raw);
  CheckParseUrl(raw);
  CheckDecode(raw);
  Require(Path::ValidateName(raw).ok() == NameOk(raw), "ValidateName differs from the rule", raw);
  bool id_ok = ValidateAgentId(raw).ok();
  Require(id_ok == AgentIdOk(raw), "ValidateAgentId differs from the rule", raw);
  if (id_ok) Require(Path::ValidateName(raw).ok(), "an agent id that is not a valid name", raw);
  return 0;
}
