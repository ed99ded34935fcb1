#include "containers/credentials.h"

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

}  // namespace agent9::containers
