#include "tick/exec_agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "fs/base/clock.h"
#include "fs/base/path.h"

namespace agent9 {
namespace {

int64_t NowMonoMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// bwrap flags that rebuild the host's root read-only entry by entry (symlinks as symlinks),
// leaving out what the sandbox mounts itself. Read once: the host's top level does not move.
const std::vector<std::vector<std::string>>& HostRootEntries() {
  static const std::vector<std::vector<std::string>> entries = [] {
    std::vector<std::vector<std::string>> out;
    std::error_code ec;
    std::vector<std::filesystem::path> names;
    for (const auto& e : std::filesystem::directory_iterator("/", ec)) names.push_back(e.path());
    std::sort(names.begin(), names.end());
    for (const auto& p : names) {
      std::string name = p.filename().string();
      if (name == "dev" || name == "proc" || name == "tmp" || name == "agent") continue;
      if (std::filesystem::is_symlink(p, ec)) {
        out.push_back({"--symlink", std::filesystem::read_symlink(p, ec).string(), p.string()});
      } else {
        out.push_back({"--ro-bind", p.string(), p.string()});
      }
    }
    return out;
  }();
  return entries;
}

}  // namespace

std::vector<std::string> ExecAgent::BuildArgv(const ExecOptions& opts, const AgentConfig& c,
                                              const ExecContext& ctx) {
  const std::string& agent_root = ctx.agent_root;
  std::vector<std::string> argv;
  if (c.sandbox) {
    argv = {opts.bwrap};
    if (agent_root.empty()) {
      argv.insert(argv.end(), {"--ro-bind", "/", "/"});
    } else {
      for (const auto& e : HostRootEntries()) argv.insert(argv.end(), e.begin(), e.end());
    }
    argv.insert(argv.end(),
                {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--ro-bind", c.program,
                 c.program, "--chdir", "/tmp", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                 "--die-with-parent", "--new-session"});
    for (const auto& h : ctx.hide) {
      if (!h.starts_with("/tmp/") && h != "/tmp") argv.insert(argv.end(), {"--tmpfs", h});
    }
    if (!agent_root.empty()) argv.insert(argv.end(), {"--bind", agent_root, "/agent"});
    if (!c.network) argv.push_back("--unshare-net");
    argv.push_back("--");
  }
  argv.push_back(c.program);
  for (const auto& a : c.args) argv.push_back(a);
  return argv;
}

namespace {

struct RunResult {
  std::string out;
  std::string err;
  int status = 0;
  bool timed_out = false;
  bool too_big = false;
};

Status PosixError(std::string_view what) {
  return Status::Internal(std::string(what), std::strerror(errno));
}

// Runs argv with env, feeding input; collects stdout and stderr until exit or deadline.
Result<RunResult> RunProcess(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env, const std::string& input,
                             int64_t timeout_ms, size_t max_out) {
  int in_p[2], out_p[2], err_p[2];
  if (pipe2(in_p, O_CLOEXEC) != 0) return PosixError("pipe");
  if (pipe2(out_p, O_CLOEXEC) != 0) {
    close(in_p[0]);
    close(in_p[1]);
    return PosixError("pipe");
  }
  if (pipe2(err_p, O_CLOEXEC) != 0) {
    for (int fd : {in_p[0], in_p[1], out_p[0], out_p[1]}) close(fd);
    return PosixError("pipe");
  }
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {in_p[0], in_p[1], out_p[0], out_p[1], err_p[0], err_p[1]}) close(fd);
    return PosixError("fork");
  }
  if (pid == 0) {
    setpgid(0, 0);
    dup2(in_p[0], 0);
    dup2(out_p[1], 1);
    dup2(err_p[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);  // the daemon ignores it; the program gets the usual default
    // Nothing of the daemon's (database, sockets, /dev/fuse) leaks into the program.
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  close(in_p[0]);
  close(out_p[1]);
  close(err_p[1]);
  fcntl(in_p[1], F_SETFL, O_NONBLOCK);
  RunResult r;
  size_t written = 0;
  int in_fd = in_p[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  const int64_t deadline = NowMonoMs() + timeout_ms;
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    int64_t left = deadline - NowMonoMs();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_open) {
      fds[n] = {out_p[0], POLLIN, 0};
      out_i = n++;
    }
    if (err_open) {
      fds[n] = {err_p[0], POLLIN, 0};
      err_i = n++;
    }
    if (in_fd >= 0) {
      fds[n] = {in_fd, POLLOUT, 0};
      in_i = n++;
    }
    int rc = poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<int64_t>(left, 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (in_i >= 0 && fds[in_i].revents) {
      ssize_t w = write(in_fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN) written = input.size();  // reader gone
      if (written >= input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    auto drain = [&](int idx, int fd, std::string* to, bool* open) {
      if (idx < 0 || !fds[idx].revents) return;
      ssize_t got = read(fd, buf, sizeof buf);
      if (got <= 0) {
        *open = false;
        return;
      }
      to->append(buf, static_cast<size_t>(got));
    };
    drain(out_i, out_p[0], &r.out, &out_open);
    drain(err_i, err_p[0], &r.err, &err_open);
    if (r.out.size() > max_out || r.err.size() > max_out) {
      r.too_big = true;
      break;
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out_p[0]);
  close(err_p[0]);
  if (r.timed_out || r.too_big) kill(-pid, SIGKILL), kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = status;
  return r;
}

}  // namespace

Result<TickOutput> ExecAgent::ParseOutput(std::string_view text) {
  if (JsonDepth(text) > kMaxInputJsonDepth) {
    return Status::InvalidArgument("program output is nested deeper than " +
                                   std::to_string(kMaxInputJsonDepth) + " levels");
  }
  auto parsed = ParseJson(text, "program output", kMaxInputJsonDepth);
  if (!parsed.ok() || !parsed->is_object()) {
    return Status::InvalidArgument("program output is not one JSON object");
  }
  Json j = std::move(parsed).value();
  // Ten years, as for the ctl file's alarm; the engine adds these to the clock.
  constexpr int64_t kMaxAlarmMs = 315'360'000'000;
  TickOutput out;
  for (const auto& [k, v] : j.items()) {
    if (k == "state") {
      out.state = v;
    } else if (k == "emit") {
      if (!v.is_array()) return Status::InvalidArgument("output: emit must be an array");
      for (const auto& e : v) out.emit.push_back(e);
    } else if (k == "send") {
      if (!v.is_array()) return Status::InvalidArgument("output: send must be an array");
      for (const auto& s : v) {
        if (!s.is_object() || !s.contains("to") || !s["to"].is_string() || !s.contains("body")) {
          return Status::InvalidArgument("output: each send needs \"to\" and \"body\"");
        }
        out.send.push_back(SendSpec{s["to"].get<std::string>(), s["body"]});
      }
    } else if (k == "reply") {
      out.reply = v;
    } else if (k == "hibernate") {
      if (!v.is_boolean()) return Status::InvalidArgument("output: hibernate must be a boolean");
      out.hibernate = v.get<bool>();
    } else if (k == "log") {
      if (!v.is_array()) return Status::InvalidArgument("output: log must be an array");
      for (const auto& l : v) out.log.push_back(l.is_string() ? l.get<std::string>() : l.dump());
    } else if (k == "alarms") {
      if (!v.is_array()) return Status::InvalidArgument("output: alarms must be an array");
      for (const auto& a : v) {
        if (!a.is_object() || !a.contains("in_ms") || !a["in_ms"].is_number_integer() ||
            a["in_ms"].get<int64_t>() < 0 || a["in_ms"].get<int64_t>() > kMaxAlarmMs) {
          return Status::InvalidArgument("output: each alarm needs an in_ms from 0 to " +
                                         std::to_string(kMaxAlarmMs));
        }
        AlarmSpec spec{a["in_ms"].get<int64_t>(), std::nullopt,
                       a.contains("payload") ? a["payload"] : Json(nullptr)};
        if (a.contains("every_ms")) {
          if (!a["every_ms"].is_number_integer() || a["every_ms"].get<int64_t>() < 10 ||
              a["every_ms"].get<int64_t>() > kMaxAlarmMs) {
            return Status::InvalidArgument("output: every_ms must be an integer from 10 to " +
                                           std::to_string(kMaxAlarmMs));
          }
          spec.every_ms = a["every_ms"].get<int64_t>();
        }
        out.alarms.push_back(std::move(spec));
      }
    } else {
      out.actions[k] = v;  // a module's action ({"compute":[...]}); the engine checks the key
    }
  }
  return out;
}

ExecAgent::ExecAgent(ExecOptions opts, StreamHub* trace) : opts_(std::move(opts)), trace_(trace) {
  // A program that exits without reading its input must not kill the daemon with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
}

Result<TickOutput> ExecAgent::Tick(const TickInput& in) {
  const AgentConfig& c = in.config;
  if (c.program.empty() || c.program[0] != '/') {
    return Status::InvalidArgument("config.program must be an absolute path");
  }
  if (access(c.program.c_str(), X_OK) != 0) {
    return Status::InvalidArgument("config.program is not executable", c.program);
  }
  if (c.sandbox && access(opts_.bwrap.c_str(), X_OK) != 0) {
    return Status::Unavailable(
        "bubblewrap (bwrap) is not installed; set config.sandbox false "
        "to run unsandboxed");
  }
  Json agent{{"id", in.agent_id}, {"pubkey", nullptr}, {"npub", nullptr}};
  if (in.agent.is_object()) agent.update(in.agent);
  Json input{{"agent", std::move(agent)},
             {"tick", in.tick},
             {"now", in.now_ms},
             {"trigger", in.trigger},
             {"state", in.state}};
  // A replay runs offline: no daemon address, no token, no agent mount.
  ExecContext ctx = opts_.context && !in.replay ? opts_.context(in.agent_id) : ExecContext{};
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8",
                                  "AGENT9_AGENT_ID=" + in.agent_id};
  if (!ctx.url.empty()) env.push_back("AGENT9_URL=" + ctx.url);
  if (!ctx.token.empty()) env.push_back("AGENT9_TOKEN=" + ctx.token);
  if (!ctx.agent_root.empty()) {
    env.push_back("AGENT9_ROOT=" + (c.sandbox ? std::string("/agent") : ctx.agent_root));
  }
  for (const auto& [k, v] : c.env) env.push_back(k + "=" + v);  // config rejects AGENT9_*
  AGENT9_ASSIGN_OR_RETURN(
      RunResult r, RunProcess(BuildArgv(opts_, c, ctx), env, DumpJson(input) + "\n", c.timeout_ms,
                              opts_.max_output_bytes));
  if (trace_ && !r.err.empty()) {
    size_t start = 0;
    while (start < r.err.size()) {
      size_t nl = r.err.find('\n', start);
      std::string line = r.err.substr(start, nl == std::string::npos ? nl : nl - start);
      trace_->Record(
          in.agent_id,
          Json{{"ts", Rfc3339(in.now_ms)}, {"type", "stderr"}, {"tick", in.tick}, {"line", line}});
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  if (r.timed_out) {
    return Status(Code::kDeadlineExceeded,
                  "program timed out after " + std::to_string(c.timeout_ms) + " ms");
  }
  if (r.too_big) {
    return Status::TooLarge("program output over " + std::to_string(opts_.max_output_bytes) +
                            " bytes");
  }
  if (WIFSIGNALED(r.status)) {
    return Status::Internal("program killed by signal " + std::to_string(WTERMSIG(r.status)));
  }
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    int code = WEXITSTATUS(r.status);
    std::string msg = "program exited with status " + std::to_string(code);
    // bwrap reports a program killed by signal N as exit status 128+N.
    if (c.sandbox && code > 128) msg += " (killed by signal " + std::to_string(code - 128) + ")";
    return Status::Internal(msg);
  }
  AGENT9_ASSIGN_OR_RETURN(TickOutput out, ParseOutput(r.out));
  if (trace_) {
    for (const auto& l : out.log) {
      trace_->Record(
          in.agent_id,
          Json{{"ts", Rfc3339(in.now_ms)}, {"type", "log"}, {"tick", in.tick}, {"line", l}});
    }
  }
  return out;
}

}  // namespace agent9
