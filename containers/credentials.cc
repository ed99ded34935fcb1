#include "containers/credentials.h"

#include <cstdlib>
#include <span>

namespace agent9::containers {

Credentials::Credentials(Database* db, const identity::KeyVault* vault, const Clock* clock)
    : db_(db), vault_(vault), clock_(clock != nullptr ? clock : &system_clock_) {}

std::string Credentials::SecretName(std::string_view provider) {
  return "containers:" + std::string(provider);
}

Status Credentials::Set(std::string_view provider, std::string_view secret) {
  if (provider.empty()) return Status::InvalidArgument("a credential needs a provider");
  if (secret.empty()) return Status::InvalidArgument("an empty credential", provider);
  auto sealed = identity::SecretBytes::Copy(
      std::span(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()));
  std::string name = SecretName(provider);
  int64_t now = clock_->NowMs();
  return db_->Write([&](Conn& c) { return vault_->StoreSecret(c, name, sealed, now); });
}

Result<std::optional<std::string>> Credentials::Get(std::string_view provider) {
  std::optional<std::string> out;
  std::string name = SecretName(provider);
  Status st = db_->Read([&](Conn& c) -> Status {
    auto s = vault_->OpenSecret(c, name);
    if (s.status().code() == Code::kNotFound) return Status::OK();
    if (!s.ok()) return s.status();
    out.emplace(reinterpret_cast<const char*>(s->data()), s->size());
    return Status::OK();
  });
  if (!st.ok()) return st;
  return out;
}

Status Credentials::Remove(std::string_view provider) {
  std::string name = SecretName(provider);
  return db_->Write([&](Conn& c) { return vault_->RemoveSecret(c, name); });
}

std::function<Result<std::string>()> KeySource(Credentials* creds, std::string provider,
                                               std::string env_name) {
  return [creds, provider = std::move(provider),
          env_name = std::move(env_name)]() -> Result<std::string> {
    if (creds != nullptr) {
      AGENT9_ASSIGN_OR_RETURN(std::optional<std::string> stored, creds->Get(provider));
      if (stored && !stored->empty()) return std::move(*stored);
    }
    if (!env_name.empty()) {
      // Nothing in the daemon calls setenv once threads run, so reading here is safe.
      const char* v = std::getenv(env_name.c_str());  // NOLINT(concurrency-mt-unsafe)
      if (v != nullptr && *v != '\0') return std::string(v);
    }
    return Status::NotFound("no credential for provider", provider);
  };
}

}  // namespace agent9::containers
