// SessionService over the real local (bubblewrap) provider, a real SQLite store and the shared
// budget ledger: requests, policy refusals, budgets, queueing, stop and kill, interactive
// execs and files, the `run` action, and what a restart leaves.
#include "containers/session_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "compute/ledger.h"
#include "containers/local_provider.h"
#include "containers/session_service_internal.h"
#include "tests/unit/compute/compute_fixture.h"
#include "tests/unit/testing/agent_store.h"

namespace agent9::containers {
namespace {

bool CanSandbox() { return geteuid() == 0 && access("/usr/bin/bwrap", X_OK) == 0; }

class SessionServiceTest : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    if (!CanSandbox()) GTEST_SKIP() << "needs root and bubblewrap";
    AgentStoreFixture::SetUp();
    ASSERT_TRUE(SessionService::Migrate(*db_).ok());
    ASSERT_TRUE(agents_->Create("a", AgentConfig{}).ok());
    ASSERT_TRUE(agents_->Create("b", AgentConfig{}).ok());
    run_dir_ = dir_.File("run");
    std::filesystem::create_directories(run_dir_);
    StartService();
  }
  void TearDown() override {
    service_.reset();
    if (!run_dir_.empty()) {
      std::error_code ec;
      EXPECT_TRUE(std::filesystem::is_empty(run_dir_, ec)) << "leftover session dirs";
    }
  }
  void StartService() {
    LocalConfig lc;
    lc.run_dir = run_dir_;
    // A uid range of this process's own (a daemon on the machine may hold the default one).
    lc.uid_base = 2100000000 + static_cast<int64_t>(getpid() % 100000) * 64;
    lc.uid_count = 64;
    std::vector<std::unique_ptr<SandboxProvider>> providers;
    providers.push_back(std::make_unique<LocalProvider>(lc));
    service_ = std::make_unique<SessionService>(db_.get(), &clock_, &host_, std::move(providers));
    ASSERT_TRUE(service_->Start().ok());
  }
  std::string Submit(std::string_view agent, const Json& req) {
    auto r = service_->Submit(agent, req.dump());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["session_id"].get<std::string>() : "";
  }
  Json WaitEnd(std::string_view agent, const std::string& id, int timeout_ms = 20'000) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      auto s = service_->SessionStatus(agent, id);
      if (s.ok() && IsFinal((*s)["state"].get<std::string>())) return *s;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "session " << id << " did not end";
    return Json();
  }
  Json WaitState(std::string_view agent, const std::string& id, std::string_view state) {
    for (int waited = 0; waited < 20'000; waited += 5) {
      auto s = service_->SessionStatus(agent, id);
      if (s.ok() && (*s)["state"] == state) return *s;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ADD_FAILURE() << "session " << id << " never " << state;
    return Json();
  }
  void SetPolicy(std::string_view agent, const Json& j) {
    auto p = ContainerPolicy::FromJson(j);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    ASSERT_TRUE(service_->SetPolicy(agent, *p).ok());
  }
  void SetDayLimit(std::string_view agent, int64_t limit) {
    compute::BudgetPolicy b;
    b.max_cost_usd_per_day = limit;
    ASSERT_TRUE(
        db_->Write([&](Conn& c) { return compute::Ledger::SetPolicy(c, agent, b, 0); }).ok());
  }
  Json Day(std::string_view agent) {
    auto u = service_->Usage(agent);
    EXPECT_TRUE(u.ok());
    return u.ok() ? (*u)["day"] : Json();
  }
  std::string ReadAll(std::shared_ptr<Stream> s) {
    std::string out;
    uint64_t pos = 0;
    std::string buf(4096, '\0');
    for (;;) {
      auto n = s->Read(&pos, std::as_writable_bytes(std::span(buf)), 20'000, nullptr);
      if (!n.ok() || *n == 0) break;
      out.append(buf.data(), *n);
    }
    return out;
  }

  std::string run_dir_;
  compute::RecordingHost host_;
  std::unique_ptr<SessionService> service_;
};

TEST_F(SessionServiceTest, RunsACommandAndReportsItsOutputResultAndEvent) {
  SetPolicy("a", {{"usd_per_wall_second", 1000}, {"usd_per_cpu_second", 1000}});
  std::string id = Submit("a", {{"command", "echo hi; echo err >&2; exit 3"}, {"tag", "t1"}});
  auto out = service_->SessionOutput("a", id);
  ASSERT_TRUE(out.ok());
  std::string text = ReadAll(*out);
  EXPECT_NE(text.find(R"({"data":"hi\n","stream":"stdout"})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("stream":"stderr")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"({"end":)"), std::string::npos) << text;
  Json st = WaitEnd("a", id);
  EXPECT_EQ(st["state"], "exited");
  EXPECT_EQ(st["exit_code"], 3);
  EXPECT_EQ(*service_->SessionText("a", id, "stdout"), "hi\n");
  EXPECT_EQ(*service_->SessionText("a", id, "stderr"), "err\n");
  auto res = service_->SessionResult("a", id);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ((*res)["stdout_tail"], "hi\n");
  EXPECT_GT((*res)["usage"]["wall_ms"].get<int64_t>(), 0);
  Json day = Day("a");
  EXPECT_EQ(day["reserved_usd"], 0);
  EXPECT_GT(day["spent_usd"].get<int64_t>(), 0);
  EXPECT_EQ(day["spent_usd"], (*res)["cost_usd"]);
  auto events = host_.Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].second["type"], "containers.session");
  EXPECT_EQ(events[0].second["exit_code"], 3);
  EXPECT_EQ(events[0].second["stdout_tail"], "hi\n");
  EXPECT_EQ(events[0].second["tag"], "t1");
  // A finished session's output is read back from the store, whole.
  EXPECT_EQ(ReadAll(*service_->SessionOutput("a", id)), text);
}

TEST_F(SessionServiceTest, CommandsRunInOrderAndStopAtTheFirstFailure) {
  std::string id = Submit("a", {{"commands", {"echo one", "false", "echo three"}}});
  Json st = WaitEnd("a", id);
  EXPECT_EQ(st["exit_code"], 1);
  EXPECT_EQ(*service_->SessionText("a", id, "stdout"), "one\n");
}

TEST_F(SessionServiceTest, FilesEnvAndWorkdirReachTheCommand) {
  std::string id = Submit("a", {{"command", "cat in/x.txt; echo $GREETING; pwd"},
                                {"files", {{"in/x.txt", "from a file\n"}}},
                                {"env", {{"GREETING", "hello"}}},
                                {"workdir", "/work/sub"}});
  // The workdir is /work/sub; files are relative to /work.
  WaitEnd("a", id);
  std::string out = *service_->SessionText("a", id, "stdout");
  EXPECT_NE(out.find("hello\n/work/sub\n"), std::string::npos) << out;
  id = Submit("a", {{"command", "cat in/x.txt"}, {"files", {{"in/x.txt", "from a file\n"}}}});
  WaitEnd("a", id);
  EXPECT_EQ(*service_->SessionText("a", id, "stdout"), "from a file\n");
}

TEST_F(SessionServiceTest, BadRequestsNameTheField) {
  auto bad = [&](const std::string& req, std::string_view field) {
    auto r = service_->Submit("a", req);
    ASSERT_FALSE(r.ok()) << req;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().ToString();
  };
  bad(R"({"command":"true","colour":"red"})", "colour");
  bad(R"({"kind":"weird","command":"true"})", "kind");
  bad(R"({"kind":"ephemeral"})", "command");
  bad(R"({"command":"true","limits":{"wall_ms":-1}})", "limits.wall_ms");
  bad(R"({"command":"true","limits":{"rss":1}})", "limits.rss");
  bad(R"({"command":"true","files":{"../x":"y"}})", "files.../x");
  bad(R"({"command":"true","files":{"/etc/x":"y"}})", "files./etc/x");
  bad(R"({"command":"true","env":{"1X":"y"}})", "env.1X");
  bad(R"({"command":"true","workdir":"/etc"})", "workdir");
  bad(R"({"command":"true","network":"yes"})", "network");
  bad(R"({"command":"true","provider":"nope"})", "provider");
  bad(R"({"command":"true","image":"nope"})", "image");
  bad(R"({"command":"","kind":"ephemeral"})", "command");
  bad("[1,2]", "object");
  bad("{not json", "JSON");
  EXPECT_TRUE(service_->ListSessions("a")->empty());
}

TEST_F(SessionServiceTest, PolicyRefusalsNameTheRule) {
  auto r = service_->Submit("a", R"({"command":"true","network":true})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_NE(r.status().message().find("network"), std::string::npos);
  SetPolicy("a", {{"max_wall_ms", 1000}, {"max_memory_bytes", 64 << 20}});
  r = service_->Submit("a", R"({"command":"true","limits":{"wall_ms":5000}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max_wall_ms"), std::string::npos);
  r = service_->Submit("a", R"({"command":"true","limits":{"memory_bytes":134217728}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max_memory_bytes"), std::string::npos);
  EXPECT_TRUE(service_->ListSessions("a")->empty());
}

TEST_F(SessionServiceTest, ABudgetThatCannotCoverTheSessionRefusesItBeforeItStarts) {
  SetPolicy("a", {{"usd_per_wall_second", 100}});
  SetDayLimit("a", 500);
  // 60 s default wall time at 100/s = 6000 > 500.
  auto r = service_->Submit("a", R"({"command":"true"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBudgetExceeded);
  ASSERT_EQ(r.status().fields().size(), 1u);
  EXPECT_EQ(r.status().fields()[0].first, "remaining_usd");
  EXPECT_EQ(r.status().fields()[0].second, 500);
  EXPECT_TRUE(service_->ListSessions("a")->empty());
  // max_cost_usd shrinks the session's time to what it may spend: then it fits.
  std::string id = Submit("a", {{"command", "echo ok"}, {"max_cost_usd", 400}});
  Json st = WaitEnd("a", id);
  EXPECT_EQ(st["state"], "exited");
  Json day = Day("a");
  EXPECT_EQ(day["reserved_usd"], 0);
  EXPECT_LE(day["spent_usd"].get<int64_t>(), 400);
}

TEST_F(SessionServiceTest, ConcurrentSubmitsNeverOverspendTheBudget) {
  SetPolicy("a", {{"usd_per_wall_second", 1000}, {"max_concurrent", 64}, {"max_queued", 1000}});
  SetDayLimit("a", 10'000);
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&] {
      // Each reserves 1000 (1 s of wall time at 1000/s) and spends all of it (its wall time
      // ends it), so a session that ends during the race frees nothing for the others.
      auto r = service_->Submit("a", R"({"command":"sleep 30","limits":{"wall_ms":1000}})");
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == Code::kBudgetExceeded) {
        ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 10);
  EXPECT_EQ(refused.load(), 30);
  auto sessions = service_->ListSessions("a");
  ASSERT_TRUE(sessions.ok());
  for (const auto& e : *sessions) WaitEnd("a", e.name);
  Json day = Day("a");
  EXPECT_EQ(day["reserved_usd"], 0);
  EXPECT_LE(day["spent_usd"].get<int64_t>(), 10'000);
}

TEST_F(SessionServiceTest, PastMaxConcurrentSessionsQueueAndPastMaxQueuedTheyAreRefused) {
  SetPolicy("a", {{"max_concurrent", 2}, {"max_queued", 3}});
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Submit("a", {{"command", "sleep 0.3"}}));
  auto r = service_->Submit("a", R"({"command":"true"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
  int64_t max_running = 0;
  for (int i = 0; i < 400; ++i) {
    Json s = (*service_->Usage("a"))["sessions"];
    max_running = std::max<int64_t>(max_running, s["running"].get<int64_t>());
    if (s["running"] == 0 && s["pending"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(max_running, 2);
  for (const auto& id : ids) EXPECT_EQ(WaitEnd("a", id)["state"], "exited");
  // Another agent's slots are its own.
  EXPECT_EQ(WaitEnd("b", Submit("b", {{"command", "true"}}))["state"], "exited");
}

TEST_F(SessionServiceTest, StopAndKillEndSessionsAndReleaseTheirMoney) {
  SetPolicy("a", {{"usd_per_wall_second", 1000}, {"max_concurrent", 1}});
  std::string running = Submit("a", {{"command", "sleep 100"}});
  std::string pending = Submit("a", {{"command", "sleep 100"}});
  WaitState("a", running, "running");
  EXPECT_EQ((*service_->SessionStatus("a", pending))["state"], "pending");
  ASSERT_TRUE(service_->StopSession("a", pending, false).ok());
  EXPECT_EQ(WaitEnd("a", pending)["state"], "stopped");
  ASSERT_TRUE(service_->StopSession("a", running, true).ok());
  Json st = WaitEnd("a", running);
  EXPECT_EQ(st["state"], "stopped");
  EXPECT_EQ(st["reason"], "killed");
  EXPECT_EQ(service_->StopSession("a", running, false).code(), Code::kAborted);
  std::string third = Submit("a", {{"command", "sleep 100"}});
  WaitState("a", third, "running");
  ASSERT_TRUE(service_->StopSession("a", third, false).ok());
  EXPECT_EQ(WaitEnd("a", third)["reason"], "stopped");
  Json day = Day("a");
  EXPECT_EQ(day["reserved_usd"], 0);
  EXPECT_GT(day["spent_usd"].get<int64_t>(), 0);  // the time they ran
}

TEST_F(SessionServiceTest, InteractiveSessionsTakeExecsAndServeTheirFiles) {
  std::string id = Submit("a", {{"kind", "interactive"}, {"files", {{"a.txt", "one\n"}}}});
  WaitState("a", id, "running");
  auto sb = service_->LiveSandbox("a", id);
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  ASSERT_TRUE((*sb)->WriteFile("b.txt", "two\n").ok());
  auto ex = service_->Exec("a", id, R"({"command":"cat a.txt b.txt; exit 4"})");
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  std::string eid = (*ex)["exec_id"];
  std::string out = ReadAll(*service_->ExecOutput("a", id, eid));
  // Both files' bytes, on stdout (cat may write them in one chunk or two).
  EXPECT_NE(out.find(R"(one\n)"), std::string::npos) << out;
  EXPECT_NE(out.find(R"(two\n)"), std::string::npos) << out;
  EXPECT_EQ(out.find(R"("stream":"stderr")"), std::string::npos) << out;
  auto res = service_->ExecResult("a", id, eid);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ((*res)["exit_code"], 4);
  EXPECT_EQ(service_->ListExecs("a", id)->size(), 1u);
  EXPECT_EQ(service_->Exec("a", id, R"({"cmd":"x"})").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(service_->StopSession("a", id, false).ok());
  EXPECT_EQ(WaitEnd("a", id)["state"], "stopped");
  // Ended: no files, no execs; the exec's record stays.
  EXPECT_EQ(service_->LiveSandbox("a", id).status().code(), Code::kUnavailable);
  EXPECT_EQ(service_->Exec("a", id, R"({"command":"true"})").status().code(), Code::kUnavailable);
  EXPECT_EQ((*service_->ExecResult("a", id, eid))["exit_code"], 4);
  // An ephemeral session takes no exec.
  std::string eph = Submit("a", {{"command", "sleep 5"}});
  WaitState("a", eph, "running");
  EXPECT_EQ(service_->Exec("a", eph, R"({"command":"true"})").status().code(),
            Code::kInvalidArgument);
  ASSERT_TRUE(service_->StopSession("a", eph, true).ok());
  WaitEnd("a", eph);
}

TEST_F(SessionServiceTest, TheRunActionStartsSessionsWithTheTickAndWakesTheAgent) {
  Json action = Json::array({{{"command", "echo from-tick"}, {"tag", {{"n", 1}}}},
                             {{"command", "true"}, {"network", true}, {"tag", "refused"}}});
  ASSERT_TRUE(service_->CheckAction(action).ok());
  EXPECT_FALSE(service_->CheckAction(Json{{"command", "true"}, {"bogus", 1}}).ok());
  ASSERT_TRUE(db_->Write([&](Conn& c) { return service_->Act(c, "a", 1, 0, action); }).ok());
  service_->Acted();
  for (int i = 0; i < 2000 && host_.Events().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto events = host_.Events();
  ASSERT_EQ(events.size(), 2u);
  Json refused = events[0].second["tag"] == "refused" ? events[0].second : events[1].second;
  Json ran = events[0].second["tag"] == "refused" ? events[1].second : events[0].second;
  EXPECT_EQ(refused["state"], "failed");
  EXPECT_NE(refused["reason"].get<std::string>().find("network"), std::string::npos);
  EXPECT_EQ(ran["state"], "exited");
  EXPECT_EQ(ran["exit_code"], 0);
  EXPECT_EQ(ran["stdout_tail"], "from-tick\n");
  EXPECT_EQ(ran["tag"]["n"], 1);
}

TEST_F(SessionServiceTest, AStopOfTheDaemonEndsRunningSessionsInterruptedAndKeepsPendingOnes) {
  SetPolicy("a", {{"usd_per_wall_second", 1000}, {"max_concurrent", 1}});
  std::string running = Submit("a", {{"command", "sleep 100"}});
  std::string pending = Submit("a", {{"command", "echo later"}});
  WaitState("a", running, "running");
  service_.reset();  // the daemon stops
  StartService();
  Json st = WaitEnd("a", running);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["reason"], "interrupted");
  EXPECT_EQ(WaitEnd("a", pending)["state"], "exited");
  EXPECT_EQ(*service_->SessionText("a", pending, "stdout"), "later\n");
  EXPECT_EQ(Day("a")["reserved_usd"], 0);
}

TEST_F(SessionServiceTest, ARunningRowLeftByACrashEndsInterruptedAtTheNextStart) {
  std::string id = Submit("a", {{"command", "sleep 100"}});
  WaitState("a", id, "running");
  service_.reset();
  // What a kill -9 leaves: the row still running, its hold still reserved.
  ASSERT_TRUE(db_->Write([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * u, c.Prepare("UPDATE container_sessions SET state='running', "
                                           "ended_at=NULL, notified=1 WHERE id=?"));
                   u->Bind(1, id);
                   return u->Run();
                 })
                  .ok());
  StartService();
  Json st = WaitEnd("a", id);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_EQ(st["reason"], "interrupted");
  EXPECT_EQ(Day("a")["reserved_usd"], 0);
}

TEST(SessionRequestTest, HostileRequestsAreRefusedCleanly) {
  const char* cases[] = {"",
                         "null",
                         "\"x\"",
                         "{",
                         "{}",
                         R"({"command":1})",
                         R"({"commands":[]})",
                         R"({"commands":"x"})",
                         R"({"command":"a","commands":["b"]})",
                         R"({"command":"a","files":{"a/../../b":"x"}})",
                         R"({"command":"a","files":{"a//b":"x"}})",
                         R"({"command":"a","files":{"./a":"x"}})",
                         R"({"command":"a","files":{"a":1}})",
                         R"({"command":"a","limits":{"memory_bytes":1}})",
                         R"({"command":"a","limits":[]})",
                         R"({"command":"a","max_cost_usd":-5})",
                         R"({"command":"a","max_cost_usd":1e300})",
                         R"({"command":"a","workdir":"/work/../etc"})",
                         R"({"command":"a","env":{"A":1}})",
                         R"({"command":"a","env":{"A=B":"c"}})",
                         R"({"command":"a\u0000b"})"};
  for (const char* c : cases) {
    auto r = SessionRequest::Parse(c);
    EXPECT_FALSE(r.ok()) << c;
  }
  EXPECT_TRUE(SessionRequest::Parse(R"({"kind":"interactive"})").ok());
  auto p = ContainerPolicy::Parse(R"({"max_concurrent":-1})");
  EXPECT_FALSE(p.ok());
  EXPECT_FALSE(ContainerPolicy::Parse(R"({"images":"x"})").ok());
  EXPECT_FALSE(ContainerPolicy::Parse(R"({"price":1})").ok());
  EXPECT_TRUE(ContainerPolicy::Parse(R"({"max_wall_ms":null,"network":true})").ok());
}

TEST(SessionRequestTest, CostsRoundUpAndSaturate) {
  ContainerPolicy p;
  p.usd_per_wall_second = 3;
  p.usd_per_cpu_second = 1000;
  Usage u;
  u.wall_ms = 1;
  u.cpu_ms = 1500;
  EXPECT_EQ(Cost(u, p), 1 + 1500);
  u.wall_ms = int64_t{1} << 62;
  p.usd_per_wall_second = int64_t{1} << 50;
  EXPECT_EQ(Cost(u, p), INT64_MAX);
}

}  // namespace
}  // namespace agent9::containers
