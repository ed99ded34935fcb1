#include "controlplane/auth.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fs/base/path.h"

namespace agent9 {
namespace {

constexpr std::string_view kProgramTokenPrefix = "a9p_";

constexpr std::string_view kSchema[] = {
    R"sql(
CREATE TABLE tokens(
  hash TEXT PRIMARY KEY,
  agent TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tokens_agent ON tokens(agent);
)sql",
};

std::string Hex(const unsigned char* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

std::string HashToken(std::string_view token) {
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return Hex(h, sizeof h);
}

Status PosixError(std::string_view context, int err) {
  return Status::Internal(std::string(context), std::strerror(err));
}

}  // namespace

std::string NewToken() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  std::string t = "a9_" + Hex(raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  return t;
}

Status TokenAuth::Migrate(Database& db) { return db.Migrate("auth", kSchema); }

TokenAuth::TokenAuth(Database* db, const AgentService* agents, const Clock* clock,
                     std::string admin_token)
    : db_(db), agents_(agents), clock_(clock), admin_token_(std::move(admin_token)) {
  randombytes_buf(program_key_, sizeof program_key_);
}

std::string TokenAuth::ProgramMac(std::string_view agent, int64_t created_at) const {
  std::string msg = std::string(agent) + '\0' + std::to_string(created_at);
  unsigned char h[32];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                     program_key_, sizeof program_key_);
  return Hex(h, sizeof h);
}

TokenAuth::~TokenAuth() {
  if (feed_) feed_->Unsubscribe(subscription_);
}

void TokenAuth::WatchRemovals(ChangeFeed* feed) {
  feed_ = feed;
  const NodeId agents_dir = PathNodeId({"agents"});
  subscription_ = feed->Subscribe([this, agents_dir](NodeId dir, std::string_view name) {
    if (dir == agents_dir) Forget(name);
  });
}

void TokenAuth::Forget(std::string_view agent) {
  MutexLock l(&cache_mu_);
  ++epoch_;
  auto it = hashes_of_.find(std::string(agent));
  if (it == hashes_of_.end()) return;
  for (const auto& h : it->second) token_agent_.erase(h);
  hashes_of_.erase(it);
}

Result<std::string> TokenAuth::TokenAgent(const std::string& hash) const {
  const bool cache = feed_ != nullptr;
  uint64_t epoch = 0;
  if (cache) {
    MutexLock l(&cache_mu_);
    auto it = token_agent_.find(hash);
    if (it != token_agent_.end()) return it->second;
    epoch = epoch_;
  }
  std::string agent;
  AGENT9_RETURN_IF_ERROR(db_->Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT agent FROM tokens WHERE hash=?"));
    s->Bind(1, hash);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) agent = s->Text(0);
    return Status::OK();
  }));
  // Unknown hashes are not cached: guessing must not fill memory.
  if (cache && !agent.empty()) {
    MutexLock l(&cache_mu_);
    if (epoch == epoch_) {
      if (hashes_of_.size() >= kCacheMax) {
        hashes_of_.clear();
        token_agent_.clear();
      }
      hashes_of_[agent].push_back(hash);
      token_agent_.emplace(hash, agent);
    }
  }
  return agent;
}

Result<std::string> TokenAuth::ProgramToken(std::string_view agent) {
  AGENT9_ASSIGN_OR_RETURN(int64_t created, agents_->CreatedAt(agent));
  return std::string(kProgramTokenPrefix) + std::string(agent) + "_" + ProgramMac(agent, created);
}

Result<std::unique_ptr<TokenAuth>> TokenAuth::Open(Database* db, const AgentService* agents,
                                                   const Clock* clock, const std::string& path) {
  std::string token;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n < 0) return PosixError("read admin token file", errno);
    token.assign(buf, static_cast<size_t>(n));
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
      token.pop_back();
    }
    if (token.size() < 16) return Status::Internal("admin token file is too short", path);
  } else if (errno == ENOENT) {
    token = NewToken();
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return PosixError("create admin token file " + path, errno);
    std::string line = token + "\n";
    ssize_t w = ::write(fd, line.data(), line.size());
    int werr = errno;
    if (w == static_cast<ssize_t>(line.size())) ::fsync(fd);
    ::close(fd);
    if (w != static_cast<ssize_t>(line.size())) return PosixError("write admin token file", werr);
  } else {
    return PosixError("open admin token file " + path, errno);
  }
  ::chmod(path.c_str(), 0600);
  return std::unique_ptr<TokenAuth>(new TokenAuth(db, agents, clock, std::move(token)));
}

