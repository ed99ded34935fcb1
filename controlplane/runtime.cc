#include "controlplane/runtime.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controlplane/agent_host.h"
#include "controlplane/control.h"
#include "controlplane/modules.h"
#include "fs/base/log.h"
#include "fs/base/path.h"
#include "identity/nip19.h"
#include "tick/exec_agent.h"

namespace agent9 {
namespace {

#ifndef AGENT9_VERSION
#define AGENT9_VERSION "dev"
#endif
// The project version (CMake); export bundles record the same string (tick/agent_bundle.cc).
constexpr const char* kVersion = AGENT9_VERSION;

Status MakeDirs(const std::string& dir) {
  std::string cur;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      cur = dir.substr(0, i);
      if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::Internal("create data dir " + cur, std::strerror(errno));
      }
    }
  }
  return Status::OK();
}

// Holds an exclusive flock on DIR/agent9.lock so two daemons never share one store; the
// kernel drops it when the process dies, so kill -9 leaves nothing to clean up.
Result<int> LockDataDir(const std::string& dir) {
  std::string path = dir + "/agent9.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("open " + path, std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status(Code::kAborted, "another agent9 daemon is using the data dir " + dir);
    }
    return Status::Internal("lock " + path, std::strerror(err));
  }
  return fd;
}

// [http] of the runtime config (docs/CONFIG.md).
struct HttpSettings {
  std::string public_url;              // the outside base URL NIP-98 signatures name
  std::vector<std::string> operators;  // npubs with admin rights over NIP-98
};

Result<HttpSettings> ReadHttpSettings(const RuntimeConfig& config) {
  ConfigSection s = config.Section("http");
  HttpSettings h;
  AGENT9_ASSIGN_OR_RETURN(h.public_url, s.String("public_url"));
  if (!h.public_url.empty() && !h.public_url.starts_with("http://") &&
      !h.public_url.starts_with("https://")) {
    return Status::InvalidArgument(s.Where("public_url") +
                                   ": http.public_url: want an http:// or https:// URL");
  }
  AGENT9_ASSIGN_OR_RETURN(auto ops, s.Strings("operators"));
  for (const auto& op : ops) {
    auto pub = identity::ParsePubkey(op);
    if (!pub.ok()) {
      return Status::InvalidArgument(s.Where("operators") + ": http.operators: '" + op +
                                     "' is not an npub or a hex public key");
    }
    h.operators.push_back(identity::EncodeNpub(*pub));
  }
  return h;
}

}  // namespace

