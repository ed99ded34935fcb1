#include "tick/replay.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>

#include "tests/unit/testing/agent_store.h"
#include "tick/agent_docs.h"
#include "tick/engine.h"
#include "tick/exec_agent.h"
#include "tick/tick_record.h"

namespace agent9 {
namespace {

// A kind whose tick is a function the test sets.
class FnAgent final : public Agent {
 public:
  Result<TickOutput> Tick(const TickInput& in) override { return fn(in); }
  std::function<Result<TickOutput>(const TickInput&)> fn = [](const TickInput&) {
    return TickOutput{};
  };
};

class ReplayTest : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    AgentStoreFixture::SetUp();
    kinds_ = AgentKinds::WithBuiltins();
    kinds_.Register("exec", std::make_shared<ExecAgent>(ExecOptions{}, nullptr));
    fn_ = std::make_shared<FnAgent>();
    kinds_.Register("fn", fn_);
    EngineOptions o;
    o.workers = 1;
    o.retry_base_ms = 5;
    o.retry_max_ms = 20;
    engine_ =
        std::make_unique<Engine>(db_.get(), agents_.get(), &clock_, &kinds_, &outbox_, &trace_, o);
    agents_->SetEnqueueListener([this](std::string_view a) { engine_->Notify(a); });
    ASSERT_TRUE(engine_->Start().ok());
  }
  void TearDown() override { engine_->Stop(); }

