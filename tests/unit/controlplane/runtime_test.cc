// Runtime + Control: the wiring main() uses, over a temporary data dir, without transports.
#include "controlplane/runtime.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <fstream>

#include "tests/unit/testing/temp_dir.h"

namespace agent9 {
namespace {

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    auto rt = Runtime::Open(Options());
    ASSERT_TRUE(rt.ok()) << rt.status().ToString();
    rt_ = std::move(rt).value();
  }
  RuntimeOptions Options(std::string config_file = "") const {
    RuntimeOptions o;
    o.data_dir = dir_.path() + "/data";
    o.sync = SyncMode::kNormal;
    o.config_file = std::move(config_file);
    return o;
  }
  testing::TempDir dir_;
  std::unique_ptr<Runtime> rt_;
  Caller admin_ = Caller::Admin();
};

TEST_F(RuntimeTest, ABadRuntimeConfigStopsTheStartNamingFileLineAndKey) {
  rt_.reset();
  std::string path = dir_.path() + "/bad.toml";
  {
    std::ofstream f(path);
    f << "[identity]\nexport_log_n = 16\n[nostr]\nrelays = [\"ws://127.0.0.1:1\"]\nrelay = 1\n";
  }
  auto rt = Runtime::Open(Options(path));
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.status().message(), path + ":5: unknown key 'nostr.relay'");
  {
    std::ofstream f(path);
    f << "[http]\noperators = [\"npub1nope\"]\n";
  }
  rt = Runtime::Open(Options(path));
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find(path + ":2: http.operators: 'npub1nope'"), std::string::npos)
      << rt.status().message();
  EXPECT_FALSE(Runtime::Open(Options(dir_.path() + "/missing.toml")).ok());
  {
    std::ofstream f(path);
    f << "[identity]\nexport_log_n = 12\n[http]\npublic_url = \"https://a9.example\"\n";
  }
  EXPECT_TRUE(Runtime::CheckConfigFile(path).ok());
  rt = Runtime::Open(Options(path));
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  // The modules joined the tree: identity/ and nostr/ in an agent, nostr/ at the root.
  auto made = (*rt)->api()->CreateAgent(admin_, Json{{"id", "alice"}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ((*made)["pubkey"].get<std::string>().size(), 64u);
  auto pub = (*rt)->fs()->ReadAll(
      Path().Child("agents").Child("alice").Child("identity").Child("pubkey"), admin_);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, (*made)["pubkey"].get<std::string>() + "\n");
  auto mounts = (*rt)->fs()->ReadAll(Path().Child("agents").Child("alice").Child("mounts"), admin_);
  ASSERT_TRUE(mounts.ok());
  EXPECT_NE(mounts->find("/identity/\tagent\tidentity\n"), std::string::npos) << *mounts;
  EXPECT_NE(mounts->find("/nostr/\tagent\tnostr\n"), std::string::npos) << *mounts;
  EXPECT_TRUE((*rt)->fs()->ReadAll(Path().Child("nostr").Child("relays"), admin_).ok());
}

TEST_F(RuntimeTest, ASecondRuntimeOnTheSameDirIsRefused) {
  auto second = Runtime::Open(Options());
  EXPECT_EQ(second.status().code(), Code::kAborted);
  EXPECT_NE(second.status().message().find("another agent9 daemon"), std::string::npos);
}

