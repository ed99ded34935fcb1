// Bech32Decode, DecodeNpub, DecodeNprofile, ParsePubkey (identity/bech32.h, identity/nip19.h):
// keys and profiles pasted by users or read from events. Invariants: an accepted string has a
// lowercase hrp and 5-bit data, and re-encodes to the input in lowercase; an accepted npub
// re-encodes to the same string; an accepted nprofile re-encodes to one that decodes to the
// same pubkey and relays (unknown TLVs dropped); ParsePubkey accepts only points on the curve.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "identity/bech32.h"
#include "identity/nip19.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (!agent9::identity::InitSodium().ok()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agent9::identity;
  using agent9::fuzz::Require;
  std::string_view text = agent9::fuzz::AsText(data, size);

  auto d = Bech32Decode(text, kNip19MaxLen);
  if (d.ok()) {
    Require(Lower(d->hrp) == d->hrp && !d->hrp.empty(), "hrp not lowercase", d->hrp);
    for (uint8_t v : d->data5) Require(v < 32, "data value over 5 bits");
    Require(Bech32Encode(d->hrp, d->data5, d->variant) == Lower(text), "re-encode differs", text);
  }
  Require(!Bech32Decode(text).ok() || (d.ok() && text.size() <= 90), "90-char limit not applied");

  auto npub = DecodeNpub(text);
  if (npub.ok()) Require(EncodeNpub(*npub) == Lower(text), "npub re-encode differs", text);

  auto profile = DecodeNprofile(text);
  if (profile.ok()) {
    auto again = DecodeNprofile(EncodeNprofile(*profile));
    Require(again.ok(), "re-encoded nprofile does not decode");
    Require(again->pubkey == profile->pubkey && again->relays == profile->relays,
            "nprofile round trip differs");
  }

  auto pk = ParsePubkey(text);
  if (pk.ok()) Require(IsValidXOnly(*pk), "ParsePubkey accepted a non-point");
  return 0;
}