  std::string Script(const std::string& name, const std::string& body) {
    std::string path = dir_.File(name);
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }
  // Creates an agent (its init tick skipped, so message ticks are numbered from 1).
  void Create(const std::string& id, const std::string& kind, const std::string& program = "",
              int64_t retain_replay = 100) {
    AgentConfig c;
    c.kind = kind;
    c.program = program;
    c.sandbox = false;
    c.max_attempts = 1;
    c.retain_replay = retain_replay;
    ASSERT_TRUE(agents_->Create(id, c, /*run_init=*/false).ok());
  }
  void Send(const std::string& id, const std::string& body) {
    ASSERT_TRUE(agents_->Enqueue(id, body, "http").ok());
    ASSERT_TRUE(engine_->WaitIdle(20'000));
  }
  void Manual(const std::string& id) {
    ASSERT_TRUE(engine_->RequestTick(id, "go").ok());
    ASSERT_TRUE(engine_->WaitIdle(20'000));
  }
  Json LastTrajectory(const std::string& id) {
    auto t = agents_->Trajectory(id);
    EXPECT_TRUE(t.ok() && !t->empty());
    return *ParseJson(t->back());
  }
  Result<Json> Replay(const std::string& id, int64_t tick, const std::string& program = "") {
    ReplayOptions o;
    o.program = program;
    return ReplayTick(db_.get(), kinds_, id, tick, o);
  }

  // Counts its ticks in state.n and emits the count.
  const std::string kCounter =
      "jq -c '((.state.n // 0) + 1) as $n | {state: {n: $n}, emit: [{type: \"count\", n: $n}]}'";

  AgentKinds kinds_;
  std::shared_ptr<FnAgent> fn_;
  StreamHub outbox_, trace_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ReplayTest, EchoReplaysIdentically) {
  Create("e", "echo");
  Send("e", "hello");
  Send("e", "again");
  auto r = Replay("e", 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["identical"], true) << r->dump();
  EXPECT_EQ((*r)["kind"], "echo");
  EXPECT_EQ((*r)["tick"], 2);
  EXPECT_TRUE((*r)["differences"].empty());
  EXPECT_EQ((*r)["recorded"]["reply"], (Json{{"text", "again"}}));
  EXPECT_EQ((*r)["replayed"], (*r)["recorded"]);
  EXPECT_FALSE(r->contains("program"));
}

TEST_F(ReplayTest, ExecCounterReplaysIdentically) {
  std::string prog = Script("counter.sh", kCounter);
  Create("a", "exec", prog);
  Send("a", "one");
  Send("a", "two");
  EXPECT_EQ(*agents_->GetState("a"), R"({"n":2})");
  for (int tick : {1, 2}) {
    auto r = Replay("a", tick);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["identical"], true) << r->dump();
    EXPECT_EQ((*r)["program"], prog);
    EXPECT_EQ((*r)["replayed"]["state"]["n"], tick);
  }
  // Nothing was written: the agent is where it was.
  EXPECT_EQ(*agents_->GetState("a"), R"({"n":2})");
  EXPECT_EQ(agents_->ListOutbox("a")->size(), 2u);
}

TEST_F(ReplayTest, AChangedProgramShowsItsDifferences) {
  Create("a", "exec", Script("counter.sh", kCounter));
  Send("a", "one");
  Send("a", "two");
  std::string changed = Script(
      "changed.sh",
      "jq -c '((.state.n // 0) + 10) as $n | {state: {n: $n}, emit: [{type: \"count\", n: $n}]}'");
  auto r = Replay("a", 2, changed);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["identical"], false);
  EXPECT_EQ((*r)["program"], changed);
  const Json& d = (*r)["differences"];
  ASSERT_EQ(d.size(), 2u) << d.dump();
  EXPECT_EQ(d[0], (Json{{"part", "emit"},
                        {"op", "replace"},
                        {"path", "/0/n"},
                        {"recorded", 2},
                        {"replayed", 11}}));
  EXPECT_EQ(d[1], (Json{{"part", "state"},
                        {"op", "replace"},
                        {"path", "/n"},
                        {"recorded", 2},
                        {"replayed", 11}}));
  EXPECT_EQ((*r)["recorded"]["state"]["n"], 2);
  EXPECT_EQ((*r)["replayed"]["state"]["n"], 11);

  // Added and removed parts: a program that sends nothing but a reply.
  std::string other = Script("other.sh", "cat >/dev/null; echo '{\"reply\":{\"ok\":1}}'");
  r = Replay("a", 2, other);
  ASSERT_TRUE(r.ok());
  bool saw_reply = false, saw_emit = false;
  for (const auto& x : (*r)["differences"]) {
    if (x["part"] == "reply") {
      saw_reply = true;
      EXPECT_EQ(x["op"], "replace");
      EXPECT_EQ(x["path"], "");
      EXPECT_EQ(x["recorded"], nullptr);
      EXPECT_EQ(x["replayed"], (Json{{"ok", 1}}));
    }
    if (x["part"] == "emit") {
      saw_emit = true;
      EXPECT_EQ(x["op"], "remove");
      EXPECT_EQ(x["path"], "/0");
      EXPECT_FALSE(x.contains("replayed"));
    }
  }
  EXPECT_TRUE(saw_reply && saw_emit) << r->dump();
}

TEST_F(ReplayTest, AProgramThatReadsNothingReplays) {
  Create("q", "exec", Script("quiet.sh", "echo '{\"state\":{\"q\":1}}'"));
  Send("q", "x");
  auto r = Replay("q", 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["identical"], true) << r->dump();
  EXPECT_TRUE((*r)["unrecorded_reads"].empty());
}

TEST_F(ReplayTest, AFailingReplayIsAResultNotAnError) {
  Create("a", "exec", Script("counter.sh", kCounter));
  Send("a", "one");
  auto r = Replay("a", 1, Script("crash.sh", "cat >/dev/null; exit 3"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["identical"], false);
  EXPECT_NE((*r)["error"].get<std::string>().find("exited with status 3"), std::string::npos);
  EXPECT_EQ((*r)["replayed"], nullptr);
}

TEST_F(ReplayTest, ErrorsNameWhatIsMissing) {
  Create("a", "exec", Script("counter.sh", kCounter));
  Send("a", "one");
  auto r = Replay("a", 7);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("ticks 1..1 are kept"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(Replay("nobody", 1).status().code(), Code::kNotFound);
  EXPECT_EQ(Replay("a", 1, "relative/prog").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Replay("a", 1, dir_.File("missing")).status().code(), Code::kInvalidArgument);
  AgentKinds none;  // the kind is gone
  EXPECT_EQ(ReplayTick(db_.get(), none, "a", 1).status().code(), Code::kNotFound);
}

TEST_F(ReplayTest, RetentionZeroRecordsNothing) {
  Create("z", "echo", "", /*retain_replay=*/0);
  Send("z", "hello");
  auto r = Replay("z", 1);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find("no ticks are kept"), std::string::npos);
}

TEST_F(ReplayTest, RetentionKeepsTheLastTicks) {
  Create("k", "echo", "", /*retain_replay=*/2);
  for (int i = 0; i < 4; ++i) Send("k", "m" + std::to_string(i));
  EXPECT_EQ(Replay("k", 2).status().code(), Code::kNotFound);
  EXPECT_TRUE(Replay("k", 3).ok());
  EXPECT_TRUE(Replay("k", 4).ok());
}

// The tick seam: actions and memory files through the engine.

TEST_F(ReplayTest, AnActionNoModuleTakesFailsTheTick) {
  fn_->fn = [](const TickInput&) -> Result<TickOutput> {
    TickOutput out;
    out.actions["nope"] = 1;
    return out;
  };
  Create("f", "fn");
  Manual("f");
  Json t = LastTrajectory("f");
  EXPECT_EQ(t["result"], "error");
  EXPECT_NE(t["error"].get<std::string>().find("unknown field"), std::string::npos) << t.dump();
  EXPECT_EQ(Replay("f", 1).status().code(), Code::kNotFound);  // a failed tick has no record
}

TEST_F(ReplayTest, MemoryAppendsCommitAndLaterTicksReadAndRecordThem) {
  fn_->fn = [](const TickInput& in) -> Result<TickOutput> {
    TickOutput out;
    if (in.tick == 1) {
      out.memory_append.push_back(MemoryAppend{"conversations/bob.jsonl", "{\"a\":1}\n"});
      return out;
    }
    auto got = in.read_memory("conversations/bob.jsonl", 0);
    auto missing = in.read_memory("conversations/carol.jsonl", 0);
    out.state = Json{{"got", got.ok() ? Json(*got) : Json(got.status().ToString())},
                     {"missing", missing.status().IsNotFound()}};
    if (in.replay) (void)in.read_memory("conversations/dave.jsonl", 0);
    return out;
  };
  Create("m", "fn");
  Manual("m");
  EXPECT_EQ(LastTrajectory("m")["result"], "ok");
  std::string doc;
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(doc, ReadMemoryDoc(c, "m", "conversations/bob.jsonl"));
                   return Status::OK();
                 })
                  .ok());
  EXPECT_EQ(doc, "{\"a\":1}\n");

