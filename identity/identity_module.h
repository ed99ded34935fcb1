// The identity module (fs/module.h): a durable secp256k1 key per agent, made in the agent's
// creating transaction and sealed under the master key; identity/ in every agent's tree;
// pubkey and npub in status and bundles; key export (NIP-49) and import. Runtime config:
// [identity] master_key_env, master_key_file, export_log_n (docs/CONFIG.md).
// Thread-safety: hooks are thread-safe once Open returned.
#pragma once

#include <memory>

#include "fs/module.h"
#include "identity/identity.h"
#include "identity/key_vault.h"

namespace agent9::identity {

class IdentityModule final : public Module {
 public:
  std::string_view name() const override { return "identity"; }
  Status Configure(const RuntimeConfig& config) override;
  Status Open(const ModuleContext& ctx) override;
  std::vector<TableEntry> AgentEntries() override;
  Status OnAgentCreated(Conn& c, std::string_view agent) override;
  Status AddStatus(Conn& c, std::string_view agent, Json* status, int64_t* expires_ms) override;
  Status Export(Conn& c, std::string_view agent, const ExportRequest& req, Json* manifest,
                std::vector<BundleFile>* files) override;
  Result<ImportApply> PrepareImport(const ImportRequest& req) override;
  bool OwnsBundleFile(std::string_view name) const override { return name == kKeyFile; }
  std::string MetricsText() override;

  // The domain service, for modules that sign with agents' keys (nostr). Valid after Open.
  Identity* identity() const { return identity_.get(); }
  // The key vault, for modules that seal their own secrets (container provider credentials).
  // Valid after Open.
  const KeyVault* vault() const { return vault_.get(); }

  static constexpr std::string_view kKeyFile = "key.ncryptsec";

 private:
  // Gives every agent made before this module existed its key, in batches.
  Status Backfill(Database* db, const Clock* clock);

  MasterKeySource master_;
  int export_log_n_ = 16;
  ModuleContext ctx_;
  std::unique_ptr<KeyVault> vault_;
  std::unique_ptr<Identity> identity_;
};

}  // namespace agent9::identity
