// NIP-19 bech32 entities: npub, nsec and nprofile (TLV), and parsing a public key given as
// hex or npub. Decoders are safe on hostile input. Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity {

// NIP-19 strings are not held to BIP-173's 90 characters; this bounds hostile input instead.
inline constexpr size_t kNip19MaxLen = 5000;

std::string EncodeNpub(const Bytes32& pubkey);
// The 32 bytes of an npub (format only: see ParsePubkey for a curve check). kInvalidArgument
// for a bad string, another prefix, bech32m, or a payload that is not 32 bytes.
Result<Bytes32> DecodeNpub(std::string_view npub);

// For tests and key checks only: the returned string is secret and not wiped.
std::string EncodeNsec(const SecretBytes& sk);
// Also requires a valid secp256k1 secret key.
Result<SecretBytes> DecodeNsec(std::string_view nsec);

struct Nprofile {
  Bytes32 pubkey{};
  std::vector<std::string> relays;
};
// Pubkey TLV first, then one relay TLV per relay, as in the NIP-19 example. A relay longer
// than 255 bytes cannot be expressed as a TLV and is left out.
std::string EncodeNprofile(const Nprofile& profile);
// Unknown TLV types are ignored. kInvalidArgument for a truncated TLV, a missing, repeated or
// wrong-length pubkey, or a relay that is empty, not UTF-8 or holds control characters.
Result<Nprofile> DecodeNprofile(std::string_view nprofile);

// 64 hex digits (either case) or an npub; the key must be a valid x-only point.
Result<Bytes32> ParsePubkey(std::string_view hex_or_npub);

}  // namespace agent9::identity