  Manual("m");
  EXPECT_EQ(*agents_->GetState("m"), R"({"got":"{\"a\":1}\n","missing":true})");
  Json rec;
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(rec, LoadTickRecord(c, "m", 2));
                   return Status::OK();
                 })
                  .ok());
  EXPECT_EQ(rec["input"]["memory"], (Json{{"conversations/bob.jsonl", "{\"a\":1}\n"},
                                          {"conversations/carol.jsonl", nullptr}}));

  // Tick 1's record holds its append; tick 2 replays from the recorded reads alone, even
  // after the file changed.
  auto r1 = Replay("m", 1);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ((*r1)["recorded"]["memory_append"][0]["path"], "conversations/bob.jsonl");
  ASSERT_TRUE(db_->Write([&](Conn& c) {
                   return AppendMemoryDoc(c, "m", "conversations/bob.jsonl", "{\"b\":2}\n", 0);
                 })
                  .ok());
  auto r2 = Replay("m", 2);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ((*r2)["identical"], true) << r2->dump();
  EXPECT_EQ((*r2)["unrecorded_reads"], (Json{"conversations/dave.jsonl"}));
}

TEST_F(ReplayTest, AMemoryAppendToABadPathFailsTheTick) {
  for (const char* path : {"../x", "goals/a.json"}) {
    fn_->fn = [path](const TickInput&) -> Result<TickOutput> {
      TickOutput out;
      out.memory_append.push_back(MemoryAppend{path, "{\"a\":1}\n"});
      return out;
    };
    std::string id = std::string("bad") + (path[0] == '.' ? "1" : "2");
    Create(id, "fn");
    Manual(id);
    Json t = LastTrajectory(id);
    EXPECT_EQ(t["result"], "error") << path;
    EXPECT_EQ(Replay(id, 1).status().code(), Code::kNotFound) << path;
  }
}

}  // namespace
}  // namespace agent9

namespace agent9 {
namespace {

TEST(DiffTickOutputs, NamesPartPathAndBothValues) {
  Json a{{"state", {{"n", 1}}}, {"emit", Json::array({1})}, {"hibernate", false}};
  Json b{{"state", {{"n", 1}, {"m", 2}}}, {"emit", Json::array({1, 2, 3})}, {"hibernate", true}};
  Json d = DiffTickOutputs(a, b);
  ASSERT_EQ(d.size(), 4u) << d.dump();
  EXPECT_EQ(d[0]["part"], "emit");
  EXPECT_EQ(d[0]["op"], "add");
  EXPECT_EQ(d[0]["replayed"], 2);
  EXPECT_FALSE(d[0].contains("recorded"));
  EXPECT_EQ(d[2], (Json{{"part", "hibernate"},
                        {"op", "replace"},
                        {"path", ""},
                        {"recorded", false},
                        {"replayed", true}}));
  EXPECT_EQ(d[3], (Json{{"part", "state"}, {"op", "add"}, {"path", "/m"}, {"replayed", 2}}));
  EXPECT_TRUE(DiffTickOutputs(a, a).empty());
}

}  // namespace
}  // namespace agent9
