// The Daytona provider against FakeDaytona (tests/fakes/fake_daytona.h): a real HTTP server on
// loopback with Daytona's wire format, where commands really run. Sessions, slow starts,
// errors (with the key kept out of messages), limits, exec, files, reap, health and Nostr
// auth.
#include "containers/daytona_provider.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>

#include "identity/event.h"
#include "identity/secp256k1.h"
#include "identity/sodium.h"
#include "tests/fakes/fake_daytona.h"

namespace agent9::containers {
namespace {

using agent9::testing::FakeDaytona;
using agent9::testing::FakeDaytonaOptions;

constexpr char kKey[] = "dtn_test_key_0123456789";

int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Collects a sandbox's output.
struct Output {
  std::mutex mu;
  std::string all;
  OutputFn Fn() {
    return [this](std::string_view, std::string_view data) {
      std::lock_guard<std::mutex> lock(mu);
      all.append(data);
    };
  }
  std::string Get() {
    std::lock_guard<std::mutex> lock(mu);
    return all;
  }
};

SandboxSpec Spec(const std::string& id, const std::string& command) {
  SandboxSpec s;
  s.id = id;
  s.command = command;
  s.limits = {20'000, 20'000, 1 << 30, 64, 1 << 20};
  return s;
}

int64_t MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

class DaytonaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(identity::InitSodium().ok());
    FakeDaytonaOptions opts;
    opts.api_key = kKey;
    fake_ = std::make_unique<FakeDaytona>(opts);
  }

  RemoteConfig Config() const {
    RemoteConfig c;
    c.id = "daytona";
    c.base_url = fake_->url();
    c.default_image = "daytona-small";
    c.poll_ms = 20;
    c.start_timeout_ms = 10'000;
    return c;
  }
  std::unique_ptr<DaytonaProvider> Provider(RemoteConfig c, std::string key = kKey) {
    return std::make_unique<DaytonaProvider>(std::move(c),
                                             [key]() -> Result<std::string> { return key; });
  }
  std::unique_ptr<DaytonaProvider> Provider() { return Provider(Config()); }

  std::unique_ptr<FakeDaytona> fake_;
};

TEST_F(DaytonaTest, RunsCommandWithOutputExitCodeEnvAndFiles) {
  auto p = Provider();
  Output out;
  SandboxSpec spec = Spec("s-run", "cat a.txt sub/b.txt; echo \"$FOO\"; echo err >&2; exit 3");
  spec.env = {{"FOO", "it's here"}};
  spec.files = {{"a.txt", "A\n"}, {"sub/b.txt", "B\n"}};
  auto sb = p->Start(spec, out.Fn());
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  Exit e = (*sb)->Wait();
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_EQ(e.reason, "");
  EXPECT_EQ(out.Get(), "A\nB\nit's here\nerr\n");
  EXPECT_EQ(e.usage.output_bytes, static_cast<int64_t>(out.Get().size()));
  EXPECT_GT(e.usage.wall_ms, 0);
  EXPECT_EQ(e.usage.cpu_ms, 0);
  // The sandbox is gone by the time Wait returns.
  EXPECT_EQ(fake_->LiveSandboxes(), 0);
  EXPECT_EQ(fake_->CreatedSandboxes(), 1);
  nlohmann::json body = fake_->LastCreateBody();
  EXPECT_EQ(body["snapshot"], "daytona-small");
  EXPECT_EQ(body["labels"]["agent9-session"], "s-run");
  EXPECT_EQ(body["env"]["FOO"], "it's here");
  EXPECT_EQ(body["networkBlockAll"], true);
  EXPECT_GE(body["autoStopInterval"].get<int>(), 1);
}

TEST_F(DaytonaTest, SlowStartIsWaitedFor) {
  fake_->SetStartDelayMs(600);
  auto p = Provider();
  Output out;
  auto t0 = std::chrono::steady_clock::now();
  auto sb = p->Start(Spec("s-slow", "echo up"), out.Fn());
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  EXPECT_GE(MsSince(t0), 550);
  EXPECT_GE(fake_->Requests("GET /sandbox/id"), 2);
  Exit e = (*sb)->Wait();
  EXPECT_EQ(e.exit_code, 0);
  EXPECT_EQ(out.Get(), "up\n");
}

