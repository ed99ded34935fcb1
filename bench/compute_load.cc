// agent9_compute_load: the HTTP client of bench/compute.sh. One cpp-httplib client (keep-alive)
// per thread, against agent9's compute files or straight against an OpenAI-compatible server.
//
//   ttfb-agent9  --url U --agent A --body JOB --n N     POST compute/new (a streamed job), then
//                GET compute/jobs/<id>/stream?watch=1 (SSE): time from just before the POST to
//                the first byte of the first `data:` line; the stream is read to its end (the
//                result line) before the next sample. One job at a time.
//   ttfb-direct  --url U --body CHAT --n N              POST /v1/chat/completions ("stream":true)
//                and the time to the first byte of the first SSE `data:` line.
//   jobs-agent9  --url U --agent A --body JOB --conc K --secs S   K threads, each looping: submit,
//                then read jobs/<id>/stream?watch=1 to its end (it ends after the result line).
//                A watch refused with 503 (the daemon allows HTTP threads / 2 watches) falls
//                back to polling jobs/<id>/status every --poll-ms (1) ms; counted as `polled`.
//                --wait poll: every job is waited for by polling (no watch).
//   jobs-direct  --url U --body CHAT --conc K --secs S  K threads, each looping a plain POST
//                /v1/chat/completions.
//   submit       --url U --agent A --body JOB --conc K --secs S [--slice-ms M]  K threads
//                POSTing compute/new; answers 200 per slice (reservations/s) and in total.
//   burst        --url U --agent A --body JOB --conc K  K threads, each with its own connection,
//                released at once to POST compute/new one time each;
//                counts the answers by HTTP status.
// Every mode prints one line "RESULT key=value ..." on stdout (and SLICE lines for submit).
// --token T adds "Authorization: Bearer T".
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Opts {
  std::string mode, url, agent = "a", body, token;
  int n = 500, warmup = 20, conc = 1, slice_ms = 1000, poll_ms = 1;
  bool poll_only = false;  // jobs-agent9: --wait poll skips the watch
  double secs = 5;
};

