#include "compute/exec_provider.h"

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
#include <string>
#include <string_view>
#include <vector>

namespace agent9::compute {

namespace {

constexpr size_t kMaxStderrBytes = 4096;
constexpr int kTickMs = 20;  // how often cancel is looked at while the program is quiet

int64_t NowMonoMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Attempt Failed(Status s) {
  Attempt a;
  a.status = std::move(s);
  return a;
}

std::string FirstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.substr(0, 200);
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  return s;
}

// Splits stdout into delta lines (delivered or skipped) and the rest (the final object).
struct OutputSplitter {
  bool stream = false;
  const DeltaSink* on_delta = nullptr;
  std::string partial;  // an incomplete line
  std::string rest;
  std::string deltas;  // the deltas' text, joined
  bool streamed = false;

  void Add(std::string_view bytes) {
    while (!bytes.empty()) {
      size_t nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        partial.append(bytes);
        return;
      }
      partial.append(bytes.substr(0, nl));
      bytes.remove_prefix(nl + 1);
      Line(partial);
      partial.clear();
    }
  }

  void Finish() {
    Line(partial);
    partial.clear();
  }

  void Line(const std::string& line) {
    std::string_view t = TrimLeft(line);
    if (t.substr(0, 8) == "{\"delta\"") {
      auto j = ParseJson(t, "delta line");
      if (j.ok() && j->is_object() && j->size() == 1 && (*j)["delta"].is_string()) {
        Delta d;
        d.text = (*j)["delta"].get<std::string>();
        deltas += d.text;
        if (stream && !d.text.empty()) {
          streamed = true;
          if (*on_delta) (*on_delta)(d);
        }
        return;
      }
    }
    rest.append(line);
    rest.push_back('\n');
  }
};