TEST_F(DaytonaTest, StartTimeoutDeletesTheSandbox) {
  fake_->SetStartDelayMs(60'000);
  RemoteConfig c = Config();
  c.start_timeout_ms = 300;
  auto p = Provider(c);
  auto sb = p->Start(Spec("s-late", "true"), nullptr);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), Code::kUnavailable);
  EXPECT_NE(sb.status().message().find("not started after 300 ms"), std::string::npos)
      << sb.status().message();
  EXPECT_EQ(fake_->LiveSandboxes(), 0);
}

TEST_F(DaytonaTest, ErrorStatesFailWithTheServersReason) {
  fake_->FailStart("error", "no runner with enough disk");
  auto p = Provider();
  auto sb = p->Start(Spec("s-err", "true"), nullptr);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), Code::kUnavailable);
  EXPECT_NE(sb.status().message().find("no runner with enough disk"), std::string::npos);
  fake_->FailStart("build_failed", "snapshot not found");
  sb = p->Start(Spec("s-build", "true"), nullptr);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), Code::kInvalidArgument);
  EXPECT_NE(sb.status().message().find("build_failed: snapshot not found"), std::string::npos);
  EXPECT_EQ(fake_->LiveSandboxes(), 0);
}

TEST_F(DaytonaTest, ServerErrorOnCreate) {
  fake_->FailCreate(500, "runner pool exhausted");
  auto p = Provider();
  auto sb = p->Start(Spec("s-500", "true"), nullptr);
  ASSERT_FALSE(sb.ok());
  EXPECT_EQ(sb.status().code(), Code::kUnavailable);
  EXPECT_NE(sb.status().message().find("HTTP 500: runner pool exhausted"), std::string::npos)
      << sb.status().message();
}

TEST_F(DaytonaTest, WrongKeyIsHttp401WithoutTheKey) {
  fake_->EchoTokenInErrors(true);
  const std::string wrong = "dtn_wrong_key_987654321";
  auto p = Provider(Config(), wrong);
  auto sb = p->Start(Spec("s-401", "true"), nullptr);
  ASSERT_FALSE(sb.ok());
  EXPECT_NE(sb.status().message().find("HTTP 401"), std::string::npos) << sb.status().message();
  EXPECT_EQ(sb.status().message().find(wrong), std::string::npos) << sb.status().message();
  EXPECT_NE(sb.status().message().find("[redacted]"), std::string::npos);
  auto h = p->Health();
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("HTTP 401"), std::string::npos);
  EXPECT_EQ(h.status().message().find(wrong), std::string::npos);
}