[[noreturn]] void Die(const std::string& m) {
  std::fprintf(stderr, "compute_load: %s\n", m.c_str());
  std::exit(1);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

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

std::string Base(const Opts& o) { return "/v1/fs/agents/" + o.agent + "/compute/"; }

// The "job_id" of a compute/new answer ("" when there is none).
std::string JobId(const std::string& body) {
  auto k = body.find("\"job_id\"");
  if (k == std::string::npos) return "";
  auto q1 = body.find('"', body.find(':', k) + 1);
  auto q2 = body.find('"', q1 + 1);
  if (q1 == std::string::npos || q2 == std::string::npos) return "";
  return body.substr(q1 + 1, q2 - q1 - 1);
}

// Submits a job; returns its id, or "" (and the status in *code).
std::string Submit(httplib::Client& c, const Opts& o, int* code) {
  auto r = c.Post(Base(o) + "new", o.body, "application/json");
  *code = r ? r->status : -1;
  if (!r || r->status != 200) return "";
  return JobId(r->body);
}

// Reads jobs/<id>/stream?watch=1 to its end. *first: when the first `data:` byte arrived.
// Returns the HTTP status (-1: transport error); *body holds what came.
int Watch(httplib::Client& c, const Opts& o, const std::string& id, Clock::time_point* first,
          std::string* body) {
  body->clear();
  bool seen = false;
  auto r = c.Get(Base(o) + "jobs/" + id + "/stream?watch=1", [&](const char* d, size_t n) {
    body->append(d, n);
    if (!seen && body->find("data:") != std::string::npos) {
      seen = true;
      if (first) *first = Clock::now();
    }
    return true;
  });
  if (!r) return -1;
  return r->status;
}

bool Completed(const std::string& s) { return s.find("\"result\"") != std::string::npos; }

// Polls jobs/<id>/status until the job is final; true when it completed.
bool Poll(httplib::Client& c, const Opts& o, const std::string& id) {
  for (int i = 0; i < 600000; ++i) {
    auto r = c.Get(Base(o) + "jobs/" + id + "/status");
    if (r && r->status == 404) return false;  // the job is gone: never wait forever for it
    if (r && r->status == 200) {
      const std::string& b = r->body;
      if (b.find("\"complete\"") != std::string::npos) return true;
      if (b.find("\"failed\"") != std::string::npos || b.find("\"cancelled\"") != std::string::npos)
        return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
  }
  return false;
}

// Direct streamed chat: ms to the first SSE data byte; -1 on error.
double DirectTtfb(httplib::Client& c, const Opts& o) {
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = o.body;
  req.set_header("Content-Type", "application/json");
  std::string got;
  bool seen = false;
  Clock::time_point first;
  auto t0 = Clock::now();
  req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
    got.append(d, n);
    if (!seen && got.find("data:") != std::string::npos) {
      seen = true;
      first = Clock::now();
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err;
  if (!c.send(req, res, err) || res.status != 200 || !seen) return -1;
  if (got.find("[DONE]") == std::string::npos) return -1;
  return Ms(first - t0);
}

double AgentTtfb(httplib::Client& c, const Opts& o) {
  auto t0 = Clock::now();
  int code = 0;
  std::string id = Submit(c, o, &code);
  if (id.empty()) return -1;
  Clock::time_point first;
  std::string body;
  int st = Watch(c, o, id, &first, &body);
  if (st != 200 || !Completed(body) || body.find("\"delta\"") == std::string::npos) return -1;
  return Ms(first - t0);
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void PrintLat(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  std::printf(" p50_ms=%.3f p99_ms=%.3f mean_ms=%.3f min_ms=%.3f max_ms=%.3f", Pct(v, 0.5),
              Pct(v, 0.99), v.empty() ? 0 : sum / v.size(), Pct(v, 0), Pct(v, 1));
}

int Ttfb(const Opts& o, bool agent) {
  auto c = NewClient(o);
  std::vector<double> lat;
  int errors = 0;
  for (int i = 0; i < o.warmup + o.n; ++i) {
    double ms = agent ? AgentTtfb(*c, o) : DirectTtfb(*c, o);
    if (ms < 0) {
      ++errors;
      if (errors > 10) Die("too many errors");
      continue;
    }
    if (i >= o.warmup) lat.push_back(ms);
  }
  std::printf("RESULT n=%zu errors=%d", lat.size(), errors);
  PrintLat(lat);
  std::printf("\n");
  return errors ? 1 : 0;
}

int Jobs(const Opts& o, bool agent) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int64_t> done{0}, errors{0}, polled{0};
  std::mutex mu;
  std::vector<double> lat;
  std::vector<std::thread> ts;
  for (int t = 0; t < o.conc; ++t) {
    ts.emplace_back([&] {
      auto c = NewClient(o);
      std::vector<double> mine;
      while (!go.load()) std::this_thread::yield();
      while (!stop.load()) {
        auto t0 = Clock::now();
        bool ok = false;
        if (agent) {
          int code = 0;
          std::string id = Submit(*c, o, &code);
          if (!id.empty() && o.poll_only) {
            polled.fetch_add(1);
            ok = Poll(*c, o, id);
          } else if (!id.empty()) {
            std::string body;
            int st = Watch(*c, o, id, nullptr, &body);
            if (st == 200) {
              ok = Completed(body);
            } else if (st == 503) {
              polled.fetch_add(1);
              ok = Poll(*c, o, id);
            }
          }
        } else {
          auto r = c->Post("/v1/chat/completions", o.body, "application/json");
          ok = r && r->status == 200 && r->body.find("echo:") != std::string::npos;
        }
        if (stop.load()) break;  // ended after the clock: not counted
        if (ok) {
          done.fetch_add(1);
          mine.push_back(Ms(Clock::now() - t0));
        } else {
          errors.fetch_add(1);
        }
      }
      std::lock_guard<std::mutex> l(mu);
      lat.insert(lat.end(), mine.begin(), mine.end());
    });
  }
  auto t0 = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(o.secs));
  stop.store(true);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& t : ts) t.join();
  std::printf("RESULT conc=%d jobs=%lld secs=%.3f per_s=%.1f errors=%lld polled=%lld", o.conc,
              static_cast<long long>(done.load()), secs, done.load() / secs,
              static_cast<long long>(errors.load()), static_cast<long long>(polled.load()));
  PrintLat(lat);
  std::printf("\n");
  return 0;
}

int SubmitLoad(const Opts& o) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<int64_t> ok{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < o.conc; ++t) {
    ts.emplace_back([&] {
      auto c = NewClient(o);
      while (!go.load()) std::this_thread::yield();
      while (!stop.load()) {
        int code = 0;
        std::string id = Submit(*c, o, &code);
        (id.empty() ? other : ok).fetch_add(1);
      }
    });
  }
  auto t0 = Clock::now();
  go.store(true);
  int64_t prev = 0;
  auto next = t0;
  std::vector<double> rates;
  while (Clock::now() - t0 < std::chrono::duration<double>(o.secs)) {
    next += std::chrono::milliseconds(o.slice_ms);
    std::this_thread::sleep_until(next);
    int64_t now = ok.load();
    double r = (now - prev) * 1000.0 / o.slice_ms;
    rates.push_back(r);
    std::printf("SLICE %zu accepted_total=%lld per_s=%.1f\n", rates.size(),
                static_cast<long long>(now), r);
    prev = now;
  }
  stop.store(true);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& t : ts) t.join();
  std::printf(
      "RESULT conc=%d accepted=%lld other=%lld secs=%.3f per_s=%.1f first_slice_per_s=%.1f "
      "last_slice_per_s=%.1f\n",
      o.conc, static_cast<long long>(ok.load()), static_cast<long long>(other.load()), secs,
      ok.load() / secs, rates.empty() ? 0 : rates.front(), rates.empty() ? 0 : rates.back());
  return 0;
}