TEST_F(RuntimeTest, CreateSendStatusDelete) {
  ControlApi* api = rt_->api();
  auto created = api->CreateAgent(admin_, Json{{"id", "alice"}, {"kind", "echo"}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["kind"], "echo");
  Caller alice = Caller::Agent("alice");
  // Hibernated, so the message stays queued until we have looked at it.
  ASSERT_TRUE(api->Lifecycle(admin_, "alice", "hibernate", "").ok());
  auto sent = api->Send(alice, "alice", "to myself", "http");
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ((*sent)["seq"], 1);
  auto msg = rt_->fs()->ReadAll(*Path::Parse("/agents/alice/inbox/1.json"), admin_);
  ASSERT_TRUE(msg.ok());
  EXPECT_NE(msg->find("\"from\":\"alice\""), std::string::npos);  // an agent sends as itself
  // alice is an echo agent: once awake, after its init tick the engine consumes the message
  // and replies to her (herself).
  EXPECT_EQ((*api->Lifecycle(admin_, "alice", "wake", ""))["state"], "active");
  ASSERT_TRUE(rt_->engine()->WaitIdle(10'000));
  EXPECT_EQ((*api->AgentStatus(admin_, "alice"))["queue_depth"], 0);
  EXPECT_EQ((*api->AgentStatus(admin_, "alice"))["tick_count"], 2);
  // Kinds are the engine's registered ones.
  auto robot = api->CreateAgent(admin_, Json{{"id", "robot"}, {"kind", "robot"}});
  EXPECT_EQ(robot.status().code(), Code::kInvalidArgument);
  EXPECT_NE(robot.status().message().find("known: none, echo, exec"), std::string::npos)
      << robot.status().message();
  ASSERT_TRUE(api->Lifecycle(admin_, "alice", "tick", "by hand").ok());
  ASSERT_TRUE(rt_->engine()->WaitIdle(10'000));
  auto traj = rt_->fs()->ReadAll(*Path::Parse("/agents/alice/logs/trajectory"), admin_);
  ASSERT_TRUE(traj.ok());
  EXPECT_NE(traj->find("\"reason\":\"by hand\""), std::string::npos);
  EXPECT_EQ((*api->Lifecycle(alice, "alice", "hibernate", ""))["state"], "hibernated");
  EXPECT_EQ(api->Lifecycle(admin_, "alice", "explode", "").status().code(), Code::kNotFound);
  EXPECT_EQ(api->CreateAgent(alice, Json{{"id", "eve"}}).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(api->CreateAgent(Caller::Public(), Json{{"id", "eve"}}).status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(api->CreateAgent(admin_, Json{{"id", "x"},
                                          {"kind", "echo"},
                                          {"config", {{"kind", "exec"}, {"program", "/bin/true"}}}})
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(api->DeleteAgent(alice, "alice").code(), Code::kPermissionDenied);
  EXPECT_TRUE(api->DeleteAgent(admin_, "alice").ok());
  EXPECT_EQ(api->AgentStatus(admin_, "alice").status().code(), Code::kNotFound);
}

TEST_F(RuntimeTest, ReplayIsAdminOnlyAndChecksItsBody) {
  ControlApi* api = rt_->api();
  ASSERT_TRUE(api->CreateAgent(admin_, Json{{"id", "alice"}, {"kind", "echo"}}).ok());
  ASSERT_TRUE(api->Send(admin_, "alice", "hi", "http").ok());
  ASSERT_TRUE(rt_->engine()->WaitIdle(10'000));
  // Tick 1 was init, tick 2 the message.
  auto r = api->Replay(admin_, "alice", Json{{"tick", 2}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["identical"], true) << r->dump();
  EXPECT_EQ((*r)["kind"], "echo");
  EXPECT_EQ(api->Replay(Caller::Agent("alice"), "alice", Json{{"tick", 2}}).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(api->Replay(Caller::Public(), "alice", Json{{"tick", 2}}).status().code(),
            Code::kUnauthenticated);
  for (const Json& bad :
       {Json::object(), Json{{"tick", "2"}}, Json{{"tick", 0}}, Json{{"tick", 2}, {"program", 7}},
        Json{{"tick", 2}, {"x", 1}}, Json{{"tick", 2}, {"program", "rel/prog"}}}) {
    auto st = api->Replay(admin_, "alice", bad).status();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad.dump();
  }
  EXPECT_NE(api->Replay(admin_, "alice", Json{{"tick", "2"}}).status().message().find("tick"),
            std::string::npos);
  EXPECT_EQ(api->Replay(admin_, "alice", Json{{"tick", 9}}).status().code(), Code::kNotFound);
  EXPECT_EQ(api->Replay(admin_, "bob", Json{{"tick", 1}}).status().code(), Code::kNotFound);
}

TEST_F(RuntimeTest, ListPagesAndRuntimeDocuments) {
  ControlApi* api = rt_->api();
  for (auto id : {"a", "b", "c"}) ASSERT_TRUE(api->CreateAgent(admin_, Json{{"id", id}}).ok());
  auto page = api->ListAgents(admin_, 2, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ((*page)["agents"].size(), 2u);
  EXPECT_EQ((*page)["next"], "b");
  auto last = api->ListAgents(admin_, 2, "b");
  EXPECT_EQ((*last)["agents"].size(), 1u);
  EXPECT_TRUE((*last)["next"].is_null());
  EXPECT_EQ(api->ListAgents(admin_, 0, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ((*api->Runtime(admin_))["agents"], 3);
  EXPECT_NE(api->Metrics(admin_)->find("agent9_agents 3\n"), std::string::npos);
  EXPECT_EQ(api->Runtime(Caller::Agent("a")).status().code(), Code::kPermissionDenied);
  // The agent-local view: the agent's tree at /, nothing else reachable.
  auto view = rt_->AgentView("a");
  ASSERT_TRUE(view.ok());
  auto status = (*view)->ReadAll(*Path::Parse("/status"), Caller::Agent("a"));
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("\"id\": \"a\""), std::string::npos);
  EXPECT_EQ((*view)->ReadAll(*Path::Parse("/agents"), Caller::Agent("a")).status().code(),
            Code::kNotFound);
  EXPECT_EQ(rt_->AgentView("zz").status().code(), Code::kNotFound);
}

TEST_F(RuntimeTest, AnAgentAndItsFirstTokenCommitTogether) {
  ControlApi* api = rt_->api();
  auto made = api->CreateAgent(admin_, Json{{"id", "ok1"}});
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto who = rt_->auth()->Authenticate((*made)["token"].get<std::string>());
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->agent_id, "ok1");
  // When the token cannot be stored, the creation is undone: no agent without the token
  // its creator was never shown.
  ASSERT_TRUE(rt_->db()->Write([](Conn& c) { return c.Exec("DROP TABLE tokens"); }).ok());
  auto failed = api->CreateAgent(admin_, Json{{"id", "orphan"}});
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(*rt_->agents()->Exists("orphan"));
  EXPECT_EQ((*api->Runtime(admin_))["agents"], 1);
}

TEST_F(RuntimeTest, TheAgentCountFollowsCreatesDeletesAndImports) {
  ControlApi* api = rt_->api();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(api->CreateAgent(admin_, Json{{"id", "c" + std::to_string(i)}}).ok());
  }
  ASSERT_TRUE(
      rt_->fs()->Mkdir(**rt_->fs()->Walk(*Path::Parse("/agents"), admin_), "m1", admin_).ok());
  EXPECT_EQ(*rt_->agents()->Count(), 6);
  ASSERT_TRUE(api->DeleteAgent(admin_, "c0").ok());
  EXPECT_EQ(api->CreateAgent(admin_, Json{{"id", "c1"}}).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(*rt_->agents()->Count(), 5);
  auto bundle = api->ExportAgent(admin_, "c1");
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  ASSERT_TRUE(api->ImportAgent(admin_, *bundle, "clone", "c9").ok());
  EXPECT_EQ(*rt_->agents()->Count(), 6);
  EXPECT_EQ((*api->Runtime(admin_))["agents"], 6);
  EXPECT_NE(api->Metrics(admin_)->find("agent9_agents 6\n"), std::string::npos);
  // The same as counting the rows.
  int64_t rows = -1;
  ASSERT_TRUE(rt_->db()
                  ->Read([&](Conn& c) -> Status {
                    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT count(*) FROM agents"));
                    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                    rows = row ? s->Int(0) : -1;
                    return Status::OK();
                  })
                  .ok());
  EXPECT_EQ(rows, 6);
}

}  // namespace
}  // namespace agent9
