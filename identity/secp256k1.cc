#include "identity/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace agent9::identity {
namespace {

struct ContextDeleter {
  void operator()(secp256k1_context* ctx) const { secp256k1_context_destroy(ctx); }
};

// Randomized once (blinding against side channels), then only read: secp256k1.h allows
// concurrent use of a context through const pointers.
const secp256k1_context* Ctx() {
  static const std::unique_ptr<secp256k1_context, ContextDeleter> ctx = [] {
    std::unique_ptr<secp256k1_context, ContextDeleter> c(
        secp256k1_context_create(SECP256K1_CONTEXT_NONE));
    if (!c) std::abort();
    unsigned char seed[32];
    RandomBytes(seed);
    if (!secp256k1_context_randomize(c.get(), seed)) std::abort();
    SecureZero(seed);
    return c;
  }();
  return ctx.get();
}

// Zeroes a secret-holding libsecp256k1 struct when it goes out of scope.
template <typename T>
struct Wiped {
  T value;
  Wiped() { std::memset(&value, 0, sizeof value); }
  ~Wiped() { SecureZero({reinterpret_cast<uint8_t*>(&value), sizeof value}); }
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
};

Status MakeKeypair(const SecretBytes& sk, secp256k1_keypair* kp) {
  if (sk.size() != 32 || !secp256k1_keypair_create(Ctx(), kp, sk.data())) {
    return Status::InvalidArgument("invalid secret key");
  }
  return Status::OK();
}

int CopyX(unsigned char* output, const unsigned char* x32, const unsigned char* /*y32*/,
          void* /*data*/) {
  std::memcpy(output, x32, 32);
  return 1;
}

}  // namespace

bool IsValidSecretKey(std::span<const uint8_t> bytes) {
  return bytes.size() == 32 && secp256k1_ec_seckey_verify(Ctx(), bytes.data()) == 1;
}

Result<SecretBytes> NewSecretKey() {
  for (int attempt = 0; attempt < 16; ++attempt) {
    SecretBytes sk = SecretBytes::Random(32);
    if (IsValidSecretKey(sk.span())) return sk;
  }
  return Status::Internal("secp256k1: could not generate a valid secret key");
}

Result<Bytes32> XOnlyPubkey(const SecretBytes& sk) {
  Wiped<secp256k1_keypair> kp;
  AGENT9_RETURN_IF_ERROR(MakeKeypair(sk, &kp.value));
  secp256k1_xonly_pubkey xonly;
  Bytes32 out;
  if (!secp256k1_keypair_xonly_pub(Ctx(), &xonly, nullptr, &kp.value) ||
      !secp256k1_xonly_pubkey_serialize(Ctx(), out.data(), &xonly)) {
    return Status::Internal("secp256k1: cannot derive the public key");
  }
  return out;
}

Result<Sig64> SignSchnorr(const SecretBytes& sk, std::span<const uint8_t> msg,
                          const Bytes32* aux_rand) {
  Wiped<secp256k1_keypair> kp;
  AGENT9_RETURN_IF_ERROR(MakeKeypair(sk, &kp.value));
  Wiped<Bytes32> aux;
  if (aux_rand != nullptr) {
    aux.value = *aux_rand;
  } else {
    RandomBytes(aux.value);
  }
  secp256k1_schnorrsig_extraparams params = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
  params.ndata = aux.value.data();
  Sig64 sig;
  if (!secp256k1_schnorrsig_sign_custom(Ctx(), sig.data(), msg.data(), msg.size(), &kp.value,
                                        &params)) {
    return Status::Internal("secp256k1: signing failed");
  }
  return sig;
}

bool VerifySchnorr(const Bytes32& xonly_pubkey, std::span<const uint8_t> msg, const Sig64& sig) {
  secp256k1_xonly_pubkey pk;
  if (!secp256k1_xonly_pubkey_parse(Ctx(), &pk, xonly_pubkey.data())) return false;
  return secp256k1_schnorrsig_verify(Ctx(), sig.data(), msg.data(), msg.size(), &pk) == 1;
}

bool IsValidXOnly(const Bytes32& xonly_pubkey) {
  secp256k1_xonly_pubkey pk;
  return secp256k1_xonly_pubkey_parse(Ctx(), &pk, xonly_pubkey.data()) == 1;
}

Result<SecretBytes> SharedX(const SecretBytes& sk, const Bytes32& xonly_pub) {
  if (!IsValidSecretKey(sk.span())) return Status::InvalidArgument("invalid secret key");
  unsigned char compressed[33];
  compressed[0] = 0x02;  // even y
  std::memcpy(compressed + 1, xonly_pub.data(), 32);
  secp256k1_pubkey point;
  if (!secp256k1_ec_pubkey_parse(Ctx(), &point, compressed, sizeof compressed)) {
    return Status::InvalidArgument("invalid public key");
  }
  SecretBytes out = SecretBytes::Make(32);
  if (!secp256k1_ecdh(Ctx(), out.data(), &point, sk.data(), CopyX, nullptr)) {
    return Status::InvalidArgument("ecdh failed");
  }
  return out;
}

}  // namespace agent9::identity
