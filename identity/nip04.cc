#include "identity/nip04.h"

#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <vector>

#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

constexpr size_t kBlock = 16;
// Bounds hostile input; kind-4 content is far smaller in practice.
constexpr size_t kMaxContent = 16 << 20;

}  // namespace

Result<std::string> Nip04Decrypt(std::string_view content, const SecretBytes& sk,
                                 const Bytes32& sender_pub) {
  if (content.size() > kMaxContent) return Status::InvalidArgument("nip04: content too long");
  static constexpr std::string_view kSep = "?iv=";
  size_t sep = content.find(kSep);
  if (sep == std::string_view::npos) return Status::InvalidArgument("nip04: missing ?iv=");
  auto ct = Base64Decode(content.substr(0, sep));
  if (!ct.ok()) return Status::InvalidArgument("nip04: ciphertext is not base64");
  auto iv = Base64Decode(content.substr(sep + kSep.size()));
  if (!iv.ok()) return Status::InvalidArgument("nip04: iv is not base64");
  if (iv->size() != kBlock) return Status::InvalidArgument("nip04: iv is not 16 bytes");
  if (ct->empty() || ct->size() % kBlock != 0 || ct->size() > INT_MAX) {
    return Status::InvalidArgument("nip04: ciphertext is not a whole number of blocks");
  }
  auto key = SharedX(sk, sender_pub);
  if (!key.ok()) return Status::InvalidArgument("nip04: " + key.status().message());

  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("nip04: out of memory");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, key->data(), iv->data()) != 1) {
    return Status::Internal("nip04: cipher init failed");
  }
  std::string out(ct->size() + kBlock, '\0');
  int n1 = 0, n2 = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (EVP_DecryptUpdate(ctx.get(), o, &n1, ct->data(), static_cast<int>(ct->size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + n1, &n2) != 1) {
    return Status::InvalidArgument("nip04: bad padding (wrong key or corrupted message)");
  }
  out.resize(static_cast<size_t>(n1) + static_cast<size_t>(n2));
  return out;
}

}  // namespace agent9::identity
