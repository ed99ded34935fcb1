// tick_bench: the tick engine's throughput (echo, exec, exec under bubblewrap) and wake
// latency, each next to a baseline measured in the same process: durable commits/s of the
// same Database, fork+exec and bwrap spawns of /bin/true, and a condition-variable handoff.
// Everything runs against a real SQLite file in a private temp dir, with the daemon's
// Database options and tick workers. Human-readable lines go to stderr; stdout gets one flat
// JSON object, one "key": value per line (bench/ticks.sh parses it with awk).
// Exit status: 0 when every figure was measured and verified, 1 otherwise, 2 on bad flags.
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fs/base/clock.h"
#include "fs/base/json.h"
#include "fs/base/sqlite.h"
#include "tick/agent_kind.h"
#include "tick/agents.h"
#include "tick/engine.h"
#include "tick/envelope.h"
#include "tick/exec_agent.h"
#include "tick/inbox.h"
#include "tick/stream_hub.h"

namespace agent9 {
namespace {

using Steady = std::chrono::steady_clock;

double SecondsSince(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}
double Us(Steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Nearest-rank percentile (q in [0, 1]); NaN for no samples.
double Pct(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

struct Flags {
  std::string sync = "full";
  unsigned workers = 32;  // what `agent9 serve` runs (--tick-workers)
  int echo_n = 5000;      // messages for the one echo agent
  int agents = 64;        // agents of the many-agent echo run
  int per_agent = 50;     // messages each
  int exec_n = 300;       // messages for the exec agent (each sandbox mode)
  double box_secs = 60;   // time box of each drain: a drain still running then fails
  double base_secs = 2;
  int wake_samples = 500;
  double wake_secs = 10;  // time box of each wake series
  bool wake_normal = true;
  std::string dir;   // parent of the temp dir
  std::string only;  // comma-separated step names; empty = all
};

// Every figure, in output order.
class Report {
 public:
  void Add(const std::string& key, double v) { rows_.emplace_back(key, v); }
  void AddText(const std::string& key, const std::string& v) { text_.emplace_back(key, v); }
  void Print() const {
    std::printf("{\n");
    for (const auto& [k, v] : text_) std::printf("  \"%s\": %s,\n", k.c_str(), DumpJson(v).c_str());
    for (size_t i = 0; i < rows_.size(); ++i) {
      const auto& [k, v] = rows_[i];
      const char* sep = i + 1 < rows_.size() ? "," : "";
      if (std::isnan(v)) {
        std::printf("  \"%s\": null%s\n", k.c_str(), sep);
      } else {
        std::printf("  \"%s\": %.3f%s\n", k.c_str(), v, sep);
      }
    }
    std::printf("}\n");
  }

 private:
  std::vector<std::pair<std::string, double>> rows_;
  std::vector<std::pair<std::string, std::string>> text_;
};

__attribute__((format(printf, 1, 2))) void Say(const char* fmt, ...) {
  std::va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "[tick_bench] ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
}

// A daemon's WAL is warm: it grew to the checkpoint size once and is overwritten in place
// from then on. While it grows, each fsync also commits the file's new size (several times
// dearer), so every store first writes ~7 MB through a scratch table: the autocheckpoint
// at 1000 pages restarts the WAL at its beginning.
Status WarmWal(Database& db) {
  AGENT9_RETURN_IF_ERROR(
      db.Write([](Conn& c) { return c.Exec("CREATE TABLE bench_warm(v BLOB NOT NULL)"); }));
  const std::string blob(4000, 'w');
  for (int i = 0; i < 6; ++i) {
    AGENT9_RETURN_IF_ERROR(db.Write([&](Conn& c) -> Status {
      for (int k = 0; k < 300; ++k) {
        AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO bench_warm(v) VALUES(?)"));
        AGENT9_RETURN_IF_ERROR(s->Bind(1, blob).Run());
      }
      return Status::OK();
    }));
  }
  return db.Write([](Conn& c) { return c.Exec("DROP TABLE bench_warm"); });
}

// One store: a fresh directory under the run's temp dir, opened like the daemon opens it.
struct Store {
  SystemClock clock;
  std::unique_ptr<Database> db;
  std::unique_ptr<AgentService> agents;
};

Result<std::unique_ptr<Store>> OpenStore(const std::string& root, const std::string& name,
                                         SyncMode sync) {
  std::string dir = root + "/" + name;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::Internal("mkdir " + dir, ec.message());
  auto s = std::make_unique<Store>();
  DatabaseOptions o;
  o.sync = sync;
  AGENT9_ASSIGN_OR_RETURN(s->db, Database::Open(dir + "/agent9.db", o));
  AGENT9_RETURN_IF_ERROR(AgentService::Migrate(*s->db));
  AGENT9_RETURN_IF_ERROR(WarmWal(*s->db));
  s->agents = std::make_unique<AgentService>(s->db.get(), &s->clock);
  return s;
}

// The wake-latency kind: notes when Tick() is entered, then returns no effects (the
// message is consumed, the state kept).
class WakeProbe final : public Agent {
 public:
  Result<TickOutput> Tick(const TickInput&) override {
    Steady::time_point now = Steady::now();
    {
      std::lock_guard<std::mutex> l(mu_);
      last_ = now;
      ++count_;
    }
    cv_.notify_all();
    return TickOutput{};
  }
  int64_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return count_;
  }
  // When the first tick after the seen-th one started; nullopt on timeout.
  std::optional<Steady::time_point> WaitPast(int64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> l(mu_);
    if (!cv_.wait_for(l, timeout, [&] { return count_ > seen; })) return std::nullopt;
    return last_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t count_ = 0;
  Steady::time_point last_;
};

struct Ctx {
  Flags flags;
  SyncMode sync = SyncMode::kFull;
  std::string root;
  AgentKinds kinds;
  std::shared_ptr<WakeProbe> probe;
  StreamHub outbox, trace;
  Report report;

  std::unique_ptr<Engine> NewEngine(Store& s) {
    EngineOptions eo;
    eo.workers = flags.workers;
    return std::make_unique<Engine>(s.db.get(), s.agents.get(), &s.clock, &kinds, &outbox, &trace,
                                    eo);
  }
  int64_t BoxMs() const { return static_cast<int64_t>(flags.box_secs * 1000); }
};

// The agent's trajectory records of ticks numbered above `after` (failed attempts carry the
// number their tick would have had).
Result<std::vector<Json>> RecordsAfter(AgentService& agents, const std::string& agent,
                                       int64_t after) {
  AGENT9_ASSIGN_OR_RETURN(std::vector<std::string> texts, agents.Trajectory(agent));
  std::vector<Json> out;
  for (const auto& t : texts) {
    AGENT9_ASSIGN_OR_RETURN(Json j, ParseJson(t, "trajectory record"));
    if (j.value("tick", int64_t{0}) > after) out.push_back(std::move(j));
  }
  return out;
}

// Drains `per_agent` preloaded messages from each of `n_agents` agents of config `cfg`:
// ticks/s = trajectory records committed / wall time from Engine::Start to WaitIdle.
// Verifies that every message made exactly one successful tick, that nothing failed or was
// dead-lettered and that every inbox is empty. A drain the time box ends is reported (over
// the ticks that committed) and fails.
Status Drain(Ctx& ctx, const std::string& name, AgentConfig cfg, int n_agents, int per_agent) {
  AGENT9_ASSIGN_OR_RETURN(auto store, OpenStore(ctx.root, name, ctx.sync));
  cfg.max_depth = std::max<int64_t>(cfg.max_depth, per_agent + 1);
  cfg.retain_trajectory = std::max<int64_t>(cfg.retain_trajectory, per_agent + 10);
  std::vector<std::string> ids;
  for (int i = 0; i < n_agents; ++i) {
    ids.push_back(name + "-" + std::to_string(i));
    AGENT9_RETURN_IF_ERROR(store->agents->Create(ids.back(), cfg).status());
  }
  // Let ticks a new agent runs on its own (an init tick) finish before measuring.
  {
    auto settle = ctx.NewEngine(*store);
    AGENT9_RETURN_IF_ERROR(settle->Start());
    if (!settle->WaitIdle(ctx.BoxMs())) return Status(Code::kDeadlineExceeded, "settling " + name);
  }
  std::vector<int64_t> before;  // tick_count of each agent
  for (const auto& id : ids) {
    AGENT9_ASSIGN_OR_RETURN(AgentInfo info, store->agents->Get(id));
    before.push_back(info.tick_count);
  }
  // Preload with the engine stopped, 500 messages per transaction: enqueue cost stays out.
  const int64_t now = store->clock.NowMs();
  for (const auto& id : ids) {
    for (int done = 0; done < per_agent;) {
      int chunk = std::min(500, per_agent - done);
      AGENT9_RETURN_IF_ERROR(store->db->Write([&](Conn& c) -> Status {
        for (int k = 0; k < chunk; ++k) {
          std::string body = R"({"n":)" + std::to_string(done + k) + R"(,"text":"hello, agent"})";
          AGENT9_ASSIGN_OR_RETURN(Envelope env, ParseEnvelope(body, "bench", now, RandomHexId()));
          AGENT9_RETURN_IF_ERROR(EnqueueInTransaction(c, id, env, now).status());
        }
        return Status::OK();
      }));
      done += chunk;
    }
  }

  auto engine = ctx.NewEngine(*store);
  const Database::WriteStats w0 = store->db->Stats();
  Steady::time_point t0 = Steady::now();
  AGENT9_RETURN_IF_ERROR(engine->Start());
  bool drained = engine->WaitIdle(ctx.BoxMs());
  double secs = SecondsSince(t0);
  engine->Stop();  // a tick still running when the time box ended commits before we count
  if (!drained) secs = SecondsSince(t0);
  const Database::WriteStats w1 = store->db->Stats();

  int64_t ticks = 0, consumed = 0;
  std::vector<double> dur;
  std::map<std::string, std::vector<double>> phases;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    AGENT9_ASSIGN_OR_RETURN(AgentInfo info, store->agents->Get(id));
    AGENT9_ASSIGN_OR_RETURN(int64_t depth, store->agents->QueueDepth(id));
    AGENT9_ASSIGN_OR_RETURN(auto dead, store->agents->ListDeadletter(id));
    AGENT9_ASSIGN_OR_RETURN(auto recs, RecordsAfter(*store->agents, id, before[i]));
    int64_t ok = 0;
    std::string first_error;
    for (const auto& r : recs) {
      if (r.value("result", "") == "ok") {
        ++ok;
      } else if (first_error.empty()) {
        first_error = r.value("error", Json("?")).dump();
      }
      if (r.contains("duration_us")) dur.push_back(r["duration_us"].get<double>());
      if (r.contains("phases_us") && r["phases_us"].is_object()) {
        for (const auto& [p, v] : r["phases_us"].items()) phases[p].push_back(v.get<double>());
      }
    }
    int64_t agent_ticks = info.tick_count - before[i];
    int64_t agent_consumed = per_agent - depth;
    if (!first_error.empty() || !dead.empty() || ok != static_cast<int64_t>(recs.size()) ||
        agent_ticks != ok || agent_consumed != ok || (drained && depth != 0)) {
      return Status::Internal(name + ": inconsistent after the drain",
                              id + ": ticks " + std::to_string(agent_ticks) + ", ok records " +
                                  std::to_string(ok) + " of " + std::to_string(recs.size()) +
                                  ", consumed " + std::to_string(agent_consumed) + " of " +
                                  std::to_string(per_agent) + ", dead-lettered " +
                                  std::to_string(dead.size()) +
                                  (first_error.empty() ? "" : ", first error " + first_error));
    }
    ticks += ok;
    consumed += agent_consumed;
  }
  if (ticks == 0) return Status::Internal(name + ": no tick committed");
  Report& r = ctx.report;
  const int64_t messages = static_cast<int64_t>(n_agents) * per_agent;
  r.Add(name + ".ticks_per_s", static_cast<double>(ticks) / secs);
  r.Add(name + ".ticks", static_cast<double>(ticks));
  r.Add(name + ".messages", static_cast<double>(messages));
  r.Add(name + ".agents", n_agents);
  r.Add(name + ".secs", secs);
  r.Add(name + ".complete", drained ? 1 : 0);
  r.Add(name + ".wall_us_per_tick", secs * 1e6 / static_cast<double>(ticks));
  // How many writes (ticks, mostly) shared each fsync: the group commit at work.
  const double writes_per_commit =
      static_cast<double>(w1.writes - w0.writes) /
      static_cast<double>(std::max<int64_t>(1, w1.commits - w0.commits));
  r.Add(name + ".writes_per_commit", writes_per_commit);
  r.Add(name + ".record_us_p50", Pct(dur, 0.5));
  r.Add(name + ".record_us_p99", Pct(dur, 0.99));
  std::string ph;
  for (const auto& [p, v] : phases) {
    r.Add(name + ".phase_us_p50." + p, Pct(v, 0.5));
    ph += " " + p + "=" + std::to_string(static_cast<int64_t>(Pct(v, 0.5)));
  }
  Say("%-13s %8.0f ticks/s  (%lld ticks, %d agent(s), %.2f s%s); per tick: wall %.0f us, "
      "recorded p50 %.0f us, %.1f writes per commit [phases p50 us:%s]",
      name.c_str(), static_cast<double>(ticks) / secs, static_cast<long long>(ticks), n_agents,
      secs, drained ? "" : ", TIME BOX HIT before the inbox was empty", secs * 1e6 / ticks,
      Pct(dur, 0.5), writes_per_commit, ph.c_str());
  if (!drained) {
    return Status(Code::kDeadlineExceeded,
                  name + ": the time box ended the drain after " + std::to_string(consumed) +
                      " of " + std::to_string(messages) +
                      " messages (raise --box-secs or lower the message count)");
  }
  return Status::OK();
}

// A baseline loop's count over its duration.
struct Rate {
  int64_t n = 0;
  double secs = 0;
};
using Loop = std::function<Result<Rate>(double secs)>;

// Durable commits: `threads` threads each calling Database::Write (one INSERT of a
// trajectory-record-sized row) back to back. One echo tick is one such Write.
Result<Loop> CommitLoop(Ctx& ctx, const std::string& key, int threads) {
  AGENT9_ASSIGN_OR_RETURN(std::shared_ptr<Store> store, OpenStore(ctx.root, key, ctx.sync));
  AGENT9_RETURN_IF_ERROR(store->db->Write([](Conn& c) {
    return c.Exec("CREATE TABLE commits(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  }));
  return Loop([store, threads](double secs) -> Result<Rate> {
    const std::string row(400, 'x');
    std::atomic<int64_t> n{0};
    std::atomic<bool> failed{false};
    Steady::time_point t0 = Steady::now();
    Steady::time_point end =
        t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(secs));
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; ++i) {
      ts.emplace_back([&] {
        while (Steady::now() < end && !failed) {
          Status st = store->db->Write([&](Conn& c) -> Status {
            AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO commits(v) VALUES(?)"));
            return s->Bind(1, row).Run();
          });
          if (!st.ok()) failed = true;
          ++n;
        }
      });
    }
    for (auto& t : ts) t.join();
    if (failed) return Status::Internal("a baseline write failed");
    return Rate{n, SecondsSince(t0)};
  });
}

// Spawns of argv: fork, execve with stdin/stdout/stderr on /dev/null (the child set up as
// the exec agent sets it up: own process group, default signals, fds >= 3 closed), waitpid.
// Every child must exit 0.
Loop SpawnLoop(std::vector<std::string> argv) {
  return [argv = std::move(argv)](double secs) -> Result<Rate> {
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) return Status::Internal("open /dev/null");
    std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp",
                                    "LANG=C.UTF-8"};
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);
    Rate r;
    Status st = Status::OK();
    Steady::time_point t0 = Steady::now();
    while (r.n < 3 || SecondsSince(t0) < secs) {
      pid_t pid = fork();
      if (pid < 0) {
        st = Status::Internal("fork failed");
        break;
      }
      if (pid == 0) {
        setpgid(0, 0);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        syscall(SYS_close_range, 3U, ~0U, 0U);
        execve(cargv[0], cargv.data(), cenv.data());
        _exit(127);
      }
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        st = Status::Internal(argv[0] + " exited with status " +
                              std::to_string(WEXITSTATUS(status)));
        break;
      }
      ++r.n;
    }
    r.secs = SecondsSince(t0);
    ::close(devnull);
    AGENT9_RETURN_IF_ERROR(st);
    return r;
  };
}

// Runs the baseline loop for half its time right before the figure and half right after,
// so a change in the machine's speed (fsync latency moves a lot) hits both alike. The
// baseline's rate is over both halves.
Status Bracketed(Ctx& ctx, const std::string& key, const char* unit, const Loop& loop,
                 const std::function<Status()>& figure) {
  const double half = ctx.flags.base_secs / 2;
  Result<Rate> before = loop(half);
  Status fig = figure();
  Result<Rate> after = loop(half);
  if (!before.ok()) return Status(before.status().code(), key + ": " + before.status().message());
  if (!after.ok()) return Status(after.status().code(), key + ": " + after.status().message());
  double rate = static_cast<double>(before->n + after->n) / (before->secs + after->secs);
  ctx.report.Add(key + ".per_s", rate);
  ctx.report.Add(key + ".before_per_s", static_cast<double>(before->n) / before->secs);
  ctx.report.Add(key + ".after_per_s", static_cast<double>(after->n) / after->secs);
  Say("%-13s %8.0f %s (%.0f before, %.0f after the figure)", key.c_str(), rate, unit,
      static_cast<double>(before->n) / before->secs, static_cast<double>(after->n) / after->secs);
  return fig;
}

void AddLatency(Ctx& ctx, const std::string& key, const std::vector<double>& us) {
  ctx.report.Add(key + ".p50_us", Pct(us, 0.5));
  ctx.report.Add(key + ".p99_us", Pct(us, 0.99));
  ctx.report.Add(key + ".max_us", Pct(us, 1));
}

// Wake latency on an idle engine: one message at a time through AgentService::Enqueue (the
// durable path every transport uses); the next is sent once the engine is idle again.
Status Wake(Ctx& ctx, const std::string& key, SyncMode sync) {
  AGENT9_ASSIGN_OR_RETURN(auto store, OpenStore(ctx.root, key, sync));
  AgentConfig cfg;
  cfg.kind = "bench_probe";
  AGENT9_RETURN_IF_ERROR(store->agents->Create("probe", cfg).status());
  auto engine = ctx.NewEngine(*store);
  Engine* e = engine.get();
  store->agents->SetEnqueueListener([e](std::string_view a) { e->Notify(a); });
  AGENT9_RETURN_IF_ERROR(engine->Start());
  const int64_t box = ctx.BoxMs();
  if (!engine->WaitIdle(box)) return Status(Code::kDeadlineExceeded, key + ": settling");
  AGENT9_ASSIGN_OR_RETURN(AgentInfo info0, store->agents->Get("probe"));
  std::vector<double> from_call, from_ack, enqueue;
  constexpr int kWarmup = 5;
  int sent = 0;
  Steady::time_point t_start = Steady::now();
  Status st = Status::OK();
  for (int i = 0; i < ctx.flags.wake_samples + kWarmup; ++i) {
    if (i > kWarmup && SecondsSince(t_start) > ctx.flags.wake_secs) break;
    if (!engine->WaitIdle(box)) {
      st = Status(Code::kDeadlineExceeded, key + ": the engine did not go idle");
      break;
    }
    int64_t seen = ctx.probe->count();
    Steady::time_point t0 = Steady::now();
    auto r = store->agents->Enqueue("probe", "wake " + std::to_string(i), "bench");
    Steady::time_point t1 = Steady::now();
    if (!r.ok()) {
      st = r.status();
      break;
    }
    ++sent;
    auto tick = ctx.probe->WaitPast(seen, std::chrono::milliseconds(box));
    if (!tick) {
      st = Status(Code::kDeadlineExceeded, key + ": no tick for message " + std::to_string(i));
      break;
    }
    if (i < kWarmup) continue;
    from_call.push_back(Us(*tick - t0));
    from_ack.push_back(Us(*tick - t1));
    enqueue.push_back(Us(t1 - t0));
  }
  bool idle = engine->WaitIdle(box);
  engine->Stop();
  store->agents->SetEnqueueListener(nullptr);
  AGENT9_RETURN_IF_ERROR(st);
  if (!idle) return Status(Code::kDeadlineExceeded, key + ": the last tick did not finish");
  AGENT9_ASSIGN_OR_RETURN(AgentInfo info, store->agents->Get("probe"));
  AGENT9_ASSIGN_OR_RETURN(int64_t depth, store->agents->QueueDepth("probe"));
  if (info.tick_count - info0.tick_count != sent || depth != 0) {
    return Status::Internal(key + ": sent " + std::to_string(sent) + " messages but " +
                            std::to_string(info.tick_count - info0.tick_count) +
                            " ticks committed, depth " + std::to_string(depth));
  }
  ctx.report.Add(key + ".samples", static_cast<double>(from_call.size()));
  AddLatency(ctx, key + ".from_call", from_call);
  AddLatency(ctx, key + ".from_ack", from_ack);
  AddLatency(ctx, key + ".enqueue", enqueue);
  Say("%-13s enqueue->tick start p50 %.0f / p99 %.0f / max %.0f us; ack->tick start p50 %.0f / "
      "p99 %.0f / max %.0f us; Enqueue itself p50 %.0f us (%zu samples)",
      key.c_str(), Pct(from_call, 0.5), Pct(from_call, 0.99), Pct(from_call, 1), Pct(from_ack, 0.5),
      Pct(from_ack, 0.99), Pct(from_ack, 1), Pct(enqueue, 0.5), from_call.size());
  return Status::OK();
}

// The floor under ack->tick start: one condition-variable handoff to a sleeping thread (how
// Notify wakes a worker), notify to the waiter running, after 1 ms of idleness each time.
std::vector<double> CvHandoff(int samples) {
  std::mutex mu;
  std::condition_variable cv, done_cv;
  int64_t posted = 0, seen = 0;
  bool stop = false;
  Steady::time_point woke;
  std::thread waiter([&] {
    std::unique_lock<std::mutex> l(mu);
    for (;;) {
      cv.wait(l, [&] { return stop || posted > seen; });
      if (stop) return;
      woke = Steady::now();
      seen = posted;
      done_cv.notify_one();
    }
  });
  std::vector<double> us;
  for (int i = 0; i < samples; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Steady::time_point t0 = Steady::now();
    {
      std::lock_guard<std::mutex> l(mu);
      ++posted;
    }
    cv.notify_one();
    std::unique_lock<std::mutex> l(mu);
    done_cv.wait(l, [&] { return seen == posted; });
    us.push_back(Us(woke - t0));
  }
  {
    std::lock_guard<std::mutex> l(mu);
    stop = true;
  }
  cv.notify_one();
  waiter.join();
  return us;
}

// The wake series (at the store's mode, then at NORMAL), the handoff baseline half before
// and half after them.
Status WakeSeries(Ctx& ctx) {
  std::vector<double> cv = CvHandoff(ctx.flags.wake_samples / 2 + 1);
  Status st = Wake(ctx, "wake", ctx.sync);
  if (ctx.flags.wake_normal && ctx.sync != SyncMode::kNormal) {
    Status normal = Wake(ctx, "wake_normal", SyncMode::kNormal);
    if (st.ok()) st = normal;
  }
  std::vector<double> more = CvHandoff(ctx.flags.wake_samples / 2 + 1);
  cv.insert(cv.end(), more.begin(), more.end());
  AddLatency(ctx, "cv_handoff", cv);
  Say("%-13s notify->waiter running p50 %.0f / p99 %.0f / max %.0f us", "cv_handoff", Pct(cv, 0.5),
      Pct(cv, 0.99), Pct(cv, 1));
  return st;
}

int Run(const Flags& f) {
  Ctx ctx;
  ctx.flags = f;
  ctx.sync = f.sync == "normal" ? SyncMode::kNormal
             : f.sync == "off"  ? SyncMode::kOff
                                : SyncMode::kFull;
  std::string parent = f.dir.empty() ? std::filesystem::temp_directory_path().string() : f.dir;
  std::string tmpl = parent + "/agent9-tick-bench.XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    Say("cannot create a temp dir under %s", parent.c_str());
    return 1;
  }
  ctx.root = tmpl;
  struct statfs sfs {};
  bool tmpfs = statfs(ctx.root.c_str(), &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
  Say("store in %s (%s), synchronous=%s, %u tick workers, %u CPUs", ctx.root.c_str(),
      tmpfs ? "tmpfs: fsync costs nothing here" : "not tmpfs", f.sync.c_str(), f.workers,
      std::thread::hardware_concurrency());

  ctx.kinds = AgentKinds::WithBuiltins();
  ctx.kinds.Register("exec", std::make_shared<ExecAgent>(ExecOptions{}, &ctx.trace));
  ctx.probe = std::make_shared<WakeProbe>();
  ctx.kinds.Register("bench_probe", ctx.probe);

  Report& r = ctx.report;
  r.AddText("sync", f.sync);
  r.Add("workers", f.workers);
  r.Add("nproc", std::thread::hardware_concurrency());
  r.Add("tmpfs", tmpfs ? 1 : 0);

  AgentConfig echo;
  echo.kind = "echo";
  AgentConfig exec;
  exec.kind = "exec";
  exec.program = "/bin/echo";
  exec.args = {"{}"};  // one empty JSON object on stdout: a tick with no effects
  exec.sandbox = false;
  AgentConfig sandboxed = exec;
  sandboxed.sandbox = true;
  AgentConfig bare_true;
  bare_true.program = "/bin/true";
  bare_true.sandbox = true;
  const ExecOptions exec_opts;

  // Each baseline runs half right before its figure and half right after it.
  const int w = static_cast<int>(std::max(1u, f.workers));
  std::vector<std::pair<std::string, std::function<Status()>>> steps = {
      {"echo1",
       [&]() -> Status {
         AGENT9_ASSIGN_OR_RETURN(Loop loop, CommitLoop(ctx, "commit1", 1));
         return Bracketed(ctx, "commit1", "durable commits/s, 1 thread", loop,
                          [&] { return Drain(ctx, "echo1", echo, 1, f.echo_n); });
       }},
      {"echo_many",
       [&]() -> Status {
         AGENT9_ASSIGN_OR_RETURN(Loop loop, CommitLoop(ctx, "commit_w", w));
         return Bracketed(ctx, "commit_w", "durable commits/s, 1 thread per worker", loop,
                          [&] { return Drain(ctx, "echo_many", echo, f.agents, f.per_agent); });
       }},
      {"exec",
       [&] {
         return Bracketed(ctx, "fork_exec", "spawns/s of /bin/true", SpawnLoop({"/bin/true"}),
                          [&] { return Drain(ctx, "exec", exec, 1, f.exec_n); });
       }},
      {"exec_sandbox",
       [&] {
         return Bracketed(ctx, "bwrap", "spawns/s of bwrap ... /bin/true",
                          SpawnLoop(ExecAgent::BuildArgv(exec_opts, bare_true)),
                          [&] { return Drain(ctx, "exec_sandbox", sandboxed, 1, f.exec_n); });
       }},
      {"wake", [&] { return WakeSeries(ctx); }},
  };
  int failures = 0;
  for (const auto& [name, fn] : steps) {
    if (!f.only.empty() && ("," + f.only + ",").find("," + name + ",") == std::string::npos) {
      continue;
    }
    Status st = fn();
    if (!st.ok()) {
      Say("FAILED %s: %s", name.c_str(), st.ToString().c_str());
      ++failures;
    }
  }
  r.Add("failures", failures);
  r.Print();
  std::error_code ec;
  std::filesystem::remove_all(ctx.root, ec);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace agent9

int main(int argc, char** argv) {
  agent9::Flags f;
  CLI::App app{"agent9 tick benchmark: ticks/s and wake latency next to same-run baselines"};
  app.add_option("--sync", f.sync, "SQLite synchronous mode of the store")
      ->check(CLI::IsMember({"full", "normal", "off"}));
  app.add_option("--workers", f.workers, "tick workers (agent9 serve runs 32)")
      ->check(CLI::Range(1, 256));
  app.add_option("--echo-n", f.echo_n, "messages drained by the one echo agent")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--agents", f.agents, "agents of the many-agent echo run")
      ->check(CLI::Range(1, 10'000));
  app.add_option("--per-agent", f.per_agent, "messages each of those agents drains")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--exec-n", f.exec_n, "messages drained by each exec agent")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--box-secs", f.box_secs, "time box of each drain")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--base-secs", f.base_secs,
                 "duration of each baseline loop (half before its figure, half after)")
      ->check(CLI::Range(0.1, 600.0));
  app.add_option("--wake-samples", f.wake_samples, "wake latency samples")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--wake-secs", f.wake_secs, "time box of each wake series")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("!--no-wake-normal", f.wake_normal, "skip the wake series at synchronous=NORMAL");
  app.add_option("--dir", f.dir, "where the temp store goes (default: $TMPDIR or /tmp)");
  app.add_option("--only", f.only,
                 "run only these figures, each with its baseline (comma-separated: echo1, "
                 "echo_many, exec, exec_sandbox, wake)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return agent9::Run(f);
}
