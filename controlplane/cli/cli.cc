#include "controlplane/cli/cli.h"

#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "controlplane/cli/cli_internal.h"
#include "fs/base/numbers.h"
#include "fs/base/path.h"

#ifndef AGENT9_VERSION
#define AGENT9_VERSION "dev"
#endif

namespace agent9 {
namespace {

using cli::ClientArgs;
using cli::ClientEnv;

std::string Env(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): main thread only
  return v ? std::string(v) : std::string();
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// --token, then $AGENT9_TOKEN, then <data dir>/admin.token.
void ResolveToken(const std::string& flag, const std::string& data_dir, ClientEnv* env) {
  if (!flag.empty()) {
    env->token = flag;
    env->token_from = "--token";
    return;
  }
  if (std::string t = Env("AGENT9_TOKEN"); !t.empty()) {
    env->token = Trim(t);
    env->token_from = "$AGENT9_TOKEN";
    return;
  }
  std::ifstream f(data_dir + "/admin.token");
  if (!f) return;
  std::stringstream ss;
  ss << f.rdbuf();
  env->token = Trim(ss.str());
  if (!env->token.empty()) env->token_from = data_dir + "/admin.token";
}

int UsageError(std::ostream& err, const std::string& msg) {
  err << "agent9: " << msg << "\n";
  return cli::kExitUsage;
}

int RunServe(const std::function<int(const ServeOptions&)>& serve, ServeOptions opts,
             const std::vector<std::string>& agent_mounts, std::ostream& err) {
  auto listen = ParseListen(opts.listen);
  if (!listen.ok()) return UsageError(err, "--listen: " + listen.status().message());
  for (const auto& m : agent_mounts) {
    size_t eq = m.find('=');
    if (eq == std::string::npos || eq + 1 == m.size()) {
      return UsageError(err, "--mount-agent wants ID=DIR, got '" + m + "'");
    }
    std::string id = m.substr(0, eq);
    Status st = ValidateAgentId(id);
    if (!st.ok()) return UsageError(err, "--mount-agent: " + st.message());
    opts.agent_mounts.emplace_back(id, m.substr(eq + 1));
  }
  return serve(opts);
}

}  // namespace

std::string DefaultDataDir() {
  if (std::string d = Env("AGENT9_DATA"); !d.empty()) return d;
  std::string home = Env("HOME");
  if (home.empty()) {
    if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) home = pw->pw_dir;
  }
  return home + "/.local/share/agent9";
}

Result<std::pair<std::string, int>> ParseListen(std::string_view listen) {
  auto bad = [&] {
    return Status::InvalidArgument("want HOST:PORT (e.g. 127.0.0.1:7909), got '" +
                                   std::string(listen) + "'");
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = listen.substr(0, colon);
  std::string_view port_s = listen.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // IPv6 addresses need brackets
  }
  auto port = ParseDecimal(port_s, 0, 65535);
  if (!port) return bad();
  return std::make_pair(std::string(host), static_cast<int>(*port));
}

int RunCli(int argc, char** argv, const std::function<int(const ServeOptions&)>& serve) {
  return RunCli(argc, argv, serve, std::cin, std::cout, std::cerr);
}

