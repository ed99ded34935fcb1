// LocalProvider: real bubblewrap sandboxes. Needs root (the uid pool) and /usr/bin/bwrap;
// skipped otherwise. Every case checks that no process of its pool uids and no session
// directory is left behind.
#include "containers/local_provider.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "containers/local_cgroup.h"
#include "containers/local_limits.h"

namespace agent9::containers {
namespace {

namespace fs = std::filesystem;

struct Output {
  std::mutex mu;
  std::string out, err;
  int64_t first_ms = 0;
  OutputFn Fn() {
    return [this](std::string_view stream, std::string_view data) {
      std::lock_guard<std::mutex> l(mu);
      if (first_ms == 0) first_ms = MonoMs();
      (stream == "stdout" ? out : err).append(data);
    };
  }
  std::string Out() {
    std::lock_guard<std::mutex> l(mu);
    return out;
  }
  std::string Err() {
    std::lock_guard<std::mutex> l(mu);
    return err;
  }
};

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the sandbox uid pool)";
    if (access("/usr/bin/bwrap", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/bwrap";
    char tmpl[] = "/tmp/agent9-local-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.run_dir = dir_ + "/run";
    // A pool of our own, so that test processes running in parallel do not meet.
    config_.uid_base = 2000000000 + static_cast<int64_t>(getpid() % 100000) * 64;
    config_.uid_count = 64;
    provider_ = std::make_unique<LocalProvider>(config_);
  }

  void TearDown() override {
    if (dir_.empty()) return;
    provider_.reset();
    EXPECT_TRUE(PoolEmptiesSoon()) << "processes of the pool left behind";
    std::error_code ec;
    if (fs::exists(config_.run_dir, ec)) {
      EXPECT_TRUE(fs::is_empty(config_.run_dir, ec)) << "session directories left behind";
    }
    fs::remove_all(dir_, ec);
  }

  int PoolProcs() {
    int n = 0;
    for (const ProcInfo& p : ScanProcs()) {
      if (!p.zombie && p.uid >= config_.uid_base && p.uid < config_.uid_base + config_.uid_count) {
        ++n;
      }
    }
    return n;
  }

  // A session that ended by itself has SIGKILLed what is left of it, which may still be dying
  // (bwrap's pid 1 unmounting the sandbox's tree, a large memory to unmap): gone within 2 s.
  bool PoolEmptiesSoon() {
    for (int64_t deadline = MonoMs() + 2000; PoolProcs() != 0;) {
      if (MonoMs() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  static SandboxSpec Spec(const std::string& id, const std::string& command) {
    SandboxSpec s;
    s.id = id;
    s.command = command;
    s.limits = {20000, 10000, int64_t{512} << 20, 64, 1 << 20};
    return s;
  }

  // Starts spec and waits for its end.
  Exit Run(const SandboxSpec& spec, Output* out) {
    auto sb = provider_->Start(spec, out->Fn());
    EXPECT_TRUE(sb.ok()) << sb.status().ToString();
    if (!sb.ok()) return Exit{};
    return (*sb)->Wait();
  }

  std::string dir_;
  LocalConfig config_;
  std::unique_ptr<LocalProvider> provider_;
};

TEST_F(LocalProviderTest, PythonOneLiner) {
  Output out;
  Exit e = Run(Spec("py", "python3 -c \"print(6*7)\""), &out);
  EXPECT_EQ(out.Out(), "42\n");
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(e.reason, "");
  EXPECT_GT(e.usage.wall_ms, 0);
  EXPECT_GT(e.usage.cpu_ms, 0);
  EXPECT_GT(e.usage.memory_peak_bytes, 0);
  EXPECT_EQ(e.usage.output_bytes, 3);
}

// What the command left running in the background dies with the session (it would sleep
// 30 s), a process with a large memory to unmap included.
TEST_F(LocalProviderTest, TheBackgroundDiesWithTheSession) {
  Output out;
  SandboxSpec spec = Spec("bg",
                          "python3 -c \"import time; x = b'x' * (300 << 20); "
                          "open('held', 'w').close(); time.sleep(30)\" >/dev/null 2>&1 & "
                          "while [ ! -e held ]; do sleep 0.01; done; echo held; exit 0");
  Exit e = Run(spec, &out);
  EXPECT_EQ(out.Out(), "held\n");
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_TRUE(PoolEmptiesSoon()) << "a process of the session outlived it";
}

TEST_F(LocalProviderTest, ExitCodes) {
  Output o1, o2, o3;
  EXPECT_EQ(Run(Spec("e1", "exit 3"), &o1).exit_code, 3);
  EXPECT_EQ(Run(Spec("e2", "kill -9 $$"), &o2).exit_code, 128 + 9);
  Exit e = Run(Spec("e3", "echo oops >&2; false"), &o3);
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_EQ(o3.Err(), "oops\n");
}

TEST_F(LocalProviderTest, SandboxShape) {
  Output out;
  SandboxSpec s = Spec("shape",
                       "pwd; echo $HOME $FOO; id -u; "
                       "for d in /root /home /var /srv /work/../work; do "
                       "test -e $d && echo has $d; done; "
                       "touch /usr/x 2>/dev/null && echo usr writable; "
                       "touch /x 2>/dev/null && echo root writable; "
                       "touch /tmp/x && touch /work/x && echo ok; cat in/f.txt");
  s.env = {{"FOO", "bar"}};
  s.files = {{"in/f.txt", "hello"}};
  Exit e = Run(s, &out);
  EXPECT_EQ(e.exit_code, 0) << out.Err();
  std::string uid = std::to_string(config_.uid_base);
  EXPECT_EQ(out.Out().substr(0, out.Out().find("ok")).find("writable"), std::string::npos);
  EXPECT_NE(out.Out().find("/work\n/work bar\n"), std::string::npos) << out.Out();
  EXPECT_NE(out.Out().find("has /work/../work\nok\nhello"), std::string::npos) << out.Out();
  EXPECT_EQ(out.Out().find("has /root"), std::string::npos) << out.Out();
  EXPECT_EQ(out.Out().find("has /var"), std::string::npos) << out.Out();
}

TEST_F(LocalProviderTest, ImageRootfs) {
  // A minimal image: dash and the two libraries it needs.
  std::string root = dir_ + "/image";
  fs::create_directories(root + "/bin");
  fs::create_directories(root + "/lib/x86_64-linux-gnu");
  fs::create_directories(root + "/lib64");
  std::error_code ec;
  fs::copy_file("/usr/bin/dash", root + "/bin/sh", ec);
  fs::copy_file("/lib/x86_64-linux-gnu/libc.so.6", root + "/lib/x86_64-linux-gnu/libc.so.6", ec);
  fs::copy_file("/lib64/ld-linux-x86-64.so.2", root + "/lib64/ld-linux-x86-64.so.2", ec);
  if (ec) GTEST_SKIP() << "cannot build a test image: " << ec.message();
  chmod(dir_.c_str(), 0755);  // the image is read by bwrap as the session uid
  Output out;
  SandboxSpec s = Spec("image",
                       "echo hi from image; test -e /usr && echo has usr; "
                       "echo x > f && test -d /tmp && pwd");
  s.rootfs = root;
  Exit e = Run(s, &out);
  EXPECT_EQ(e.exit_code, 0) << out.Err();
  EXPECT_EQ(out.Out(), "hi from image\n/work\n");
  s.id = "image2";
  s.rootfs = "relative/dir";
  EXPECT_EQ(provider_->Start(s, out.Fn()).status().code(), Code::kInvalidArgument);
}

TEST_F(LocalProviderTest, ExactEnvironment) {
  Output out;
  SandboxSpec s = Spec("env", "env | grep -v '^PWD=' | sort");
  s.env = {{"SECRET_TOKEN", "s3cr3t"}};
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok());
  EXPECT_EQ((*sb)->Wait().exit_code, 0);
  EXPECT_EQ(out.Out(), "HOME=/work\nPATH=/usr/local/bin:/usr/bin:/bin\nSECRET_TOKEN=s3cr3t\n");
}

TEST_F(LocalProviderTest, BadSpecs) {
  Output out;
  SandboxSpec s = Spec("bad", "true");
  s.files = {{"../x", "no"}};
  EXPECT_EQ(provider_->Start(s, out.Fn()).status().code(), Code::kInvalidArgument);
  s.files = {{"/etc/x", "no"}};
  EXPECT_EQ(provider_->Start(s, out.Fn()).status().code(), Code::kInvalidArgument);
  s = Spec("Bad_Id", "true");
  EXPECT_EQ(provider_->Start(s, out.Fn()).status().code(), Code::kInvalidArgument);
}

TEST_F(LocalProviderTest, Limits) {
  struct Case {
    std::string id, command, reason;
    Limits limits;
  };
  Limits base{20000, 10000, int64_t{512} << 20, 64, 1 << 20};
  std::vector<Case> cases = {
      {"pids",
       "python3 -c \"import os, time\nwhile True:\n  try:\n    if os.fork() == 0: "
       "time.sleep(30)\n  except OSError: time.sleep(0.001)\"",
       "pids", base},
      {"memory", "python3 -c \"b=bytearray(2<<30)\"", "memory", base},
      {"cpu", "while :; do :; done", "cpu_time", base},
      {"wall", "sleep 100", "wall_time", base},
      {"output", "yes", "output_bytes", base},
  };
  cases[0].limits.pids = 16;
  cases[1].limits.memory_bytes = 64 << 20;
  cases[2].limits.cpu_ms = 300;
  cases[3].limits.wall_ms = 300;
  cases[4].limits.output_bytes = 10000;
  std::vector<std::thread> threads;
  for (Case& c : cases) {
    threads.emplace_back([&] {
      Output out;
      SandboxSpec s = Spec(c.id, c.command);
      s.limits = c.limits;
      int64_t t0 = MonoMs();
      Exit e = Run(s, &out);
      EXPECT_EQ(e.reason, c.reason) << c.id;
      EXPECT_LT(MonoMs() - t0, 10000) << c.id;
      if (c.id == "output") {
        EXPECT_EQ(out.Out().size(), 10000u);
        EXPECT_EQ(e.usage.output_bytes, 10000);
      }
      if (c.id == "cpu") EXPECT_GE(e.usage.cpu_ms, 300);
      if (c.id == "memory") EXPECT_GE(e.usage.memory_peak_bytes, 64 << 20);
    });
  }
  for (auto& t : threads) t.join();
}

TEST_F(LocalProviderTest, Network) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(ls, 8), 0);
  socklen_t len = sizeof a;
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::string cmd = "python3 -c \"import socket; socket.create_connection(('127.0.0.1', " +
                    std::to_string(ntohs(a.sin_port)) + "), 2); print('connected')\"";
  Output o1, o2;
  Exit off = Run(Spec("net-off", cmd), &o1);
  EXPECT_NE(off.exit_code, 0);
  EXPECT_EQ(o1.Out(), "");
  SandboxSpec s = Spec("net-on", cmd);
  s.network = true;
  Exit on = Run(s, &o2);
  EXPECT_EQ(on.exit_code, 0) << o2.Err();
  EXPECT_EQ(o2.Out(), "connected\n");
  close(ls);
}

TEST_F(LocalProviderTest, Files) {
  Output out;
  SandboxSpec s = Spec("files",
                       "ln -s /etc/passwd esc; ln -s .. up; ln -s sub/in.txt rel; "
                       "mkdir sub; echo inner > sub/in.txt; echo ready; sleep 30");
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  Sandbox& b = **sb;
  for (int i = 0; i < 500 && out.Out().empty(); ++i) usleep(10000);
  ASSERT_EQ(out.Out(), "ready\n");
  ASSERT_TRUE(b.WriteFile("a.txt", "alpha").ok());
  EXPECT_EQ(*b.ReadFile("a.txt"), "alpha");
  ASSERT_TRUE(b.Mkdir("d").ok());
  EXPECT_EQ(b.Mkdir("d").code(), Code::kAlreadyExists);
  ASSERT_TRUE(b.WriteFile("d/b.txt", "bravo!").ok());
  EXPECT_EQ(b.WriteFile("nodir/b.txt", "x").code(), Code::kNotFound);
  auto st = b.StatFile("d/b.txt");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 6);
  EXPECT_FALSE(st->dir);
  EXPECT_TRUE(b.StatFile("d")->dir);
  EXPECT_EQ(*b.ReadFile("rel"), "inner\n");
  auto ls = b.List("");
  ASSERT_TRUE(ls.ok());
  std::string names;
  for (const FileEntry& e : *ls) names += e.name + (e.dir ? "/ " : " ");
  EXPECT_EQ(names, "a.txt d/ esc rel sub/ up ");
  EXPECT_EQ(b.ReadFile("d").status().code(), Code::kIsDirectory);
  EXPECT_EQ(b.ReadFile("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(b.List("a.txt").status().code(), Code::kNotDirectory);
  for (const char* bad : {"../x", "/etc/passwd", "a/../../x", "esc", "up/etc/passwd", "up"}) {
    auto r = b.ReadFile(bad);
    EXPECT_EQ(r.status().code(), Code::kPermissionDenied) << bad;
    EXPECT_EQ(r.status().message(), "path escapes the workdir") << bad;
  }
  EXPECT_EQ(b.WriteFile("esc", "pwned").code(), Code::kPermissionDenied);
  EXPECT_EQ(b.WriteFile("up/x", "pwned").code(), Code::kPermissionDenied);
  EXPECT_EQ(b.List("up").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(b.StatFile("../").status().code(), Code::kPermissionDenied);
  EXPECT_EQ(b.Mkdir("../x").code(), Code::kPermissionDenied);
  EXPECT_EQ(b.Remove("up/tmp").code(), Code::kPermissionDenied);
  EXPECT_EQ(b.WriteFile("big", std::string(kMaxFileBytes + 1, 'x')).code(), Code::kTooLarge);
  EXPECT_EQ(b.Remove("d").code(), Code::kAborted);
  EXPECT_TRUE(b.Remove("d/b.txt").ok());
  EXPECT_TRUE(b.Remove("d").ok());
  EXPECT_TRUE(b.Remove("esc").ok());  // the link itself
  EXPECT_EQ(b.StatFile("d").status().code(), Code::kNotFound);
  b.Stop(true);
  Exit e = b.Wait();
  EXPECT_EQ(e.reason, "killed");
  EXPECT_EQ(b.ReadFile("a.txt").status().code(), Code::kUnavailable);
  EXPECT_EQ(b.ReadFile("a.txt").status().message(), "session ended");
}

TEST_F(LocalProviderTest, Interactive) {
  Output out;
  SandboxSpec s = Spec("inter", "");
  s.interactive = true;
  s.env = {{"FOO", "foo"}};
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  Sandbox& b = **sb;
  ASSERT_TRUE(b.WriteFile("f.txt", "from host\n").ok());
  Output x1, x2;
  auto p1 = b.Exec("echo one $FOO $BAR; pwd; id -u; echo more >> f.txt; cat f.txt",
                   {{"BAR", "bar"}}, x1.Fn());
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  auto p2 = b.Exec("echo two >&2; env | grep -c FOO= >&2; exit 5", {{"FOO", "again"}}, x2.Fn());
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  Exit e1 = (*p1)->Wait();
  Exit e2 = (*p2)->Wait();
  EXPECT_EQ(e1.exit_code, 0);
  EXPECT_EQ(x1.Out(),
            "one foo bar\n/work\n" + std::to_string(config_.uid_base) + "\nfrom host\nmore\n");
  EXPECT_EQ(x1.Err(), "");
  EXPECT_EQ(e2.exit_code, 5);
  EXPECT_EQ(x2.Out(), "");
  EXPECT_EQ(x2.Err(), "two\n1\n");  // FOO once: the exec's value replaces the session's
  EXPECT_EQ(e2.usage.output_bytes, 6);
  // A long exec ends with the session.
  Output x3;
  auto p3 = b.Exec("sleep 100", {}, x3.Fn());
  ASSERT_TRUE(p3.ok());
  b.Stop(false);
  Exit e = b.Wait();
  EXPECT_EQ(e.reason, "stopped");
  EXPECT_EQ((*p3)->Wait().reason, "stopped");
  EXPECT_EQ(b.Exec("true", {}, x3.Fn()).status().code(), Code::kUnavailable);
  EXPECT_EQ(out.Out(), "");
}

TEST_F(LocalProviderTest, InteractiveKilledAndEphemeralExec) {
  Output out;
  SandboxSpec s = Spec("inter2", "echo started");
  s.interactive = true;
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok());
  Output x;
  auto p = (*sb)->Exec("echo hi", {}, x.Fn());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Wait().exit_code, 0);
  EXPECT_EQ(x.Out(), "hi\n");
  auto k = (*sb)->Exec("sleep 100", {}, x.Fn());
  ASSERT_TRUE(k.ok());
  (*k)->Kill();
  Exit ke = (*k)->Wait();
  EXPECT_EQ(ke.reason, "killed");
  EXPECT_EQ(ke.exit_code, 128 + 9);
  (*sb)->Stop(true);
  EXPECT_EQ((*sb)->Wait().reason, "killed");
  EXPECT_EQ(out.Out(), "started\n");
  auto eph = provider_->Start(Spec("eph", "sleep 5"), out.Fn());
  ASSERT_TRUE(eph.ok());
  EXPECT_EQ((*eph)->Exec("true", {}, x.Fn()).status().code(), Code::kUnavailable);
  (*eph)->Stop(false);
  EXPECT_EQ((*eph)->Wait().reason, "stopped");
}

TEST_F(LocalProviderTest, StopGraceThenKill) {
  Output out;
  auto sb = provider_->Start(Spec("stubborn",
                                  "trap '' TERM; echo armed; "
                                  "while :; do sleep 0.05; done"),
                             out.Fn());
  ASSERT_TRUE(sb.ok());
  for (int i = 0; i < 500 && out.Out().empty(); ++i) usleep(10000);
  Exit e;
  std::thread waiter([&] { e = (*sb)->Wait(); });
  int64_t t0 = MonoMs();
  (*sb)->Stop(false);
  (*sb)->Stop(false);  // idempotent
  waiter.join();
  int64_t took = MonoMs() - t0;
  EXPECT_EQ(e.reason, "stopped");
  EXPECT_GE(took, 1500);  // SIGTERM was ignored: SIGKILL after the grace period
  EXPECT_LT(took, 5000);
}

TEST_F(LocalProviderTest, ExecOutputCountsAgainstTheSession) {
  Output out;
  SandboxSpec s = Spec("exec-out", "");
  s.interactive = true;
  s.limits.output_bytes = 5000;
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok());
  Output x;
  auto p = (*sb)->Exec("yes", {}, x.Fn());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Exit pe = (*p)->Wait();
  EXPECT_EQ(pe.reason, "output_bytes");
  EXPECT_EQ(x.Out().size(), 5000u);
  EXPECT_EQ((*sb)->Wait().reason, "output_bytes");
}