Runtime::~Runtime() {
  modules_.Stop();               // no more deliveries from relays and workers
  if (engine_) engine_->Stop();  // running ticks commit or roll back first
  if (agents_) agents_->SetEnqueueListener(nullptr);
  api_.reset();
  fs_.reset();
  auth_.reset();
  agents_.reset();
  db_.reset();  // joins the writer and checkpoints
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<std::unique_ptr<Runtime>> Runtime::Open(const RuntimeOptions& opts) {
  if (opts.data_dir.empty()) return Status::InvalidArgument("no data dir");
  AGENT9_RETURN_IF_ERROR(MakeDirs(opts.data_dir));
  std::unique_ptr<Runtime> rt(new Runtime());
  AGENT9_ASSIGN_OR_RETURN(rt->lock_fd_, LockDataDir(opts.data_dir));
  rt->opts_ = opts;
  rt->started_ms_ = rt->clock_.NowMs();
  // The runtime config first: a bad one stops the start before anything is touched.
  std::string config_path =
      opts.config_file.empty() ? opts.data_dir + "/agent9.toml" : opts.config_file;
  AGENT9_ASSIGN_OR_RETURN(rt->config_, RuntimeConfig::Load(config_path, !opts.config_file.empty()));
  AddModules(rt->modules_);
  AGENT9_RETURN_IF_ERROR(rt->modules_.Configure(rt->config_));
  AGENT9_ASSIGN_OR_RETURN(HttpSettings http, ReadHttpSettings(rt->config_));
  AGENT9_RETURN_IF_ERROR(rt->config_.CheckAllRead());
  DatabaseOptions dbo;
  dbo.sync = opts.sync;
  AGENT9_ASSIGN_OR_RETURN(rt->db_, Database::Open(opts.data_dir + "/agent9.db", dbo));
  AGENT9_RETURN_IF_ERROR(AgentService::Migrate(*rt->db_));
  AGENT9_RETURN_IF_ERROR(TokenAuth::Migrate(*rt->db_));
  rt->agents_ = std::make_unique<AgentService>(rt->db_.get(), &rt->clock_);
  rt->agents_->SetChangeFeed(&rt->changes_);
  AGENT9_ASSIGN_OR_RETURN(rt->auth_, TokenAuth::Open(rt->db_.get(), rt->agents_.get(), &rt->clock_,
                                                     opts.data_dir + "/admin.token"));
  rt->auth_->SetHttpAuth(&rt->modules_, http.public_url, http.operators);
  rt->auth_->WatchRemovals(&rt->changes_);
  rt->trace_ = std::make_unique<StreamHub>();
  rt->outbox_ = std::make_unique<StreamHub>();
  rt->host_ = std::make_unique<RuntimeHost>(rt->agents_.get(), rt->trace_.get(), rt->outbox_.get());
  ModuleContext mc;
  mc.db = rt->db_.get();
  mc.clock = &rt->clock_;
  mc.host = rt->host_.get();
  mc.data_dir = opts.data_dir;
  mc.calls = std::make_shared<CallCache>();
  AGENT9_RETURN_IF_ERROR(rt->modules_.Open(mc));
  rt->agents_->SetModules(&rt->modules_);
  rt->kinds_ = std::make_unique<AgentKinds>(AgentKinds::WithBuiltins());
  ExecOptions exec;
  Runtime* me = rt.get();
  exec.context = [me](const std::string& agent) { return me->ExecContextFor(agent); };
  rt->kinds_->Register("exec", std::make_shared<ExecAgent>(exec, rt->trace_.get()));
  for (const auto& m : rt->modules_.list()) {
    for (auto& [name, kind] : m->AgentKinds()) rt->kinds_->Register(name, std::move(kind));
  }
  rt->agents_->SetKinds(rt->kinds_.get());
  EngineOptions eo;
  eo.workers = opts.tick_workers;
  rt->engine_ = std::make_unique<Engine>(rt->db_.get(), rt->agents_.get(), &rt->clock_,
                                         rt->kinds_.get(), rt->outbox_.get(), rt->trace_.get(), eo);

  Runtime* self = rt.get();
  auto deps = std::make_shared<AgentTreeDeps>();
  deps->agents = rt->agents_.get();
  deps->trace = rt->trace_.get();
  deps->outbox = rt->outbox_.get();
  deps->engine = rt->engine_.get();
  deps->calls = mc.calls;
  deps->modules = &rt->modules_;
  deps->extra_mounts = [self](const std::string& agent) {
    std::vector<std::string> lines;
    MutexLock l(&self->mounts_mu_);
    for (const auto& [a, dir] : self->agent_mounts_) {
      if (a == agent) lines.push_back(dir + "\tagent\tfuse");
    }
    return lines;
  };
  rt->deps_ = deps;
  AgentService* agents = rt->agents_.get();
  rt->is_public_ = [agents](std::string_view id) { return agents->IsPublic(id); };
  StreamHub* trace = rt->trace_.get();
  const Clock* clock = &rt->clock_;
  rt->on_error_ = [trace, clock](const Caller& who, const Node& node, const Status& st) {
    if (node.owner().empty()) return;
    trace->Record(node.owner(), Json{{"ts", Rfc3339(clock->NowMs())},
                                     {"type", "error"},
                                     {"caller", who.Name()},
                                     {"error", CodeName(st.code())},
                                     {"message", st.message()}});
  };

  Database* db = rt->db_.get();
  int64_t started = rt->started_ms_;
  ContentFn status_fn = [agents, db, clock, started]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(int64_t n, agents->Count());
    return PrettyJson(Json{{"version", kVersion},
                           {"started_at", Rfc3339(started)},
                           {"uptime_s", (clock->NowMs() - started) / 1000},
                           {"agents", n},
                           {"db_bytes", db->SizeBytes()}});
  };
  const Modules* modules = &rt->modules_;
  ContentFn metrics_fn = [agents, db, clock, started, modules]() -> Result<std::string> {
    AGENT9_ASSIGN_OR_RETURN(int64_t n, agents->Count());
    std::string out;
    out += "# HELP agent9_agents Agents in the store.\n# TYPE agent9_agents gauge\n";
    out += "agent9_agents " + std::to_string(n) + "\n";
    out += "# HELP agent9_db_bytes Bytes of the database file and its WAL.\n";
    out += "# TYPE agent9_db_bytes gauge\n";
    out += "agent9_db_bytes " + std::to_string(db->SizeBytes()) + "\n";
    out += "# HELP agent9_uptime_seconds Seconds since the daemon started.\n";
    out += "# TYPE agent9_uptime_seconds gauge\n";
    out += "agent9_uptime_seconds " + std::to_string((clock->NowMs() - started) / 1000) + "\n";
    out += "# HELP agent9_build_info Build information.\n# TYPE agent9_build_info gauge\n";
    out += std::string("agent9_build_info{version=\"") + kVersion + "\"} 1\n";
    out += modules->MetricsText();
    return out;
  };
  rt->fs_ = std::make_shared<FileService>(MakeRootDir(deps, status_fn, metrics_fn), rt->is_public_,
                                          rt->on_error_, &rt->changes_);
  rt->api_ = std::make_unique<Control>(rt->fs_, agents, rt->auth_.get(), rt->is_public_);
  Engine* engine = rt->engine_.get();
  agents->SetEnqueueListener([engine](std::string_view a) { engine->Notify(a); });
  if (opts.start_engine) AGENT9_RETURN_IF_ERROR(rt->StartEngine());
  return rt;
}

