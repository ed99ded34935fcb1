#include "identity/identity.h"

#include "identity/nip04.h"
#include "identity/nip44.h"
#include "identity/nip49.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"

namespace agent9::identity {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

template <typename T>
Result<T> Counted(Result<T> r, const std::function<void(bool)>& count) {
  count(r.ok());
  return r;
}

}  // namespace

const char* OpName(Op op) {
  switch (op) {
    case Op::kSign:
      return "sign";
    case Op::kVerify:
      return "verify";
    case Op::kEncrypt:
      return "encrypt";
    case Op::kDecrypt:
      return "decrypt";
    case Op::kSignEvent:
      return "sign_event";
    case Op::kExport:
      return "export";
    case Op::kRotate:
      return "rotate";
    case Op::kWrap:
      return "wrap";
    case Op::kUnwrap:
      return "unwrap";
  }
  return "unknown";
}

void Identity::Count(Op op, bool ok) {
  calls_[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed);
  if (!ok) errors_[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed);
}

Identity::Counts Identity::counts() const {
  Counts c;
  for (int i = 0; i < kOpCount; ++i) {
    c.calls[i] = calls_[i].load(std::memory_order_relaxed);
    c.errors[i] = errors_[i].load(std::memory_order_relaxed);
  }
  return c;
}

Status Identity::CreateKey(Conn& c, std::string_view agent) const {
  return vault_->Create(c, agent, clock_->NowMs()).status();
}

Status Identity::StoreKey(Conn& c, std::string_view agent, const SecretBytes& sk) const {
  return vault_->Store(c, agent, sk, clock_->NowMs()).status();
}

Result<Bytes32> Identity::Rotate(std::string_view agent) {
  Bytes32 pub{};
  Status st = db_->Write([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(vault_->Pubkey(c, agent).status());  // kNotFound for no agent
    AGENT9_ASSIGN_OR_RETURN(pub, vault_->Create(c, agent, clock_->NowMs()));
    return Status::OK();
  });
  Count(Op::kRotate, st.ok());
  AGENT9_RETURN_IF_ERROR(st);
  return pub;
}

Result<Bytes32> Identity::PubkeyIn(Conn& c, std::string_view agent) const {
  return vault_->Pubkey(c, agent);
}

Result<Bytes32> Identity::Pubkey(std::string_view agent) const {
  Bytes32 pub{};
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(pub, vault_->Pubkey(c, agent));
    return Status::OK();
  }));
  return pub;
}

Result<std::vector<std::pair<std::string, Bytes32>>> Identity::Keys(std::string_view after,
                                                                    size_t limit) const {
  std::vector<std::pair<std::string, Bytes32>> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(out, vault_->Keys(c, after, limit));
    return Status::OK();
  }));
  return out;
}

Result<std::optional<std::string>> Identity::AgentFor(const Bytes32& pubkey) const {
  std::optional<std::string> out;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(out, vault_->AgentFor(c, pubkey));
    return Status::OK();
  }));
  return out;
}

Result<SecretBytes> Identity::OpenKey(std::string_view agent) const {
  std::optional<SecretBytes> sk;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(SecretBytes k, vault_->Open(c, agent));
    sk.emplace(std::move(k));
    return Status::OK();
  }));
  return std::move(*sk);
}

Result<Sig64> Identity::Sign(std::string_view agent, std::string_view message) {
  auto count = [this](bool ok) { Count(Op::kSign, ok); };
  auto sk = OpenKey(agent);
  if (!sk.ok()) return Counted<Sig64>(sk.status(), count);
  Bytes32 digest = Sha256(Bytes(message));
  return Counted(SignSchnorr(*sk, digest), count);
}

bool Identity::Verify(const Bytes32& pubkey, const Sig64& sig, std::string_view message) {
  Bytes32 digest = Sha256(Bytes(message));
  bool ok = VerifySchnorr(pubkey, digest, sig);
  Count(Op::kVerify, true);
  return ok;
}

Result<std::string> Identity::Encrypt(std::string_view agent, const Bytes32& to,
                                      std::string_view plaintext) {
  auto count = [this](bool ok) { Count(Op::kEncrypt, ok); };
  auto sk = OpenKey(agent);
  if (!sk.ok()) return Counted<std::string>(sk.status(), count);
  auto conv = Nip44ConversationKey(*sk, to);
  if (!conv.ok()) return Counted<std::string>(conv.status(), count);
  return Counted(Nip44Encrypt(plaintext, *conv), count);
}

Result<std::string> Identity::Decrypt(std::string_view agent, const Bytes32& from,
                                      std::string_view payload) {
  auto count = [this](bool ok) { Count(Op::kDecrypt, ok); };
  auto sk = OpenKey(agent);
  if (!sk.ok()) return Counted<std::string>(sk.status(), count);
  // NIP-04 contents carry their IV after "?iv="; NIP-44 payloads are plain base64.
  if (payload.find("?iv=") != std::string_view::npos) {
    return Counted(Nip04Decrypt(payload, *sk, from), count);
  }
  auto conv = Nip44ConversationKey(*sk, from);
  if (!conv.ok()) return Counted<std::string>(conv.status(), count);
  return Counted(Nip44Decrypt(payload, *conv), count);
}

Result<Event> Identity::SignEvent(std::string_view agent, int kind, Json tags, std::string content,
                                  int64_t created_at) {
  auto count = [this](bool ok) { Count(Op::kSignEvent, ok); };
  auto sk = OpenKey(agent);
  if (!sk.ok()) return Counted<Event>(sk.status(), count);
  return Counted(identity::SignEvent(*sk, kind, std::move(tags), std::move(content), created_at),
                 count);
}

Result<Event> Identity::WrapDm(std::string_view agent, const Bytes32& recipient,
                               const Rumor& rumor) {
  auto count = [this](bool ok) { Count(Op::kWrap, ok); };
  auto sk = OpenKey(agent);
  if (!sk.ok()) return Counted<Event>(sk.status(), count);
  return Counted(SealAndWrap(*sk, recipient, rumor, clock_->NowMs() / 1000), count);
}

Result<Unwrapped> Identity::UnwrapDm(std::string_view agent, const Event& wrap) {
  auto count = [this](bool ok) { Count(Op::kUnwrap, ok); };
  auto sk = OpenKey(agent);
  if (!sk.ok()) return Counted<Unwrapped>(sk.status(), count);
  return Counted(Unwrap(*sk, wrap), count);
}

Result<std::string> Identity::ExportKey(Conn& c, std::string_view agent,
                                        std::string_view passphrase, int log_n) {
  auto count = [this](bool ok) { Count(Op::kExport, ok); };
  if (passphrase.empty()) {
    return Counted<std::string>(Status::InvalidArgument("an empty passphrase"), count);
  }
  auto sk = vault_->Open(c, agent);
  if (!sk.ok()) return Counted<std::string>(sk.status(), count);
  return Counted(Nip49Encrypt(*sk, passphrase, log_n), count);
}

}  // namespace agent9::identity