int Burst(const Opts& o) {
  std::mutex mu;
  std::condition_variable cv;
  int ready = 0;
  bool go = false;
  std::map<int, int> codes;
  std::vector<std::thread> ts;
  for (int t = 0; t < o.conc; ++t) {
    ts.emplace_back([&] {
      // One request each, no keep-alive: the daemon serves 64 connections at a time and the
      // rest wait in its queue, so every submit contends for the same budget.
      auto c = NewClient(o);
      c->set_keep_alive(false);
      {
        std::unique_lock<std::mutex> l(mu);
        ++ready;
        cv.notify_all();
        cv.wait(l, [&] { return go; });
      }
      int code = 0;
      (void)Submit(*c, o, &code);
      std::lock_guard<std::mutex> l(mu);
      ++codes[code];
    });
  }
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return ready == o.conc; });
    go = true;
    cv.notify_all();
  }
  for (auto& t : ts) t.join();
  int other = 0;
  for (auto& [code, n] : codes) {
    if (code != 200 && code != 402) other += n;
  }
  std::printf("RESULT conc=%d c200=%d c402=%d other=%d", o.conc, codes[200], codes[402], other);
  for (auto& [code, n] : codes) std::printf(" code_%d=%d", code, n);
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  if (argc < 2) Die("usage: agent9_compute_load MODE --url U [options] (see the source)");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) Die("missing value for " + a);
    std::string v = argv[++i];
    if (a == "--url") {
      o.url = v;
    } else if (a == "--agent") {
      o.agent = v;
    } else if (a == "--body") {
      o.body = v;
    } else if (a == "--token") {
      o.token = v;
    } else if (a == "--n") {
      o.n = std::atoi(v.c_str());
    } else if (a == "--warmup") {
      o.warmup = std::atoi(v.c_str());
    } else if (a == "--conc") {
      o.conc = std::atoi(v.c_str());
    } else if (a == "--secs") {
      o.secs = std::atof(v.c_str());
    } else if (a == "--poll-ms") {
      o.poll_ms = std::atoi(v.c_str());
    } else if (a == "--wait") {
      if (v != "watch" && v != "poll") Die("--wait watch|poll");
      o.poll_only = v == "poll";
    } else if (a == "--slice-ms") {
      o.slice_ms = std::atoi(v.c_str());
    } else {
      Die("unknown option " + a);
    }
  }
  if (o.url.empty() || o.body.empty()) Die("--url and --body are required");
  if (o.mode == "ttfb-agent9") return Ttfb(o, true);
  if (o.mode == "ttfb-direct") return Ttfb(o, false);
  if (o.mode == "jobs-agent9") return Jobs(o, true);
  if (o.mode == "jobs-direct") return Jobs(o, false);
  if (o.mode == "submit") return SubmitLoad(o);
  if (o.mode == "burst") return Burst(o);
  Die("unknown mode " + o.mode);
}
