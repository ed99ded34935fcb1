// agent9_containers_load: the client of bench/containers.sh. Bare bubblewrap spawns (the
// baseline) and container sessions through agent9's HTTP file API (cpp-httplib, keep-alive,
// one connection per thread).
//
//   bare      --argv-file F --n N [--uid U] [--first-byte] [--conc K]
//             Spawns the NUL-separated argv in F N times back to back (after --warmup runs),
//             each as the local provider does: fork, setsid, setgroups/setresgid/setresuid
//             to U+i (U = 0: stay root), PR_SET_PDEATHSIG, exec. Latency: fork -> exit
//             (waitpid), or with --first-byte fork -> the first byte on its stdout pipe (the
//             child is then waited for before the next spawn). --conc K: K threads at once.
//   ttfb      --url U --agent A --body REQ --n N   POST containers/new, then GET
//             containers/sessions/<sid>/output?watch=1 (SSE) on the same connection: time
//             from just before the POST to the first byte of the first `data:` line whose
//             stream is stdout; the stream is read to its end before the next sample.
//   sessions  --url U --agent A --body REQ --conc K --secs S   K threads, each looping: POST
//             containers/new, then read output?watch=1 to its end (the `end` line). Counts the
//             sessions that ended `exited` with exit code 0; latency = POST -> end line.
//             A 429 (queue full) is retried after 1 ms and counted.
// Every mode prints one line "RESULT key=value ..." on stdout. --token T adds
// "Authorization: Bearer T".
#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Opts {
  std::string mode, url, agent = "a", body, token, argv_file;
  int n = 200, warmup = 10, conc = 1;
  long uid = 0;
  bool first_byte = false;
  double secs = 5;
};

[[noreturn]] void Die(const std::string& m) {
  std::fprintf(stderr, "containers_load: %s\n", m.c_str());
  std::exit(1);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Stats {
  double p50 = 0, p99 = 0, mean = 0;
};
Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  s.p50 = at(0.5);
  s.p99 = at(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  return s;
}

// ---- bare bwrap ---------------------------------------------------------------------------

std::vector<std::string> ReadArgv(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) Die("cannot read " + file);
  std::vector<std::string> out;
  std::string a;
  while (std::getline(in, a, '\0')) out.push_back(a);
  if (out.empty()) Die("empty argv in " + file);
  return out;
}

