#include "controlplane/daemon.h"

#include <signal.h>
#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <vector>

#include "controlplane/http/http_server.h"
#include "controlplane/runtime.h"
#include "fs/base/log.h"
#include "fs/fuse/fuse_mount.h"

namespace agent9 {
namespace {

Result<SyncMode> ParseSync(const std::string& s) {
  if (s == "full") return SyncMode::kFull;
  if (s == "normal") return SyncMode::kNormal;
  if (s == "off") return SyncMode::kOff;
  return Status::InvalidArgument("--sync must be full, normal or off", s);
}

int Fail(const Status& st) {
  std::cerr << "agent9: " << st.message() << "\n";
  return 1;
}

}  // namespace

int RunDaemon(const ServeOptions& opts) {
  if (opts.verbose) SetLogLevel(LogLevel::kDebug);
  if (sodium_init() < 0) return Fail(Status::Internal("libsodium failed to initialise"));
  auto listen = ParseListen(opts.listen);
  if (!listen.ok()) return Fail(listen.status());
  auto sync = ParseSync(opts.sync);
  if (!sync.ok()) return Fail(sync.status());

  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RuntimeOptions ro;
  ro.data_dir = opts.data_dir;
  ro.sync = *sync;
  ro.tick_workers = opts.tick_workers;
  ro.start_engine = false;  // after the transports, so programs see AGENT9_URL and mounts
  ro.config_file = opts.config_file;
  auto rt = Runtime::Open(ro);
  if (!rt.ok()) return Fail(rt.status());

  HttpOptions http_opts;
  http_opts.host = listen->first;
  http_opts.port = listen->second;
  auto http = std::make_unique<HttpServer>((*rt)->fs(), (*rt)->api(), (*rt)->auth(), http_opts);
  auto port = http->Start();
  if (!port.ok()) return Fail(port.status());

  std::vector<std::unique_ptr<FuseMount>> mounts;
  for (const auto& dir : opts.mounts) {
    auto m = FuseMount::Start((*rt)->fs(), Caller::Admin(), FuseOptions{dir, opts.allow_other});
    if (!m.ok())
      return Fail(Status(m.status().code(), "mount " + dir + ": " + m.status().message()));
    mounts.push_back(std::move(m).value());
    (*rt)->NoteGlobalMount(dir);
    LogInfo("mounted the global view at " + dir);
  }
  for (const auto& [agent, dir] : opts.agent_mounts) {
    auto view = (*rt)->AgentView(agent);
    if (!view.ok()) {
      return Fail(
          Status(view.status().code(), "--mount-agent " + agent + ": " + view.status().message()));
    }
    auto m = FuseMount::Start(*view, Caller::Agent(agent), FuseOptions{dir, opts.allow_other});
    if (!m.ok())
      return Fail(Status(m.status().code(), "mount " + dir + ": " + m.status().message()));
    (*rt)->NoteAgentMount(agent, dir);
    mounts.push_back(std::move(m).value());
    LogInfo("mounted agent " + agent + " at " + dir);
  }

  // Programs reach the daemon on loopback when it listens on every address.
  std::string host = listen->first;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  (*rt)->SetServerUrl("http://" + host + ":" + std::to_string(*port));
  Status started = (*rt)->StartEngine();
  if (!started.ok()) return Fail(started);
  std::printf("listening http://%s:%d\n", listen->first.c_str(), *port);
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    if (sigwait(&stop_signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      // The modules read their settings at start; a reload checks the file so an operator
      // learns of a mistake now rather than at the next restart (docs/CONFIG.md).
      const std::string& path = (*rt)->config().path();
      if (path.empty()) {
        LogInfo("SIGHUP: no runtime config file to check");
      } else if (Status st = Runtime::CheckConfigFile(path); !st.ok()) {
        LogError("SIGHUP: " + st.message());
      } else {
        LogInfo("SIGHUP: " + path + " is valid; its settings apply at the next start");
      }
      continue;
    }
    LogInfo(sig == SIGINT ? "SIGINT: shutting down" : "SIGTERM: shutting down");
    break;
  }
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) (*it)->Stop();
  mounts.clear();
  http->Stop();
  http.reset();
  rt->reset();
  LogInfo("stopped");
  return 0;
}

}  // namespace agent9
