// Unwrap (identity/nip59.h) with a fixed recipient key: gift wraps arrive from relays and
// anyone may send one. The first byte picks the layer the fuzzer controls, since a fuzzed
// outer wrap rarely survives its signature check:
//   0: the rest is the wrap's JSON (ParseJson -> EventFromJson -> Unwrap);
//   1: the rest is the seal's JSON text, NIP-44-encrypted and wrapped by the harness;
//   2: the rest is the rumor's JSON text, sealed by a fixed sender key and wrapped.
// Invariants: nothing throws; errors are kInvalidArgument; an accepted wrap is kind 1059 and
// verifies, its seal is kind 13 with no tags, verifies and is by the rumor's author, the
// rumor id matches its content, and RumorToJson output parses back to the same rumor.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fs/base/json.h"
#include "fuzz/fuzz_util.h"
#include "identity/encoding.h"
#include "identity/event.h"
#include "identity/nip44.h"
#include "identity/nip59.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"

namespace {

using namespace agent9::identity;

SecretBytes FixedKey(uint8_t last) {
  Bytes32 k{};
  k[31] = last;
  return SecretBytes::Copy(k);
}

// The recipient is secret key 2, the sender (mode 2) key 1, the wrapper key 3; the seeds are
// built with these keys.
const SecretBytes& Recipient() {
  static const SecretBytes k = FixedKey(2);
  return k;
}
const SecretBytes& Sender() {
  static const SecretBytes k = FixedKey(1);
  return k;
}
const SecretBytes& Wrapper() {
  static const SecretBytes k = FixedKey(3);
  return k;
}

// An event of `kind` by sk whose content is plaintext NIP-44-encrypted to the recipient,
// with a fixed nonce and aux so that each input runs the same way every time.
agent9::Result<Event> Encrypted(const SecretBytes& sk, int kind, agent9::Json tags,
                                std::string_view plaintext) {
  static const Bytes32 kFixed = {7};
  AGENT9_ASSIGN_OR_RETURN(Bytes32 to, XOnlyPubkey(Recipient()));
  AGENT9_ASSIGN_OR_RETURN(SecretBytes conv, Nip44ConversationKey(sk, to));
  AGENT9_ASSIGN_OR_RETURN(std::string payload, Nip44Encrypt(plaintext, conv, &kFixed));
  return SignEvent(sk, kind, std::move(tags), std::move(payload), 1'700'000'000, &kFixed);
}

agent9::Result<Event> WrapOf(std::string_view seal_text) {
  return Encrypted(Wrapper(), kGiftWrapKind, agent9::Json::array(), seal_text);
}

void CheckAccepted(const Unwrapped& u) {
  using agent9::fuzz::Require;
  Require(u.wrap.kind == kGiftWrapKind && VerifyEvent(u.wrap).ok(), "accepted wrap is invalid");
  Require(u.seal.kind == kSealKind && u.seal.tags.empty(), "accepted seal has a kind or tags");
  Require(VerifyEvent(u.seal).ok(), "accepted seal does not verify");
  Require(u.seal.pubkey == u.rumor.pubkey, "seal and rumor authors differ");
  auto id = RumorId(u.rumor);
  Require(id.ok() && *id == u.rumor.id, "rumor id does not match");
  auto again = agent9::ParseJson(agent9::DumpJson(RumorToJson(u.rumor)));
  Require(again.ok(), "RumorToJson output is not JSON");
  auto back = RumorFromJson(*again);
  Require(back.ok(), "RumorToJson output is refused", back.status().message());
  Require(RumorToJson(*back) == RumorToJson(u.rumor), "rumor round trip differs");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  if (!agent9::identity::InitSodium().ok()) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using agent9::fuzz::Require;
  if (size == 0) return 0;
  std::string_view text = agent9::fuzz::AsText(data + 1, size - 1);
  agent9::Result<Event> wrap = agent9::Status::InvalidArgument("no wrap");
  switch (data[0] % 3) {
    case 0: {
      auto j = agent9::ParseJson(text, "wrap", agent9::kMaxInputJsonDepth);
      if (!j.ok()) return 0;
      wrap = EventFromJson(*j);
      break;
    }
    case 1:
      wrap = WrapOf(text);
      break;
    case 2: {
      auto seal = Encrypted(Sender(), kSealKind, agent9::Json::array(), text);
      if (!seal.ok()) return 0;  // an empty or oversized plaintext
      wrap = WrapOf(agent9::DumpJson(EventToJson(*seal)));
      break;
    }
  }
  if (!wrap.ok()) return 0;
  auto u = Unwrap(Recipient(), *wrap);
  if (!u.ok()) {
    Require(u.status().code() == agent9::Code::kInvalidArgument, "error is not InvalidArgument",
            u.status().ToString());
    return 0;
  }
  CheckAccepted(*u);
  return 0;
}