// One spawn: returns fork -> exit (or -> first stdout byte) in ms; -1 on failure.
double SpawnOnce(const std::vector<char*>& argv, char* const* envp, long uid, bool first_byte) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  pid_t parent = getpid();
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return -1;
  }
  if (pid == 0) {
    if (dup2(out[1], 1) < 0) _exit(126);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 2);
    }
    setsid();
    if (uid > 0) {
      if (syscall(SYS_setgroups, 0, nullptr) != 0) _exit(125);
      if (syscall(SYS_setresgid, uid, uid, uid) != 0) _exit(125);
      if (syscall(SYS_setresuid, uid, uid, uid) != 0) _exit(125);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  close(out[1]);
  double ms = -1;
  char buf[4096];
  if (first_byte) {
    ssize_t n;
    do {
      n = read(out[0], buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n > 0) ms = Ms(Clock::now() - t0);
  }
  while (read(out[0], buf, sizeof buf) > 0) {
  }
  close(out[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!first_byte) ms = Ms(Clock::now() - t0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return ms;
}

int Bare(const Opts& o) {
  std::vector<std::string> args = ReadArgv(o.argv_file);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char* envp[] = {const_cast<char*>("PATH=/usr/local/bin:/usr/bin:/bin"), nullptr};
  for (int i = 0; i < o.warmup; ++i) {
    if (SpawnOnce(argv, envp, o.uid > 0 ? o.uid + i : 0, o.first_byte) < 0)
      Die("warm-up spawn failed");
  }
  std::mutex mu;
  std::vector<double> lat;
  std::atomic<int> next{0}, errors{0};
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int k = 0; k < o.conc; ++k) {
    ts.emplace_back([&] {
      for (int i; (i = next++) < o.n;) {
        double ms = SpawnOnce(argv, envp, o.uid > 0 ? o.uid + 1000 + i : 0, o.first_byte);
        if (ms < 0) {
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        lat.push_back(ms);
      }
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Stats s = Summarize(lat);
  std::printf("RESULT per_s=%.2f n=%zu errors=%d p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f\n",
              lat.size() / secs, lat.size(), errors.load(), s.p50, s.p99, s.mean);
  return 0;
}

// ---- through the daemon -------------------------------------------------------------------

std::unique_ptr<httplib::Client> NewClient(const Opts& o) {
  auto c = std::make_unique<httplib::Client>(o.url);
  c->set_keep_alive(true);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(10, 0);
  c->set_read_timeout(60, 0);
  c->set_write_timeout(60, 0);
  if (!o.token.empty()) c->set_bearer_token_auth(o.token);
  return c;
}

std::string Base(const Opts& o) { return "/v1/fs/agents/" + o.agent + "/containers/"; }

std::string SessionId(const std::string& body) {
  auto k = body.find("\"session_id\"");
  if (k == std::string::npos) return "";
  auto q1 = body.find('"', body.find(':', k) + 1);
  auto q2 = body.find('"', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) return "";
  return body.substr(q1 + 1, q2 - q1 - 1);
}

std::string Start(httplib::Client& c, const Opts& o, int* code) {
  auto r = c.Post(Base(o) + "new", o.body, "application/json");
  *code = r ? r->status : -1;
  if (!r || r->status != 200) return "";
  return SessionId(r->body);
}

// Reads sessions/<sid>/output?watch=1 to its end. *first: when the first byte of the first
// stdout `data:` line arrived. Returns the HTTP status (-1: transport error).
int Watch(httplib::Client& c, const Opts& o, const std::string& sid, Clock::time_point* first,
          std::string* body) {
  body->clear();
  bool seen = false;
  auto r = c.Get(Base(o) + "sessions/" + sid + "/output?watch=1", [&](const char* d, size_t n) {
    body->append(d, n);
    // The first stdout line (tolerant of the server's key order and spacing).
    auto at = body->find("data:");
    if (!seen && at != std::string::npos && body->find("\"stdout\"", at) != std::string::npos) {
      seen = true;
      if (first) *first = Clock::now();
    }
    return true;
  });
  if (!r) return -1;
  return r->status;
}

bool EndedOk(const std::string& s) {
  auto e = s.find("\"end\"");
  if (e == std::string::npos) return false;
  std::string tail = s.substr(e);
  return tail.find("\"exited\"") != std::string::npos &&
         tail.find("\"exit_code\":0") != std::string::npos;
}

int Ttfb(const Opts& o) {
  auto c = NewClient(o);
  std::vector<double> lat, post, end;
  std::string body;
  int errors = 0;
  for (int i = 0; i < o.warmup + o.n; ++i) {
    auto t0 = Clock::now();
    int code = 0;
    std::string sid = Start(*c, o, &code);
    if (sid.empty()) Die("POST new: HTTP " + std::to_string(code));
    auto t_post = Clock::now();
    Clock::time_point first{};
    int st = Watch(*c, o, sid, &first, &body);
    auto t_end = Clock::now();
    if (st != 200 || first == Clock::time_point{} || !EndedOk(body)) {
      ++errors;
      if (errors > 10) Die("watch " + sid + ": HTTP " + std::to_string(st) + ": " + body);
      continue;
    }
    if (i >= o.warmup) {
      lat.push_back(Ms(first - t0));
      post.push_back(Ms(t_post - t0));
      end.push_back(Ms(t_end - t0));
    }
  }
  Stats s = Summarize(lat), sp = Summarize(post), se = Summarize(end);
  // post: POST -> its answer; end: POST -> the stream's end (after the end line).
  std::printf(
      "RESULT n=%zu errors=%d p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f post_p50_ms=%.3f "
      "post_p99_ms=%.3f end_p50_ms=%.3f end_p99_ms=%.3f\n",
      lat.size(), errors, s.p50, s.p99, s.mean, sp.p50, sp.p99, se.p50, se.p99);
  return 0;
}

int Sessions(const Opts& o) {
  std::mutex mu;
  std::vector<double> lat;
  std::atomic<long> ok{0}, errors{0}, full{0};
  std::atomic<bool> stop{false};
  auto t0 = Clock::now();
  auto deadline = t0 + std::chrono::milliseconds(static_cast<long>(o.secs * 1000));
  std::vector<std::thread> ts;
  for (int k = 0; k < o.conc; ++k) {
    ts.emplace_back([&] {
      auto c = NewClient(o);
      std::string body;
      while (!stop && Clock::now() < deadline) {
        auto s0 = Clock::now();
        int code = 0;
        std::string sid = Start(*c, o, &code);
        if (sid.empty()) {
          if (code == 429) {
            ++full;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          } else {
            ++errors;
          }
          continue;
        }
        int st = Watch(*c, o, sid, nullptr, &body);
        if (st == 200 && EndedOk(body)) {
          ++ok;
          std::lock_guard<std::mutex> l(mu);
          lat.push_back(Ms(Clock::now() - s0));
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  Stats s = Summarize(lat);
  std::printf("RESULT per_s=%.2f ok=%ld errors=%ld queue_full=%ld p50_ms=%.3f p99_ms=%.3f\n",
              ok / secs, ok.load(), errors.load(), full.load(), s.p50, s.p99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: agent9_containers_load MODE [options] (see the header comment)");
  Opts o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--url")
      o.url = val();
    else if (a == "--agent")
      o.agent = val();
    else if (a == "--body")
      o.body = val();
    else if (a == "--token")
      o.token = val();
    else if (a == "--argv-file")
      o.argv_file = val();
    else if (a == "--n")
      o.n = std::stoi(val());
    else if (a == "--warmup")
      o.warmup = std::stoi(val());
    else if (a == "--conc")
      o.conc = std::stoi(val());
    else if (a == "--uid")
      o.uid = std::stol(val());
    else if (a == "--secs")
      o.secs = std::stod(val());
    else if (a == "--first-byte")
      o.first_byte = true;
    else
      Die("unknown option " + a);
  }
  signal(SIGPIPE, SIG_IGN);
  if (o.mode == "bare") return Bare(o);
  if (o.mode == "ttfb") return Ttfb(o);
  if (o.mode == "sessions") return Sessions(o);
  Die("unknown mode " + o.mode);
}