int RunCli(int argc, char** argv, const std::function<int(const ServeOptions&)>& serve,
           std::istream& in, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "agent9: a Plan 9-style agent runtime. `agent9 serve` runs the daemon; every "
      "other command talks to it over HTTP.",
      "agent9"};
  app.set_version_flag("--version", "agent9 " AGENT9_VERSION);
  app.fallthrough();
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "agent9: " + std::string(e.what()) + "\nRun 'agent9 --help' for usage.\n";
  });
  std::string server, token_flag, data_flag;
  bool json = false;
  app.add_option("--server", server,
                 "daemon URL (default $AGENT9_SERVER, else http://127.0.0.1:7909)");
  app.add_option("--token", token_flag,
                 "bearer token (default $AGENT9_TOKEN, else <data dir>/admin.token)");
  app.add_option("--data", data_flag,
                 "data directory (default $AGENT9_DATA, else ~/.local/share/agent9)");
  app.add_flag("--json", json, "print the daemon's JSON instead of human-readable output");

  ServeOptions so;
  std::vector<std::string> agent_mounts;
  auto* serve_cmd = app.add_subcommand("serve", "run the daemon");
  serve_cmd->add_option("--listen", so.listen, "HOST:PORT to serve HTTP on (port 0 = any)")
      ->capture_default_str();
  serve_cmd->add_option("--mount", so.mounts, "FUSE-mount the global admin view at DIR");
  serve_cmd->add_option("--mount-agent", agent_mounts,
                        "FUSE-mount agent ID's own view at DIR (ID=DIR, repeatable)");
  serve_cmd->add_flag("--allow-other", so.allow_other, "let other users use the FUSE mounts");
  serve_cmd->add_option("--config", so.config_file, "runtime configuration (TOML)");
  serve_cmd->add_option("--sync", so.sync, "SQLite synchronous mode")
      ->check(CLI::IsMember({"full", "normal", "off"}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--tick-workers", so.tick_workers,
                   "tick engine threads: agents ticking at once (their commits are grouped)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  serve_cmd->add_flag("-v,--verbose", so.verbose, "log more");

  ClientArgs a;
  auto* create = app.add_subcommand("create", "create an agent; prints its id and token");
  create->add_option("id", a.id, "agent id")->required();
  create->add_option("--kind", a.kind, "agent kind (exec, echo, ...; default none)");
  create->add_option("--config", a.config_file, "JSON config file, or - for stdin");
  auto* ls = app.add_subcommand("ls", "list agents");
  ls->add_option("--limit", a.limit, "agents per page")->check(CLI::Range(1, 1000));
  ls->add_flag("--all", a.all, "fetch every page");
  auto* rm = app.add_subcommand("rm", "delete an agent");
  rm->add_option("id", a.id, "agent id")->required();
  auto* status = app.add_subcommand("status", "runtime status, or one agent's status");
  status->add_option("id", a.id, "agent id (omit for the runtime)");
  auto* send = app.add_subcommand("send", "queue a message in an agent's inbox");
  send->add_option("id", a.id, "agent id")->required();
  send->add_option("message", a.words, "message text; - or nothing reads stdin");
  send->add_option("--id", a.msg_id, "message id: sending the same id twice queues it once");
  auto* cat = app.add_subcommand("cat", "print a file, or list a directory");
  cat->add_option("path", a.path, "path such as agents/alice/status")->required();
  cat->add_flag("-f,--follow", a.follow, "stream files: follow new data until the stream ends");
  auto* logs = app.add_subcommand("logs", "print an agent's trace log (agents/ID/logs/trace)");
  logs->add_option("id", a.id, "agent id")->required();
  logs->add_flag("-f,--follow", a.follow, "follow new events");
  auto* watch = app.add_subcommand(
      "watch", "follow a stream file, or print a file or directory each time it changes");
  watch->add_option("path", a.path, "path such as agents/alice/status")->required();
  watch->add_option("--interval", a.interval_ms, "milliseconds between reads of a non-stream file")
      ->check(CLI::Range(int64_t{50}, int64_t{3'600'000}))
      ->capture_default_str();
  watch->add_option("-n,--count", a.count, "stop after printing this many versions (0: never)")
      ->check(CLI::Range(int64_t{0}, INT64_MAX));
  auto* write = app.add_subcommand("write", "replace a file's content");
  write->add_option("path", a.path, "file path")->required();
  write->add_option("data", a.words, "content; - or nothing reads stdin");
  auto* call = app.add_subcommand("call", "call a call file and print the response");
  call->add_option("path", a.path, "call file path")->required();
  call->add_option("data", a.words, "request; - or nothing reads stdin");
  auto* token = app.add_subcommand("token", "mint an agent-scoped token and print it");
  token->add_option("id", a.id, "agent id")->required();
  auto* tick = app.add_subcommand("tick", "run one tick of an agent now");
  tick->add_option("id", a.id, "agent id")->required();
  tick->add_option("reason", a.words, "reason recorded with the tick");
  auto* hibernate = app.add_subcommand("hibernate", "pause an agent");
  hibernate->add_option("id", a.id, "agent id")->required();
  auto* wake = app.add_subcommand("wake", "resume a hibernated agent");
  wake->add_option("id", a.id, "agent id")->required();
  auto* replay = app.add_subcommand(
      "replay",
      "re-run a recorded tick offline and print how its effects differ (exit 0: identical, "
      "1: different, 2: error)");
  replay->add_option("id", a.id, "agent id")->required();
  replay->add_option("tick", a.tick, "tick number")->required()->check(CLI::PositiveNumber);
  replay->add_option("--program", a.program,
                     "run this program (an absolute path) instead of the recorded one");
  auto* exp = app.add_subcommand("export", "write an agent's tar bundle to stdout or a file");
  exp->add_option("id", a.id, "agent id")->required();
  exp->add_option("-o,--output", a.output, "write the bundle to FILE instead of stdout");
  exp->add_flag("--with-key", a.with_key,
                "include the agent's secret key, encrypted under a passphrase (NIP-49)");
  exp->add_option("--passphrase-file", a.passphrase_file,
                  "read the passphrase from FILE's first line instead of the terminal");
  auto* imp = app.add_subcommand("import", "create an agent from a bundle; prints its id");
  imp->add_option("file", a.path, "bundle file, or - for stdin")->required();
  imp->add_option("--mode", a.mode, "restore (same id) or clone (a new id)")
      ->check(CLI::IsMember({"restore", "clone"}))
      ->capture_default_str();
  imp->add_option("--id", a.new_id, "the clone's id (default: <id>-<6 hex>)");
  imp->add_flag("--with-key", a.with_key,
                "the bundle holds an encrypted key: ask for its passphrase on the terminal");
  imp->add_option("--passphrase-file", a.passphrase_file,
                  "read the key's passphrase from FILE's first line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? cli::kExitOk : cli::kExitUsage;
  }

  std::string data_dir = data_flag.empty() ? DefaultDataDir() : data_flag;
  try {
    if (*serve_cmd) {
      so.data_dir = data_dir;
      return RunServe(serve, so, agent_mounts, err);
    }
    ClientEnv env;
    env.server = !server.empty() ? server : Env("AGENT9_SERVER");
    if (env.server.empty()) env.server = "http://127.0.0.1:7909";
    ResolveToken(token_flag, data_dir, &env);
    env.json = json;
    env.in = &in;
    env.out = &out;
    env.err = &err;
    if (*create) return cli::CmdCreate(env, a);
    if (*ls) return cli::CmdList(env, a);
    if (*rm) return cli::CmdRemove(env, a);
    if (*status) return cli::CmdStatus(env, a);
    if (*send) return cli::CmdSend(env, a);
    if (*cat) return cli::CmdCat(env, a);
    if (*logs) {
      a.path = "agents/" + a.id + "/logs/trace";
      Status st = ValidateAgentId(a.id);
      if (!st.ok()) return UsageError(err, st.message());
      return cli::CmdCat(env, a);
    }
    if (*watch) return cli::CmdWatch(env, a);
    if (*write) return cli::CmdWrite(env, a);
    if (*call) return cli::CmdCall(env, a);
    if (*token) return cli::CmdToken(env, a);
    if (*tick) return cli::CmdLifecycle(env, a, "tick");
    if (*hibernate) return cli::CmdLifecycle(env, a, "hibernate");
    if (*wake) return cli::CmdLifecycle(env, a, "wake");
    if (*replay) return cli::CmdReplay(env, a);
    if (*exp) return cli::CmdExport(env, a);
    if (*imp) return cli::CmdImport(env, a);
  } catch (const std::exception& e) {
    err << "agent9: internal error: " << e.what() << "\n";
    return cli::kExitFailed;
  }
  return UsageError(err, "no command given");
}

}  // namespace agent9
