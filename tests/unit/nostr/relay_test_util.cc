#include "tests/unit/nostr/relay_test_util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace agent9::nostr::testing {
namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string RelayDir() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("AGENT9_RELAY_DIR")) candidates.emplace_back(env);
  candidates.emplace_back(AGENT9_DEFAULT_RELAY_DIR);
  for (const auto& dir : candidates) {
    if (std::filesystem::exists(dir + "/node_modules")) return dir;
  }
  return "";
}

std::unique_ptr<NodeProcess> NodeProcess::Start(
    const std::string& cwd, const std::string& script, const std::vector<std::string>& args,
    const std::vector<std::pair<std::string, std::string>>& env) {
  // Everything the child needs is built before fork(): other threads (a pool's I/O thread) may
  // hold the allocator's lock, so the child only calls async-signal-safe functions.
  std::vector<std::string> argv_s = {"node", script};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s = {"LOCAL_RELAY_MAX_SECONDS=120"};  // outlive no test for long
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return nullptr;
  pid_t pid = fork();
  if (pid < 0) return nullptr;
  if (pid == 0) {
    dup2(fds[1], 1);
    if (chdir(cwd.c_str()) != 0) _exit(127);
    execvpe("node", argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  auto p = std::unique_ptr<NodeProcess>(new NodeProcess());
  p->pid_ = pid;
  p->out_fd_ = fds[0];
  fcntl(p->out_fd_, F_SETFL, O_NONBLOCK);
  const std::string prefix = "listening ";
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    for (const auto& line : p->lines_) {
      if (line.rfind(prefix, 0) != 0) continue;
      p->url_ = line.substr(prefix.size());
      p->port_ = std::stoi(p->url_.substr(p->url_.rfind(':') + 1));
      return p;
    }
    if (!p->ReadSome(100)) break;
  }
  return nullptr;
}

NodeProcess::~NodeProcess() {
  Kill(SIGTERM);
  if (out_fd_ >= 0) close(out_fd_);
}

bool NodeProcess::ReadSome(int wait_ms) {
  pollfd pfd{out_fd_, POLLIN, 0};
  if (poll(&pfd, 1, wait_ms) <= 0) return true;  // nothing yet
  char chunk[4096];
  ssize_t n = read(out_fd_, chunk, sizeof chunk);
  if (n <= 0) return n < 0 && errno == EAGAIN;
  buf_.append(chunk, static_cast<size_t>(n));
  size_t nl;
  while ((nl = buf_.find('\n')) != std::string::npos) {
    lines_.push_back(buf_.substr(0, nl));
    buf_.erase(0, nl + 1);
  }
  return true;
}

int NodeProcess::CountLines(const std::string& line, int wait_ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  do {
    ReadSome(10);
  } while (std::chrono::steady_clock::now() < end);
  int n = 0;
  for (const auto& l : lines_) n += l == line ? 1 : 0;
  return n;
}

void NodeProcess::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::unique_ptr<NodeProcess> StartRelay(int port, bool auth) {
  std::vector<std::pair<std::string, std::string>> env;
  if (auth) env.emplace_back("LOCAL_RELAY_AUTH", "1");
  return NodeProcess::Start(RelayDir(), "local-relay.mjs", {std::to_string(port)}, env);
}

std::unique_ptr<NodeProcess> StartFake(const std::string& mode,
                                       const std::vector<std::string>& args) {
  std::vector<std::string> all = {RelayDir(), mode};
  all.insert(all.end(), args.begin(), args.end());
  return NodeProcess::Start(RelayDir(), AGENT9_NOSTR_TEST_DIR "/fake-relay.mjs", all);
}

bool MakeSelfSignedCert(const std::string& dir) {
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
      ShellQuote(dir + "/key.pem") + " -out " + ShellQuote(dir + "/cert.pem") + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::vector<Json> Sign(const std::vector<Json>& templates) {
  char path[] = "/tmp/agent9-sign-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return {};
  close(fd);
  {
    std::ofstream f(path);
    for (const auto& t : templates) f << DumpJson(t) << "\n";
  }
  std::string cmd = "node " + ShellQuote(AGENT9_NOSTR_TEST_DIR "/sign.mjs") + " " +
                    ShellQuote(RelayDir()) + " < " + ShellQuote(path);
  std::vector<Json> out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::string text;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) text.append(chunk, n);
    pclose(p);
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      if (nl == std::string::npos) nl = text.size();
      if (nl > start) {
        Result<Json> j = ParseJson(text.substr(start, nl - start));
        if (j.ok()) out.push_back(*j);
      }
      start = nl + 1;
    }
  }
  unlink(path);
  if (out.size() != templates.size()) return {};
  return out;
}

Json SignOne(const Json& tmpl) {
  std::vector<Json> v = Sign({tmpl});
  return v.empty() ? Json() : v[0];
}

Json AuthEvent(const std::string& url, const std::string& challenge) {
  return SignOne(Json{
      {"kind", 22242},
      {"content", ""},
      {"tags", Json::array({Json::array({"relay", url}), Json::array({"challenge", challenge})})}});
}

}  // namespace agent9::nostr::testing