TEST_F(LocalProviderTest, NoFdsLeak) {
  auto count = [] {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
    return n;
  };
  int before = count();
  Output out;
  SandboxSpec s = Spec("fds", "echo x");
  s.interactive = true;
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok());
  Output x;
  auto p = (*sb)->Exec("ls /proc/self/fd | wc -l", {}, x.Fn());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Wait().exit_code, 0);
  ASSERT_TRUE((*sb)->WriteFile("a", "b").ok());
  (*sb)->Stop(true);
  (*sb)->Wait();
  sb = Status::Internal("dropped");
  // The exec sees 0, 1, 2 and the fd ls opens: nothing of the daemon leaks in.
  EXPECT_EQ(out.Out(), "x\n");
  EXPECT_EQ(x.Out(), "4\n");
  EXPECT_EQ(count(), before);
}

TEST_F(LocalProviderTest, NamespaceScanSeesTheSession) {
  Output out;
  SandboxSpec s = Spec("ns-scan", "sleep 30 & sleep 30 & echo up; wait");
  auto sb = provider_->Start(s, out.Fn());
  ASSERT_TRUE(sb.ok());
  for (int i = 0; i < 500 && out.Out().empty(); ++i) usleep(10000);
  // bwrap's outer process is the pool uid's process whose parent is this test; pid 1 is its
  // child.
  std::vector<ProcInfo> procs = ScanProcs();
  pid_t outer = 0, init = 0;
  for (const ProcInfo& p : procs) {
    if (p.uid == config_.uid_base && p.ppid == getpid()) outer = p.pid;
  }
  for (const ProcInfo& p : procs) {
    if (outer != 0 && p.ppid == outer) init = p.pid;
  }
  SessionUsage u;
  int found = init != 0 && ScanNamespace(init, outer, &u) ? 1 : 0;
  (*sb)->Stop(true);
  (*sb)->Wait();
  EXPECT_GE(found, 1);
  EXPECT_EQ(u.count, 5);  // outer bwrap, pid 1, sh, two sleeps
  EXPECT_GT(u.rss_bytes, 0);
}

