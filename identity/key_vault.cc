#include "identity/key_vault.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "identity/secp256k1.h"

namespace agent9::identity {
namespace {

constexpr size_t kMasterBytes = 32;
constexpr size_t kNonceBytes = 24;

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE identity_keys(
  agent TEXT PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  pubkey TEXT NOT NULL,
  sealed BLOB NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX identity_keys_pubkey ON identity_keys(pubkey);
CREATE TABLE identity_meta(
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE identity_secrets(
  name TEXT PRIMARY KEY,
  sealed BLOB NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql",
};

constexpr std::string_view kCanaryAd = "agent9-master-key-check-v1";

std::string KeyAd(std::string_view agent, std::string_view pubkey_hex) {
  return "agent9-key-v1\n" + std::string(agent) + "\n" + std::string(pubkey_hex);
}

std::string SecretAd(std::string_view name) { return "agent9-secret-v1\n" + std::string(name); }

Status PosixError(const std::string& what, int err) {
  return Status::Internal(what, std::strerror(err));
}

// Reads a master key: 32 raw bytes, or 64 hex digits (a trailing newline allowed), straight
// into guarded memory.
Result<SecretBytes> ParseMaster(const SecretBytes& raw, size_t n, const std::string& where) {
  if (n == kMasterBytes) return SecretBytes::Copy(std::span(raw.data(), n));
  size_t len = n;
  while (len > 0 && (raw.data()[len - 1] == '\n' || raw.data()[len - 1] == '\r')) --len;
  if (len != 2 * kMasterBytes) {
    return Status::InvalidArgument(where + ": want 32 bytes or 64 hex digits");
  }
  SecretBytes key = SecretBytes::Make(kMasterBytes);
  size_t bin_len = 0;
  if (sodium_hex2bin(key.data(), key.size(), reinterpret_cast<const char*>(raw.data()), len,
                     nullptr, &bin_len, nullptr) != 0 ||
      bin_len != kMasterBytes) {
    return Status::InvalidArgument(where + ": want 32 bytes or 64 hex digits");
  }
  return key;
}

Result<SecretBytes> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return PosixError("open master key " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return PosixError("stat master key " + path, err);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::InvalidArgument("master key " + path +
                                   " is readable by other users: chmod 600 it");
  }
  SecretBytes raw = SecretBytes::Make(2 * kMasterBytes + 2);
  size_t n = 0;
  while (n < raw.size()) {
    ssize_t r = ::read(fd, raw.data() + n, raw.size() - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      ::close(fd);
      return PosixError("read master key " + path, err);
    }
    if (r == 0) break;
    n += static_cast<size_t>(r);
  }
  ::close(fd);
  return ParseMaster(raw, n, "master key " + path);
}

// Creates path with 32 random bytes, mode 0600, through a rename so a crash never leaves a
// short key behind (the data dir's lock keeps a second daemon out meanwhile).
Result<SecretBytes> CreateKeyFile(const std::string& path) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return PosixError("create master key " + tmp, errno);
  SecretBytes key = SecretBytes::Random(kMasterBytes);
  bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return PosixError("write master key " + path, err);
  }
  return key;
}

}  // namespace

Result<std::unique_ptr<KeyVault>> KeyVault::Open(const MasterKeySource& src) {
  if (!src.env_name.empty()) {
    if (char* v = std::getenv(src.env_name.c_str()); v && *v) {
      size_t n = std::strlen(v);
      SecretBytes raw = SecretBytes::Copy(std::span(reinterpret_cast<const uint8_t*>(v), n));
      // Gone from the environment, so no child (exec agents, sandboxes) inherits it.
      sodium_memzero(v, n);
      ::unsetenv(src.env_name.c_str());
      AGENT9_ASSIGN_OR_RETURN(SecretBytes key, ParseMaster(raw, n, "$" + src.env_name));
      return std::make_unique<KeyVault>(std::move(key));
    }
  }
  if (!src.file.empty()) {
    AGENT9_ASSIGN_OR_RETURN(SecretBytes key, ReadKeyFile(src.file));
    return std::make_unique<KeyVault>(std::move(key));
  }
  if (src.data_dir.empty()) return Status::InvalidArgument("no master key source");
  std::string path = src.data_dir + "/master.key";
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
    AGENT9_ASSIGN_OR_RETURN(SecretBytes key, CreateKeyFile(path));
    return std::make_unique<KeyVault>(std::move(key));
  }
  AGENT9_ASSIGN_OR_RETURN(SecretBytes key, ReadKeyFile(path));
  return std::make_unique<KeyVault>(std::move(key));
}

