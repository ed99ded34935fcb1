#include "identity/identity_module.h"

#include "fs/base/log.h"
#include "identity/identity_files.h"
#include "identity/nip19.h"
#include "identity/nip49.h"
#include "identity/secp256k1.h"

namespace agent9::identity {

Status IdentityModule::Configure(const RuntimeConfig& config) {
  ConfigSection s = config.Section("identity");
  AGENT9_ASSIGN_OR_RETURN(master_.env_name, s.String("master_key_env", "AGENT9_MASTER_KEY"));
  AGENT9_ASSIGN_OR_RETURN(master_.file, s.String("master_key_file"));
  // NIP-49's scrypt cost: 2^16 takes ~0.1 s and 64 MiB; 2^22 (the limit imports accept)
  // takes seconds and 4 GiB.
  AGENT9_ASSIGN_OR_RETURN(int64_t log_n, s.Int("export_log_n", 16, 10, 22));
  export_log_n_ = static_cast<int>(log_n);
  return Status::OK();
}

Status IdentityModule::Open(const ModuleContext& ctx) {
  ctx_ = ctx;
  master_.data_dir = ctx.data_dir;
  AGENT9_ASSIGN_OR_RETURN(vault_, KeyVault::Open(master_));
  AGENT9_RETURN_IF_ERROR(vault_->Migrate(*ctx.db));
  identity_ = std::make_unique<Identity>(ctx.db, ctx.clock, vault_.get());
  return Backfill(ctx.db, ctx.clock);
}

Status IdentityModule::Backfill(Database* db, const Clock* clock) {
  int64_t made = 0;
  for (;;) {
    size_t n = 0;
    AGENT9_RETURN_IF_ERROR(db->Write([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(auto ids, vault_->Keyless(c, 500));
      n = ids.size();
      for (const auto& id : ids) {
        AGENT9_RETURN_IF_ERROR(vault_->Create(c, id, clock->NowMs()).status());
      }
      return Status::OK();
    }));
    made += static_cast<int64_t>(n);
    if (n == 0) break;
  }
  if (made > 0) LogInfo("identity: made keys for " + std::to_string(made) + " existing agents");
  return Status::OK();
}

std::vector<TableEntry> IdentityModule::AgentEntries() {
  return IdentityEntries(identity_.get(), ctx_.host, ctx_.calls);
}

Status IdentityModule::OnAgentCreated(Conn& c, std::string_view agent) {
  return identity_->CreateKey(c, agent);
}

Status IdentityModule::AddStatus(Conn& c, std::string_view agent, Json* status, int64_t*) {
  auto pub = identity_->PubkeyIn(c, agent);
  if (!pub.ok() && !pub.status().IsNotFound()) return pub.status();
  (*status)["pubkey"] = pub.ok() ? Json(HexEncode(*pub)) : Json(nullptr);
  (*status)["npub"] = pub.ok() ? Json(EncodeNpub(*pub)) : Json(nullptr);
  return Status::OK();
}

Status IdentityModule::Export(Conn& c, std::string_view agent, const ExportRequest& req,
                              Json* manifest, std::vector<BundleFile>* files) {
  AGENT9_RETURN_IF_ERROR(AddStatus(c, agent, manifest, nullptr));
  if (req.key_passphrase.empty()) return Status::OK();
  AGENT9_ASSIGN_OR_RETURN(std::string ncryptsec,
                          identity_->ExportKey(c, agent, req.key_passphrase, export_log_n_));
  files->push_back(BundleFile{std::string(kKeyFile), ncryptsec + "\n"});
  return Status::OK();
}

Result<ImportApply> IdentityModule::PrepareImport(const ImportRequest& req) {
  Identity* identity = identity_.get();
  auto fresh = [identity](Conn& c, std::string_view agent) {
    return identity->CreateKey(c, agent);
  };
  auto it = req.files->find(std::string(kKeyFile));
  // A clone is a new agent with a new key, whatever the bundle holds.
  if (req.clone) return ImportApply(fresh);
  if (it == req.files->end()) {
    if (!req.key_passphrase.empty()) {
      return Status::InvalidArgument(
          "a passphrase was given but the bundle holds no key (it was exported without one)");
    }
    return ImportApply(fresh);
  }
  if (req.key_passphrase.empty()) {
    return Status::InvalidArgument(
        "the bundle holds an encrypted key (key.ncryptsec): give its passphrase");
  }
  std::string_view text = it->second;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  auto sk = Nip49Decrypt(text, req.key_passphrase);
  if (!sk.ok()) return Status::InvalidArgument("key.ncryptsec", sk.status().message());
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pub, XOnlyPubkey(*sk));
  if (req.manifest && req.manifest->contains("pubkey") && (*req.manifest)["pubkey"].is_string() &&
      (*req.manifest)["pubkey"].get<std::string>() != HexEncode(pub)) {
    return Status::InvalidArgument("key.ncryptsec does not match the manifest's pubkey");
  }
  auto key = std::make_shared<SecretBytes>(std::move(sk).value());
  return ImportApply([identity, key](Conn& c, std::string_view agent) {
    return identity->StoreKey(c, agent, *key);
  });
}

std::string IdentityModule::MetricsText() {
  Identity::Counts n = identity_->counts();
  std::string out =
      "# HELP agent9_identity_calls_total Identity operations (sign, verify, encrypt, ...).\n"
      "# TYPE agent9_identity_calls_total counter\n";
  for (int i = 0; i < kOpCount; ++i) {
    out += std::string("agent9_identity_calls_total{op=\"") + OpName(static_cast<Op>(i)) + "\"} " +
           std::to_string(n.calls[i]) + "\n";
  }
  out +=
      "# HELP agent9_identity_errors_total Identity operations that failed.\n"
      "# TYPE agent9_identity_errors_total counter\n";
  for (int i = 0; i < kOpCount; ++i) {
    out += std::string("agent9_identity_errors_total{op=\"") + OpName(static_cast<Op>(i)) + "\"} " +
           std::to_string(n.errors[i]) + "\n";
  }
  return out;
}

}  // namespace agent9::identity