int64_t IntOr0(const Json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

Status ExecProvider::Health() {
  if (cfg_.command.empty() || cfg_.command[0].empty()) {
    return Status::Unavailable("not configured");
  }
  const std::string& path = cfg_.command[0];
  if (path.front() != '/' || access(path.c_str(), X_OK) != 0) {
    return Status::Unavailable("command not found", path);
  }
  return Status::OK();
}

Attempt ExecProvider::Run(const JobSpec& spec, const DeltaSink& on_delta,
                          const std::atomic<bool>& cancel) {
  Status health = Health();
  if (!health.ok()) return Failed(health);
  signal(SIGPIPE, SIG_IGN);
  const std::string input = DumpJson(Json{{"kind", spec.kind},
                                          {"model", spec.model},
                                          {"input", spec.input},
                                          {"max_output_tokens", spec.max_output_tokens},
                                          {"stream", spec.stream}});
  const int64_t timeout_ms = spec.timeout_ms > 0 ? spec.timeout_ms : cfg_.timeout_ms;

  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
  if (pipe2(in_p, O_CLOEXEC) != 0 || pipe2(out_p, O_CLOEXEC) != 0 || pipe2(err_p, O_CLOEXEC) != 0) {
    std::string why = std::strerror(errno);
    for (int fd : {in_p[0], in_p[1], out_p[0], out_p[1], err_p[0], err_p[1]}) {
      if (fd >= 0) close(fd);
    }
    return Failed(Status::Unavailable("pipe", why));
  }
  std::vector<char*> argv;
  for (const auto& a : cfg_.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::string why = std::strerror(errno);
    for (int fd : {in_p[0], in_p[1], out_p[0], out_p[1], err_p[0], err_p[1]}) close(fd);
    return Failed(Status::Unavailable("fork", why));
  }
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    setpgid(0, 0);
    dup2(in_p[0], 0);
    dup2(out_p[1], 1);
    dup2(err_p[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execv(argv[0], argv.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so a kill right away reaches the group
  close(in_p[0]);
  close(out_p[1]);
  close(err_p[1]);
  fcntl(in_p[1], F_SETFL, O_NONBLOCK);

  OutputSplitter out;
  out.stream = spec.stream;
  out.on_delta = &on_delta;
  std::string err;
  size_t out_bytes = 0;
  size_t written = 0;
  int in_fd = in_p[1];
  bool out_open = true, err_open = true;
  bool timed_out = false, cancelled = false, too_big = false;
  const int64_t deadline = NowMonoMs() + timeout_ms;
  char buf[65536];
  while (out_open || err_open) {
    if (cancel.load()) {
      cancelled = true;
      break;
    }
    int64_t left = deadline - NowMonoMs();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3];
    int n = 0, out_i = -1, err_i = -1, in_i = -1;
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
    int rc = poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<int64_t>(left, kTickMs)));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (in_i >= 0 && fds[in_i].revents != 0) {
      ssize_t w = write(in_fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // reader gone
      if (written >= input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    if (out_i >= 0 && fds[out_i].revents != 0) {
      ssize_t got = read(out_p[0], buf, sizeof buf);
      if (got <= 0) {
        if (got == 0 || (errno != EINTR && errno != EAGAIN)) out_open = false;
      } else {
        out_bytes += static_cast<size_t>(got);
        if (out_bytes > kMaxOutputBytes) {
          too_big = true;
          break;
        }
        out.Add(std::string_view(buf, static_cast<size_t>(got)));
      }
    }
    if (err_i >= 0 && fds[err_i].revents != 0) {
      ssize_t got = read(err_p[0], buf, sizeof buf);
      if (got <= 0) {
        if (got == 0 || (errno != EINTR && errno != EAGAIN)) err_open = false;
      } else if (err.size() < kMaxStderrBytes) {
        err.append(buf, std::min(static_cast<size_t>(got), kMaxStderrBytes - err.size()));
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  close(out_p[0]);
  close(err_p[0]);
  // The pipes are closed: wait for the exit, still under the deadline and cancel.
  int wstatus = 0;
  bool exited = false;
  while (!timed_out && !cancelled && !too_big) {
    pid_t w = waitpid(pid, &wstatus, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) {
      exited = w == pid;
      break;
    }
    if (cancel.load()) {
      cancelled = true;
    } else if (NowMonoMs() >= deadline) {
      timed_out = true;
    } else {
      usleep(2000);
    }
  }
  if (!exited) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
  }

  Attempt a;
  a.streamed = out.streamed;
  if (cancelled) {
    a.status = Status::Aborted("cancelled");
    return a;
  }
  if (timed_out) {
    a.status =
        Status(Code::kDeadlineExceeded, "timed out after " + std::to_string(timeout_ms) + " ms");
    return a;
  }
  if (too_big) {
    a.status = Status::TooLarge("program output over 16 MiB");
    return a;
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::string how = WIFEXITED(wstatus) ? "exit status " + std::to_string(WEXITSTATUS(wstatus))
                                         : "killed by signal " + std::to_string(WTERMSIG(wstatus));
    a.status = Status::Unavailable(how, FirstLine(err));
    return a;
  }
  out.Finish();
  auto j = ParseJsonObject(out.rest, "program output");
  if (!j.ok()) {
    a.status = Status::Unavailable("malformed output", j.status().message());
    return a;
  }
  const Json& doc = *j;
  if (doc.contains("error")) {
    const Json& e = doc["error"];
    a.status = Status::Unavailable(e.is_string() ? e.get<std::string>() : DumpJson(e));
    return a;
  }
  if (doc.contains("text") && doc["text"].is_string()) {
    a.output.text = doc["text"].get<std::string>();
  } else {
    a.output.text = out.deltas;
  }
  a.output.finish_reason = doc.contains("finish_reason") && doc["finish_reason"].is_string()
                               ? doc["finish_reason"].get<std::string>()
                               : "stop";
  if (doc.contains("tool_calls") && doc["tool_calls"].is_array()) {
    a.output.tool_calls = doc["tool_calls"];
  }
  if (doc.contains("vectors") && doc["vectors"].is_array()) a.output.vectors = doc["vectors"];
  if (doc.contains("usage")) {
    a.output.input_tokens = IntOr0(doc["usage"], "input_tokens");
    a.output.output_tokens = IntOr0(doc["usage"], "output_tokens");
  }
  a.output.raw = doc;
  return a;
}

std::unique_ptr<Provider> MakeExecProvider(const ProviderConfig& cfg) {
  return std::make_unique<ExecProvider>(cfg);
}

}  // namespace agent9::compute