Result<std::string> KeyVault::Seal(const SecretBytes& plain, std::string_view ad) const {
  std::array<uint8_t, kNonceBytes> nonce{};
  RandomBytes(nonce);
  AGENT9_ASSIGN_OR_RETURN(
      std::vector<uint8_t> ct,
      XChaChaSeal(master_, nonce, plain.span(),
                  std::span(reinterpret_cast<const uint8_t*>(ad.data()), ad.size())));
  std::string out(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  out.append(reinterpret_cast<const char*>(ct.data()), ct.size());
  return out;
}

Result<SecretBytes> KeyVault::Unseal(std::string_view sealed, std::string_view ad) const {
  if (sealed.size() <= kNonceBytes) return Status::Internal("a sealed key is truncated");
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(sealed.data()), sealed.size());
  auto opened = XChaChaOpen(master_, bytes.first(kNonceBytes), bytes.subspan(kNonceBytes),
                            std::span(reinterpret_cast<const uint8_t*>(ad.data()), ad.size()));
  if (!opened.ok()) return Status::Internal("the master key does not open a stored key");
  return std::move(opened).value();
}

Status KeyVault::Migrate(Database& db) const {
  AGENT9_RETURN_IF_ERROR(db.Migrate("identity", kSchema));
  return db.Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                            c.Prepare("SELECT value FROM identity_meta WHERE name='canary'"));
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) {
      std::string sealed = s->Text(0);
      s->Reset();
      if (!Unseal(sealed, kCanaryAd).ok()) {
        return Status::InvalidArgument(
            "the master key does not open this data dir's agent keys (was AGENT9_MASTER_KEY, "
            "[identity] master_key_file or master.key changed?)");
      }
      return Status::OK();
    }
    s->Reset();
    AGENT9_ASSIGN_OR_RETURN(std::string sealed, Seal(SecretBytes::Random(32), kCanaryAd));
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * ins, c.Prepare("INSERT INTO identity_meta(name, value) VALUES('canary', ?)"));
    ins->BindBlob(1, std::as_bytes(std::span(sealed.data(), sealed.size())));
    return ins->Run();
  });
}

Result<Bytes32> KeyVault::Create(Conn& c, std::string_view agent, int64_t now_ms) const {
  AGENT9_ASSIGN_OR_RETURN(SecretBytes sk, NewSecretKey());
  return Store(c, agent, sk, now_ms);
}

Result<Bytes32> KeyVault::Store(Conn& c, std::string_view agent, const SecretBytes& sk,
                                int64_t now_ms) const {
  AGENT9_ASSIGN_OR_RETURN(Bytes32 pub, XOnlyPubkey(sk));
  std::string pub_hex = HexEncode(pub);
  AGENT9_ASSIGN_OR_RETURN(std::string sealed, Seal(sk, KeyAd(agent, pub_hex)));
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO identity_keys(agent, pubkey, sealed, created_at) "
                                    "VALUES(?,?,?,?) ON CONFLICT(agent) DO UPDATE SET "
                                    "pubkey=excluded.pubkey, sealed=excluded.sealed, "
                                    "created_at=excluded.created_at"));
  s->Bind(1, agent).Bind(2, pub_hex);
  s->BindBlob(3, std::as_bytes(std::span(sealed.data(), sealed.size()))).Bind(4, now_ms);
  Status st = s->Run();
  if (!st.ok() && st.message().find("UNIQUE") != std::string::npos) {
    return Status::AlreadyExists("another agent holds this key", pub_hex);
  }
  AGENT9_RETURN_IF_ERROR(st);
  return pub;
}

