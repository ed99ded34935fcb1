// VerifyNip98 (identity/nip98.h): the Authorization header of every authenticated HTTP
// request is outside input. Input: `method\nurl\nbody\ncredentials`; credentials starting
// with '{' (never valid base64) are base64-encoded by the harness first, so the fuzzer can
// also mutate the event JSON itself. now is fixed at 1700000000 (the seeds' created_at).
// Invariants: failures are kUnauthenticated with a short "nip98: " message free of control
// characters; an accepted request verifies again the same way, its id is 64 lowercase hex,
// its created_at inside the window, and it fails for any other url or an extra body byte.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "identity/encoding.h"
#include "identity/nip98.h"
#include "identity/sodium.h"

namespace {

constexpr int64_t kNow = 1700000000;

std::string_view NextLine(std::string_view& rest) {
  size_t nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return line;
}

void CheckFailure(const agent9::Status& s) {
  using agent9::fuzz::Require;
  Require(s.code() == agent9::Code::kUnauthenticated, "error is not Unauthenticated", s.ToString());
  const std::string& m = s.message();
  Require(m.rfind("nip98: ", 0) == 0, "message does not start with nip98:", m);
  Require(m.size() < 1024, "message too long", m.substr(0, 200));
  for (char c : m) {
    Require(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "control byte in message", m);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (!agent9::identity::InitSodium().ok()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9::identity;
  using agent9::fuzz::Require;
  std::string_view rest = agent9::fuzz::AsText(data, size);
  Nip98Request req;
  req.method = NextLine(rest);
  req.url = std::string(NextLine(rest));
  req.body = NextLine(rest);
  std::string credentials(rest);
  if (!credentials.empty() && credentials[0] == '{') credentials = Base64Encode(AsBytes(rest));
  req.credentials = credentials;
  req.now_s = kNow;

  auto auth = VerifyNip98(req);
  if (!auth.ok()) {
    CheckFailure(auth.status());
    return 0;
  }
  Require(IsLowerHex(auth->event_id, 64), "event id is not 64 lowercase hex", auth->event_id);
  Require(auth->created_at >= kNow - req.window_s && auth->created_at <= kNow + req.window_s,
          "created_at outside the window");
  auto again = VerifyNip98(req);
  Require(again.ok() && again->event_id == auth->event_id && again->pubkey == auth->pubkey,
          "second verification differs");

  Nip98Request other = req;
  other.url += "x";
  auto wrong_url = VerifyNip98(other);
  Require(!wrong_url.ok(), "accepted for another url");
  CheckFailure(wrong_url.status());

  other = req;
  std::string longer = std::string(req.body) + "x";
  other.body = longer;
  auto wrong_body = VerifyNip98(other);
  Require(!wrong_body.ok(), "accepted for another body");
  CheckFailure(wrong_body.status());
  return 0;
}