TEST_F(DaytonaTest, WallTimeEndsTheCommand) {
  auto p = Provider();
  SandboxSpec spec = Spec("s-wall", "echo before; sleep 30");
  spec.limits.wall_ms = 1200;
  auto t0 = std::chrono::steady_clock::now();
  auto sb = p->Start(spec, nullptr);
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  Exit e = (*sb)->Wait();
  EXPECT_EQ(e.reason, "wall_time");
  EXPECT_LT(MsSince(t0), 10'000);
  EXPECT_EQ(fake_->LiveSandboxes(), 0);
}

TEST_F(DaytonaTest, OutputLimitCutsTheOutput) {
  auto p = Provider();
  Output out;
  SandboxSpec spec = Spec("s-out", "printf 0123456789");
  spec.limits.output_bytes = 4;
  auto sb = p->Start(spec, out.Fn());
  ASSERT_TRUE(sb.ok());
  Exit e = (*sb)->Wait();
  EXPECT_EQ(e.reason, "output_bytes");
  EXPECT_EQ(out.Get(), "0123");
}

TEST_F(DaytonaTest, StopDeletesAtOnce) {
  auto p = Provider();
  auto sb = p->Start(Spec("s-stop", "sleep 30"), nullptr);
  ASSERT_TRUE(sb.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto t0 = std::chrono::steady_clock::now();
  (*sb)->Stop(true);
  (*sb)->Stop(false);  // idempotent
  Exit e = (*sb)->Wait();
  EXPECT_EQ(e.reason, "killed");
  EXPECT_LT(MsSince(t0), 5'000);
  EXPECT_EQ(fake_->LiveSandboxes(), 0);
}

TEST_F(DaytonaTest, InteractiveExecAndFiles) {
  auto p = Provider();
  SandboxSpec spec = Spec("s-int", "");
  spec.interactive = true;
  auto started = p->Start(spec, nullptr);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  Sandbox& sb = **started;

  Output out;
  auto proc = sb.Exec("echo \"$X\"; pwd; exit 5", {{"X", "a b"}}, out.Fn());
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  Exit pe = (*proc)->Wait();
  EXPECT_EQ(pe.exit_code, 5);
  EXPECT_EQ(pe.reason, "");
  EXPECT_EQ(out.Get().substr(0, 4), "a b\n");
  EXPECT_NE(out.Get().find("/work\n"), std::string::npos) << out.Get();

  ASSERT_TRUE(sb.WriteFile("f.txt", "data").ok());
  auto read = sb.ReadFile("./f.txt");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "data");
  ASSERT_TRUE(sb.Mkdir("d").ok());
  ASSERT_TRUE(sb.WriteFile("d/g", "x").ok());
  auto list = sb.List("");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "d");
  EXPECT_TRUE((*list)[0].dir);
  EXPECT_EQ((*list)[1].name, "f.txt");
  EXPECT_EQ((*list)[1].size, 4);
  EXPECT_GT((*list)[1].mtime_ms, 0);
  auto st = sb.StatFile("d/g");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 1);
  // A file written through files/ is seen by a command, and the other way round.
  auto proc2 = sb.Exec("cat d/g > h; echo ok", {}, nullptr);
  ASSERT_TRUE(proc2.ok());
  EXPECT_EQ((*proc2)->Wait().exit_code, 0);
  EXPECT_EQ(*sb.ReadFile("h"), "x");

  EXPECT_EQ(sb.ReadFile("d").status().code(), Code::kIsDirectory);
  EXPECT_EQ(sb.List("f.txt").status().code(), Code::kNotDirectory);
  EXPECT_EQ(sb.ReadFile("nope").status().code(), Code::kNotFound);
  for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "d/.."}) {
    Status s = sb.ReadFile(bad).status();
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << bad;
    EXPECT_EQ(s.message(), "path escapes the workdir") << bad;
    EXPECT_EQ(sb.WriteFile(bad, "x").code(), Code::kPermissionDenied) << bad;
  }
  EXPECT_EQ(sb.WriteFile("nodir/x", "x").code(), Code::kNotFound);
  EXPECT_EQ(sb.WriteFile("h/x", "x").code(), Code::kNotDirectory);
  std::string big(static_cast<size_t>(kMaxFileBytes) + 1, 'x');
  EXPECT_EQ(sb.WriteFile("big", big).code(), Code::kTooLarge);
  ASSERT_TRUE(sb.Remove("d/g").ok());
  ASSERT_TRUE(sb.Remove("f.txt").ok());
  EXPECT_EQ(sb.ReadFile("f.txt").status().code(), Code::kNotFound);

  sb.Stop(false);
  Exit e = sb.Wait();
  EXPECT_EQ(e.reason, "stopped");
  EXPECT_EQ(fake_->LiveSandboxes(), 0);
  EXPECT_EQ(sb.Exec("true", {}, nullptr).status().code(), Code::kUnavailable);
  EXPECT_EQ(sb.ReadFile("h").status().code(), Code::kUnavailable);
}

TEST_F(DaytonaTest, StopEndsARunningExec) {
  auto p = Provider();
  SandboxSpec spec = Spec("s-exec-stop", "");
  spec.interactive = true;
  auto sb = p->Start(spec, nullptr);
  ASSERT_TRUE(sb.ok());
  auto proc = (*sb)->Exec("sleep 30", {}, nullptr);
  ASSERT_TRUE(proc.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*sb)->Stop(false);
  EXPECT_EQ((*proc)->Wait().reason, "stopped");
  EXPECT_EQ((*sb)->Wait().reason, "stopped");
}