Status Runtime::CheckConfigFile(const std::string& path) {
  AGENT9_ASSIGN_OR_RETURN(RuntimeConfig config, RuntimeConfig::Load(path, true));
  Modules modules;
  AddModules(modules);
  AGENT9_RETURN_IF_ERROR(modules.Configure(config));
  AGENT9_RETURN_IF_ERROR(ReadHttpSettings(config).status());
  return config.CheckAllRead();
}

Status Runtime::StartEngine() {
  AGENT9_RETURN_IF_ERROR(engine_->Start());
  return modules_.Start();
}

void Runtime::SetServerUrl(std::string url) {
  MutexLock l(&mounts_mu_);
  server_url_ = std::move(url);
}

void Runtime::NoteGlobalMount(const std::string& dir) {
  MutexLock l(&mounts_mu_);
  global_mounts_.push_back(std::filesystem::absolute(dir).lexically_normal().string());
}

ExecContext Runtime::ExecContextFor(const std::string& agent) {
  ExecContext ctx;
  auto token = auth_->ProgramToken(agent);
  if (token.ok()) ctx.token = std::move(*token);
  MutexLock l(&mounts_mu_);
  ctx.url = server_url_;
  ctx.hide = global_mounts_;
  for (const auto& [a, dir] : agent_mounts_) {
    if (a == agent && ctx.agent_root.empty()) {
      ctx.agent_root = dir;
    } else {
      ctx.hide.push_back(dir);
    }
  }
  return ctx;
}

Result<std::shared_ptr<const FileService>> Runtime::AgentView(const std::string& agent) const {
  AGENT9_RETURN_IF_ERROR(ValidateAgentId(agent));
  AGENT9_ASSIGN_OR_RETURN(auto root, MakeAgentDir(ChildId(kRootNodeId, "agents"), agent, deps_));
  return std::shared_ptr<const FileService>(
      std::make_shared<FileService>(std::move(root), is_public_, on_error_, &changes_));
}

void Runtime::NoteAgentMount(const std::string& agent, const std::string& dir) {
  MutexLock l(&mounts_mu_);
  agent_mounts_.emplace_back(agent, std::filesystem::absolute(dir).lexically_normal().string());
}

}  // namespace agent9