void TokenAuth::SetHttpAuth(const Modules* modules, std::string public_url,
                            std::vector<std::string> operators) {
  modules_ = modules;
  while (!public_url.empty() && public_url.back() == '/') public_url.pop_back();
  public_url_ = std::move(public_url);
  operators_ = std::move(operators);
}

Result<Caller> TokenAuth::AuthenticateRequest(const HttpAuth& req) {
  Module* m = modules_ ? modules_->HttpAuthFor(req.scheme) : nullptr;
  if (!m) {
    return Status::Unauthenticated("unsupported Authorization scheme (want: Bearer <token>)");
  }
  HttpAuth a = req;
  if (!public_url_.empty()) {
    // The outside base URL replaces http://<Host>: the path and query are kept.
    size_t path = a.url.find('/', a.url.find("://") + 3);
    a.url = public_url_ + (path == std::string::npos ? "/" : a.url.substr(path));
  }
  AGENT9_ASSIGN_OR_RETURN(std::string npub, m->VerifyHttpAuth(a));
  Caller who = std::find(operators_.begin(), operators_.end(), npub) != operators_.end()
                   ? Caller::Admin()
                   : Caller::Public();
  who.npub = std::move(npub);
  return who;
}

Result<Caller> TokenAuth::Authenticate(std::string_view token) {
  if (token.empty()) return Caller::Public();
  if (token.size() == admin_token_.size() &&
      sodium_memcmp(token.data(), admin_token_.data(), token.size()) == 0) {
    return Caller::Admin();
  }
  if (token.size() > 256) return Status::Unauthenticated("invalid token");
  if (token.starts_with(kProgramTokenPrefix)) {
    // a9p_<agent>_<64 hex>; agent ids may hold '_', the MAC never does.
    std::string_view rest = token.substr(kProgramTokenPrefix.size());
    size_t cut = rest.rfind('_');
    if (cut == std::string_view::npos) return Status::Unauthenticated("invalid token");
    std::string_view agent = rest.substr(0, cut), mac = rest.substr(cut + 1);
    if (!ValidateAgentId(agent).ok() || mac.size() != 64) {
      return Status::Unauthenticated("invalid token");
    }
    auto created = agents_->CreatedAt(agent);
    if (!created.ok()) {
      if (created.status().IsNotFound()) return Status::Unauthenticated("invalid token");
      return created.status();
    }
    std::string want = ProgramMac(agent, *created);
    if (sodium_memcmp(want.data(), mac.data(), want.size()) != 0) {
      return Status::Unauthenticated("invalid token");
    }
    return Caller::Agent(std::string(agent));
  }
  AGENT9_ASSIGN_OR_RETURN(std::string agent, TokenAgent(HashToken(token)));
  if (agent.empty()) return Status::Unauthenticated("invalid token");
  return Caller::Agent(agent);
}

Result<std::string> TokenAuth::MintAgentToken(std::string_view agent) {
  std::string token;
  AGENT9_RETURN_IF_ERROR(db_->Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(token, MintAgentTokenIn(c, agent));
    return Status::OK();
  }));
  return token;
}

Result<std::string> TokenAuth::MintAgentTokenIn(Conn& c, std::string_view agent) {
  std::string token = NewToken();
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT 1 FROM agents WHERE id=?"));
  s->Bind(1, agent);
  AGENT9_ASSIGN_OR_RETURN(bool exists, s->Step());
  s->Reset();
  if (!exists) return Status::NotFound("no such agent", agent);
  AGENT9_ASSIGN_OR_RETURN(Stmt * ins,
                          c.Prepare("INSERT INTO tokens(hash, agent, created_at) VALUES(?,?,?)"));
  ins->Bind(1, HashToken(token)).Bind(2, agent).Bind(3, clock_->NowMs());
  AGENT9_RETURN_IF_ERROR(ins->Run());
  return token;
}

}  // namespace agent9