Result<Bytes32> KeyVault::Pubkey(Conn& c, std::string_view agent) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT pubkey FROM identity_keys WHERE agent=?"));
  s->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return Status::NotFound("agent has no key", agent);
  std::string hex = s->Text(0);
  s->Reset();
  return HexDecode32(hex);
}

Result<SecretBytes> KeyVault::Open(Conn& c, std::string_view agent) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("SELECT pubkey, sealed FROM identity_keys WHERE agent=?"));
  s->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return Status::NotFound("agent has no key", agent);
  std::string pub_hex = s->Text(0), sealed = s->Text(1);
  s->Reset();
  auto sk = Unseal(sealed, KeyAd(agent, pub_hex));
  if (!sk.ok())
    return Status::Internal("the key of agent " + std::string(agent) + " does not open");
  return sk;
}

Result<std::optional<std::string>> KeyVault::AgentFor(Conn& c, const Bytes32& pubkey) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT agent FROM identity_keys WHERE pubkey=?"));
  s->Bind(1, HexEncode(pubkey));
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  std::optional<std::string> out;
  if (row) out = s->Text(0);
  s->Reset();
  return out;
}

Result<std::vector<std::pair<std::string, Bytes32>>> KeyVault::Keys(Conn& c, std::string_view after,
                                                                    size_t limit) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT agent, pubkey FROM identity_keys WHERE "
                                              "agent > ? ORDER BY agent LIMIT ?"));
  s->Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  std::vector<std::pair<std::string, Bytes32>> out;
  while (true) {
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    AGENT9_ASSIGN_OR_RETURN(Bytes32 pub, HexDecode32(s->Text(1)));
    out.emplace_back(s->Text(0), pub);
  }
  return out;
}

Result<std::vector<std::string>> KeyVault::Keyless(Conn& c, size_t limit) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("SELECT id FROM agents a WHERE NOT EXISTS (SELECT 1 FROM "
                                    "identity_keys k WHERE k.agent = a.id) ORDER BY id LIMIT ?"));
  s->Bind(1, static_cast<int64_t>(limit));
  std::vector<std::string> out;
  while (true) {
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    out.push_back(s->Text(0));
  }
  return out;
}

Status KeyVault::StoreSecret(Conn& c, std::string_view name, const SecretBytes& secret,
                             int64_t now_ms) const {
  if (name.empty()) return Status::InvalidArgument("a secret needs a name");
  if (secret.empty()) return Status::InvalidArgument("an empty secret", name);
  AGENT9_ASSIGN_OR_RETURN(std::string sealed, Seal(secret, SecretAd(name)));
  AGENT9_ASSIGN_OR_RETURN(Stmt * s,
                          c.Prepare("INSERT INTO identity_secrets(name, sealed, updated_at) "
                                    "VALUES(?,?,?) ON CONFLICT(name) DO UPDATE SET "
                                    "sealed=excluded.sealed, updated_at=excluded.updated_at"));
  s->Bind(1, name);
  s->BindBlob(2, std::as_bytes(std::span(sealed.data(), sealed.size()))).Bind(3, now_ms);
  return s->Run();
}

Result<SecretBytes> KeyVault::OpenSecret(Conn& c, std::string_view name) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT sealed FROM identity_secrets WHERE name=?"));
  s->Bind(1, name);
  AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return Status::NotFound("no secret named", name);
  std::string sealed = s->Text(0);
  s->Reset();
  auto opened = Unseal(sealed, SecretAd(name));
  if (!opened.ok()) return Status::Internal("the secret does not open", name);
  return opened;
}

Status KeyVault::RemoveSecret(Conn& c, std::string_view name) const {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("DELETE FROM identity_secrets WHERE name=?"));
  s->Bind(1, name);
  return s->Run();
}

}  // namespace agent9::identity