TEST_F(LocalProviderTest, ReapAfterDaemonKilled) {
  provider_.reset();  // the uid range goes to the "daemon" below (another process)
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t daemon = fork();
  ASSERT_GE(daemon, 0);
  if (daemon == 0) {
    // A "daemon" that starts a sandbox and leaves a straggler of the pool uid behind it.
    LocalProvider p(config_);
    auto sb = p.Start(Spec("victim", "sleep 1000"), nullptr);
    if (!sb.ok()) _exit(1);
    uid_t uid = static_cast<uid_t>(config_.uid_base + 1);
    if (fork() == 0) {
      setsid();
      if (syscall(SYS_setresgid, uid, uid, uid) != 0 || syscall(SYS_setresuid, uid, uid, uid)) {
        _exit(1);
      }
      execl("/bin/sleep", "sleep", "1000", nullptr);
      _exit(1);
    }
    (void)!write(ready[1], "k", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  usleep(50000);
  EXPECT_GT(PoolProcs(), 0);
  kill(daemon, SIGKILL);
  waitpid(daemon, nullptr, 0);
  EXPECT_FALSE(fs::is_empty(config_.run_dir));
  LocalProvider fresh(config_);
  ASSERT_TRUE(fresh.Reap({"victim"}).ok());
  EXPECT_EQ(PoolProcs(), 0);
  EXPECT_TRUE(fs::is_empty(config_.run_dir));
}

TEST_F(LocalProviderTest, NotRootFallsBackToTheDaemonsUid) {
  // A daemon that is not root: a child process takes a uid of its own (outside the pool).
  uid_t uid = static_cast<uid_t>(config_.uid_base + config_.uid_count);
  std::string run = dir_ + "/nonroot";
  fs::create_directories(run);
  ASSERT_EQ(chown(run.c_str(), uid, uid), 0);
  chmod(dir_.c_str(), 0755);
  int res[2];
  ASSERT_EQ(pipe2(res, O_CLOEXEC), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setresgid, uid, uid, uid) != 0 ||
        syscall(SYS_setresuid, uid, uid, uid) != 0) {
      _exit(1);
    }
    LocalConfig c = config_;
    c.run_dir = run;
    LocalProvider p(c);
    std::string report;
    Output out;
    SandboxSpec s = Spec("plain", "echo hi; id -u; sleep 0.1 & echo bg");
    s.interactive = false;
    auto sb = p.Start(s, out.Fn());
    if (!sb.ok()) {
      report = "start: " + sb.status().ToString();
    } else {
      Exit e = (*sb)->Wait();
      report = out.Out() + "exit " + std::to_string(e.exit_code) + "\n";
    }
    SandboxSpec w = Spec("slow", "sleep 100");
    w.limits.wall_ms = 200;
    w.interactive = true;
    auto sw = p.Start(w, out.Fn());
    if (sw.ok()) {
      report += "exec: ";
      report += CodeName((*sw)->Exec("true", {}, out.Fn()).status().code());
      report += "\n" + (*sw)->Wait().reason + "\n";
    }
    sb = Status::Internal("dropped");  // joins the sandbox threads before _exit
    sw = Status::Internal("dropped");
    (void)!write(res[1], report.data(), report.size());
    _exit(0);
  }
  close(res[1]);
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = read(res[0], buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  close(res[0]);
  int st = 0;
  waitpid(child, &st, 0);
  EXPECT_EQ(report, "hi\n" + std::to_string(uid) + "\nbg\nexit 0\nexec: unavailable\nwall_time\n");
  EXPECT_TRUE(fs::is_empty(run));
  for (const ProcInfo& p : ScanProcs()) {
    EXPECT_FALSE(p.uid == uid && !p.zombie) << "left behind: pid " << p.pid;
  }
}

TEST_F(LocalProviderTest, TwentyAtOnce) {
  constexpr int kN = 20;
  std::vector<std::unique_ptr<Sandbox>> boxes;
  std::vector<std::unique_ptr<Output>> outs;
  for (int i = 0; i < kN; ++i) {
    outs.push_back(std::make_unique<Output>());
    auto sb = provider_->Start(
        Spec("many-" + std::to_string(i), "echo " + std::to_string(i) + "; sleep 0.2"),
        outs.back()->Fn());
    ASSERT_TRUE(sb.ok()) << sb.status().ToString();
    boxes.push_back(std::move(*sb));
  }
  for (int i = 0; i < kN; ++i) {
    Exit e = boxes[i]->Wait();
    EXPECT_EQ(e.exit_code, 0);
    EXPECT_EQ(e.reason, "");
    EXPECT_EQ(outs[i]->Out(), std::to_string(i) + "\n");
  }
}

TEST_F(LocalProviderTest, Speed) {
  Output out;
  int64_t t0 = MonoMs();
  auto sb = provider_->Start(Spec("hi", "echo hi"), out.Fn());
  ASSERT_TRUE(sb.ok());
  Exit e = (*sb)->Wait();
  EXPECT_EQ(out.Out(), "hi\n");
  int64_t first = out.first_ms - t0;
  int64_t start = MonoMs();
  constexpr int kN = 20;
  for (int i = 0; i < kN; ++i) {
    Output o;
    Exit e = Run(Spec("t" + std::to_string(i), "true"), &o);
    EXPECT_EQ(e.exit_code, 0) << e.reason << " " << o.Err();
  }
  int64_t ms = std::max<int64_t>(MonoMs() - start, 1);
  // The same, 20 at once.
  int64_t p0 = MonoMs();
  std::vector<std::unique_ptr<Sandbox>> boxes;
  Output po;
  for (int i = 0; i < kN; ++i) {
    auto sb2 = provider_->Start(Spec("p" + std::to_string(i), "true"), po.Fn());
    ASSERT_TRUE(sb2.ok());
    boxes.push_back(std::move(*sb2));
  }
  for (auto& b : boxes) EXPECT_EQ(b->Wait().exit_code, 0);
  int64_t pms = std::max<int64_t>(MonoMs() - p0, 1);
  int64_t s0 = MonoMs();
  size_t procs = 0;
  for (int i = 0; i < 20; ++i) procs = ScanProcs().size();
  int64_t s1 = MonoMs();
  for (int i = 0; i < 20; ++i) {
    (void)ScanProcs({config_.uid_base, config_.uid_base + config_.uid_count});
  }
  std::cout << "/proc scan: " << (s1 - s0) * 1000 / 20 << " us for " << procs
            << " processes, filtered to root and the pool: " << (MonoMs() - s1) * 1000 / 20
            << " us\n";
  std::cout << "echo hi: first output after " << first << " ms, whole run " << e.usage.wall_ms
            << " ms; `true`: " << kN * 1000 / ms << " sandboxes/s one after another, "
            << kN * 1000 / pms << "/s 20 at once\n";
}

TEST_F(LocalProviderTest, AnotherProcessWithTheSameUidsIsRefused) {
  int ready[2], done[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(done, O_CLOEXEC), 0);
  pid_t other = fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    LocalProvider p(config_);  // overlaps the fixture's provider, held by the parent
    auto h = p.Health();
    char c = !h.ok() && h.status().message().find("another agent9 daemon") != std::string::npos &&
                     p.Start(Spec("x", "true"), nullptr).status().code() == Code::kUnavailable &&
                     p.Reap({}).code() == Code::kUnavailable
                 ? 'y'
                 : 'n';
    (void)!write(ready[1], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(done[1]);
  close(done[0]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  waitpid(other, nullptr, 0);
  EXPECT_EQ(c, 'y');
  EXPECT_TRUE(provider_->Health().ok());  // the holder is unaffected
}

TEST_F(LocalProviderTest, Health) {
  auto h = provider_->Health();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  // This machine (cgroup v1 hybrid, as CI) runs rlimits; a delegated cgroup2 runs cgroups.
  auto cg = CgroupTree::Open();
  std::string mechanism = cg.ok() ? "cgroup" : "rlimit";
  EXPECT_EQ(*h, "ok " + mechanism);
  if (!cg.ok()) EXPECT_FALSE(cg.status().message().empty());
  LocalConfig c = config_;
  c.bwrap = "/nonexistent/bwrap";
  LocalProvider missing(c);
  auto m = missing.Health();
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("bwrap"), std::string::npos);
  Output out;
  EXPECT_EQ(missing.Start(Spec("x", "true"), out.Fn()).status().code(), Code::kUnavailable);
  EXPECT_EQ(provider_->Info()["limits"], mechanism);
  c.bwrap = "/bin/false";  // there, but starts nothing
  LocalProvider broken(c);
  auto b = broken.Health();
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("bwrap cannot start a sandbox"), std::string::npos);
}

}  // namespace
}  // namespace agent9::containers
