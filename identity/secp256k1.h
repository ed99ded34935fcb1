// libsecp256k1 wrapper: secret keys, x-only public keys, BIP-340 Schnorr signatures and the
// unhashed ECDH x coordinate that NIP-04 and NIP-44 use. One process-wide context is created
// and randomized on first use (thread-safe static init) and then only used through const.
// Thread-safety: every function may be called from any thread.
#pragma once

#include <span>

#include "fs/base/status.h"
#include "identity/encoding.h"
#include "identity/sodium.h"

namespace agent9::identity {

// True when bytes are 32 bytes holding a valid secret key (0 < k < n).
bool IsValidSecretKey(std::span<const uint8_t> bytes);
// A fresh random secret key (kInternal only if the RNG keeps producing invalid keys).
Result<SecretBytes> NewSecretKey();
// The BIP-340 x-only public key of sk; kInvalidArgument when sk is not a valid secret key.
Result<Bytes32> XOnlyPubkey(const SecretBytes& sk);
// BIP-340 signature over msg as given (any length; NIP-01 passes the 32-byte event id).
// aux_rand null = 32 fresh random bytes. kInvalidArgument for an invalid sk.
Result<Sig64> SignSchnorr(const SecretBytes& sk, std::span<const uint8_t> msg,
                          const Bytes32* aux_rand = nullptr);
// BIP-340 verification; false for an invalid key or signature.
bool VerifySchnorr(const Bytes32& xonly_pubkey, std::span<const uint8_t> msg, const Sig64& sig);
// True when x is the x coordinate of a curve point.
bool IsValidXOnly(const Bytes32& xonly_pubkey);
// The x coordinate of sk * P (unhashed), where P is xonly_pub lifted to even y. kInvalidArgument
// for an invalid sk or public key.
Result<SecretBytes> SharedX(const SecretBytes& sk, const Bytes32& xonly_pub);

}  // namespace agent9::identity