TEST_F(DaytonaTest, ReapDeletesLeftovers) {
  fake_->Plant({{"agent9-session", "old-1"}});
  fake_->Plant({{"agent9-session", "old-2"}});
  fake_->Plant({{"agent9-session", "old-1"}});
  fake_->Plant({{"agent9-session", "someone-else"}});
  auto p = Provider();
  ASSERT_TRUE(p->Reap({"old-1", "old-2"}).ok());
  EXPECT_EQ(fake_->LiveSandboxes(), 1);
}

TEST_F(DaytonaTest, Health) {
  EXPECT_EQ(*Provider()->Health(), "ok");

  RemoteConfig none = Config();
  none.base_url = "";
  auto h = Provider(none)->Health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Code::kUnavailable);
  EXPECT_EQ(h.status().message(), "not configured");

  h = Provider(Config(), "")->Health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message().rfind("not configured", 0), 0u) << h.status().message();

  RemoteConfig closed = Config();
  closed.base_url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  h = Provider(closed)->Health();
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("connection refused"), std::string::npos)
      << h.status().message();
  auto sb = Provider(closed)->Start(Spec("s-down", "true"), nullptr);
  EXPECT_EQ(sb.status().code(), Code::kUnavailable);
}

TEST_F(DaytonaTest, InfoHasNothingSecret) {
  Json info = Provider()->Info();
  EXPECT_EQ(info["id"], "daytona");
  EXPECT_EQ(info["type"], "daytona");
  EXPECT_EQ(DumpJson(info).find(kKey), std::string::npos);
}

class DaytonaNostrTest : public DaytonaTest {
 protected:
  Json Signed(const identity::SecretBytes& sk, const std::string& challenge, const std::string& u) {
    Json tags = Json::array({Json::array({"challenge", challenge}), Json::array({"u", u})});
    auto ev = identity::SignEvent(sk, 22242, tags, "", 1'700'000'000);
    EXPECT_TRUE(ev.ok());
    return identity::EventToJson(*ev);
  }
};

TEST_F(DaytonaNostrTest, RoundTrip) {
  RemoteConfig c = Config();
  c.nostr_auth = true;
  auto p = Provider(c);
  ASSERT_TRUE(p->AcceptsNostrAuth());
  auto challenge = p->AuthChallenge();
  ASSERT_TRUE(challenge.ok()) << challenge.status().ToString();
  EXPECT_EQ(challenge->size(), 64u);
  auto sk = identity::NewSecretKey();
  ASSERT_TRUE(sk.ok());
  Json ev = Signed(*sk, *challenge, c.base_url);
  auto r = p->AuthSubmit(ev);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["ok"], true);
  EXPECT_EQ((*r)["pubkey"], ev["pubkey"]);
  // A challenge is good once.
  r = p->AuthSubmit(ev);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
}

TEST_F(DaytonaNostrTest, BadSignatureAndWrongChallengeRefused) {
  RemoteConfig c = Config();
  c.nostr_auth = true;
  auto p = Provider(c);
  auto sk = identity::NewSecretKey();
  ASSERT_TRUE(sk.ok());
  auto challenge = p->AuthChallenge();
  ASSERT_TRUE(challenge.ok());
  Json ev = Signed(*sk, *challenge, c.base_url);
  std::string sig = ev["sig"];
  sig[10] = sig[10] == '0' ? '1' : '0';
  ev["sig"] = sig;
  auto r = p->AuthSubmit(ev);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  EXPECT_NE(r.status().message().find("signature"), std::string::npos) << r.status().message();

  r = p->AuthSubmit(Signed(*sk, std::string(64, 'a'), c.base_url));
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
  r = p->AuthSubmit(Signed(*sk, *challenge, "http://elsewhere"));
  EXPECT_EQ(r.status().code(), Code::kUnauthenticated);
}

TEST_F(DaytonaNostrTest, OffUnlessConfigured) {
  auto p = Provider();
  EXPECT_FALSE(p->AcceptsNostrAuth());
  EXPECT_EQ(p->AuthChallenge().status().code(), Code::kUnimplemented);
}

}  // namespace
}  // namespace agent9::containers
