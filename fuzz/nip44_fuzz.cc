// Nip44Decrypt (identity/nip44.h) with a fixed conversation key: NIP-44 payloads come from
// other agents and relays. Invariants: an accepted payload yields 1..2^32-1 bytes, and
// encrypting them again with the payload's own nonce decrypts to the same bytes. Without the
// key the fuzzer rarely passes the MAC, so it mostly exercises the framing checks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "identity/encoding.h"
#include "identity/nip44.h"
#include "identity/sodium.h"

namespace {

// The conversation key of NIP-44 vector encrypt_decrypt[0] (keys 1 and 2); the seeds are
// payloads under it.
const agent9::identity::SecretBytes& Key() {
  static const agent9::identity::SecretBytes key =
      agent9::identity::SecretBytes::Copy(*agent9::identity::HexDecode32(
          "c41c775356fd92eadc63ff5a0dc1da211b268cbea22316767095b2871ea1412d"));
  return key;
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
  auto plain = Nip44Decrypt(text, Key());
  if (!plain.ok()) {
    Require(plain.status().code() == agent9::Code::kInvalidArgument,
            "error is not InvalidArgument");
    return 0;
  }
  Require(!plain->empty() && plain->size() <= kNip44MaxPlaintext, "plaintext length");
  auto raw = Base64Decode(text);
  Require(raw.ok() && raw->size() > 33, "accepted payload is not base64");
  Bytes32 nonce;
  std::copy(raw->begin() + 1, raw->begin() + 33, nonce.begin());
  auto again = Nip44Encrypt(*plain, Key(), &nonce);
  Require(again.ok(), "re-encrypt failed");
  auto back = Nip44Decrypt(*again, Key());
  Require(back.ok() && *back == *plain, "re-encrypted payload does not round-trip");
  return 0;
}
