#include "identity/nip19.h"

#include <cstring>

#include "identity/bech32.h"
#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

std::string Encode(std::string_view hrp, std::span<const uint8_t> bytes) {
  auto data5 = ConvertBits(bytes, 8, 5, true);  // cannot fail for 8-bit input
  std::string out = Bech32Encode(hrp, *data5, Bech32Variant::kBech32);
  SecureZero(*data5);
  return out;
}

// The payload bytes of a NIP-19 string with the given hrp. The caller wipes secrets.
Result<std::vector<uint8_t>> Decode(std::string_view s, std::string_view hrp) {
  AGENT9_ASSIGN_OR_RETURN(Bech32Decoded d, Bech32Decode(s, kNip19MaxLen));
  if (d.hrp != hrp) {
    SecureZero(d.data5);
    return Status::InvalidArgument(std::string(hrp) + ": wrong prefix");
  }
  if (d.variant != Bech32Variant::kBech32) {
    SecureZero(d.data5);
    return Status::InvalidArgument(std::string(hrp) + ": bech32m checksum, expected bech32");
  }
  auto bytes = ConvertBits(d.data5, 5, 8, false);
  SecureZero(d.data5);
  if (!bytes.ok()) return Status::InvalidArgument(std::string(hrp) + ": bad padding");
  return bytes;
}

}  // namespace

std::string EncodeNpub(const Bytes32& pubkey) { return Encode("npub", pubkey); }

Result<Bytes32> DecodeNpub(std::string_view npub) {
  AGENT9_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Decode(npub, "npub"));
  if (bytes.size() != 32) return Status::InvalidArgument("npub: payload is not 32 bytes");
  Bytes32 out;
  std::memcpy(out.data(), bytes.data(), 32);
  return out;
}

std::string EncodeNsec(const SecretBytes& sk) { return Encode("nsec", sk.span()); }

Result<SecretBytes> DecodeNsec(std::string_view nsec) {
  AGENT9_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, Decode(nsec, "nsec"));
  SecretBytes sk = SecretBytes::Copy(bytes);
  SecureZero(bytes);
  if (sk.size() != 32) return Status::InvalidArgument("nsec: payload is not 32 bytes");
  if (!IsValidSecretKey(sk.span())) return Status::InvalidArgument("nsec: invalid secret key");
  return sk;
}

std::string EncodeNprofile(const Nprofile& profile) {
  std::vector<uint8_t> tlv{0, 32};
  tlv.insert(tlv.end(), profile.pubkey.begin(), profile.pubkey.end());
  for (const std::string& relay : profile.relays) {
    if (relay.size() > 255) continue;
    tlv.push_back(1);
    tlv.push_back(static_cast<uint8_t>(relay.size()));
    tlv.insert(tlv.end(), relay.begin(), relay.end());
  }
  return Encode("nprofile", tlv);
}

Result<Nprofile> DecodeNprofile(std::string_view nprofile) {
  AGENT9_ASSIGN_OR_RETURN(std::vector<uint8_t> tlv, Decode(nprofile, "nprofile"));
  Nprofile out;
  bool have_pubkey = false;
  size_t i = 0;
  while (i < tlv.size()) {
    if (tlv.size() - i < 2) return Status::InvalidArgument("nprofile: truncated TLV");
    uint8_t type = tlv[i];
    size_t len = tlv[i + 1];
    i += 2;
    if (tlv.size() - i < len) return Status::InvalidArgument("nprofile: truncated TLV");
    std::span<const uint8_t> value(tlv.data() + i, len);
    i += len;
    if (type == 0) {
      if (have_pubkey) return Status::InvalidArgument("nprofile: repeated pubkey");
      if (len != 32) return Status::InvalidArgument("nprofile: pubkey is not 32 bytes");
      std::memcpy(out.pubkey.data(), value.data(), 32);
      have_pubkey = true;
    } else if (type == 1) {
      std::string relay(value.begin(), value.end());
      if (relay.empty() || !IsValidUtf8(relay)) {
        return Status::InvalidArgument("nprofile: relay is empty or not UTF-8");
      }
      for (unsigned char c : relay) {
        if (c < 0x20 || c == 0x7f) {
          return Status::InvalidArgument("nprofile: relay holds a control character");
        }
      }
      out.relays.push_back(std::move(relay));
    }
  }
  if (!have_pubkey) return Status::InvalidArgument("nprofile: no pubkey");
  return out;
}

Result<Bytes32> ParsePubkey(std::string_view hex_or_npub) {
  Bytes32 pk;
  if (hex_or_npub.size() == 64) {
    AGENT9_ASSIGN_OR_RETURN(pk, HexDecode32(hex_or_npub));
  } else if (hex_or_npub.starts_with("npub1") || hex_or_npub.starts_with("NPUB1")) {
    AGENT9_ASSIGN_OR_RETURN(pk, DecodeNpub(hex_or_npub));
  } else {
    return Status::InvalidArgument("pubkey: expected 64 hex digits or an npub");
  }
  if (!IsValidXOnly(pk)) return Status::InvalidArgument("pubkey: not a point on secp256k1");
  return pk;
}

}  // namespace agent9::identity
