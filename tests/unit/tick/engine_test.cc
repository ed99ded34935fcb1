#include "tick/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "tests/unit/testing/agent_store.h"

namespace agent9 {
namespace {

// Records every tick; optionally fails, sends or detects overlapping ticks of one agent.
class ProbeAgent final : public Agent {
 public:
  Result<TickOutput> Tick(const TickInput& in) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (++inside_[in.agent_id] > 1) overlap_ = true;
      order_.push_back(in.agent_id);
      triggers_.push_back(in.trigger);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    TickOutput out;
    int64_t n = in.state.is_object() ? in.state.value("n", int64_t{0}) : 0;
    out.state = Json{{"n", n + 1}};
    if (in.trigger["type"] == "manual" && !send_to_.empty()) {
      out.send.push_back(SendSpec{send_to_, Json{{"hello", in.agent_id}}});
      out.emit.push_back(Json{{"type", "sent"}});
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      --inside_[in.agent_id];
    }
    if (fail_) return Status::Internal("probe failure");
    return out;
  }
  std::mutex mu_;
  std::map<std::string, int> inside_;
  std::vector<std::string> order_;
  std::vector<Json> triggers_;
  bool overlap_ = false;
  std::atomic<bool> fail_{false};
  std::string send_to_;
};

class EngineTest : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    AgentStoreFixture::SetUp();
    kinds_ = AgentKinds::WithBuiltins();
    probe_ = std::make_shared<ProbeAgent>();
    kinds_.Register("probe", probe_);
  }
  void TearDown() override {
    if (engine_) engine_->Stop();
  }
  void StartEngine(unsigned workers = 2) {
    EngineOptions o;
    o.workers = workers;
    o.retry_base_ms = 5;
    o.retry_max_ms = 20;
    engine_ =
        std::make_unique<Engine>(db_.get(), agents_.get(), &clock_, &kinds_, &outbox_, &trace_, o);
    agents_->SetEnqueueListener([this](std::string_view a) { engine_->Notify(a); });
    ASSERT_TRUE(engine_->Start().ok());
  }
  // Most tests count the ticks of the trigger they exercise, so by default the agent is
  // created as if its init tick had run (the Init* tests below cover that trigger).
  void Create(const std::string& id, const std::string& kind, int max_attempts = 3,
              bool with_init = false) {
    AgentConfig c;
    c.kind = kind;
    c.max_attempts = max_attempts;
    c.max_depth = 100000;
    ASSERT_TRUE(agents_->Create(id, c, with_init).ok());
  }
  Json Status(const std::string& id) { return *agents_->StatusJson(id); }

  AgentKinds kinds_;
  std::shared_ptr<ProbeAgent> probe_;
  StreamHub outbox_, trace_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, EchoConsumesEveryMessageOnceAndReplies) {
  Create("e", "echo");
  StartEngine();
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(agents_->Enqueue("e", std::to_string(i), "http").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  Json st = Status("e");
  EXPECT_EQ(st["queue_depth"], 0);
  EXPECT_EQ(st["tick_count"], 50);
  EXPECT_EQ(st["last_tick_cause"], "message");
  EXPECT_EQ(*agents_->GetState("e"), R"({"echoed":50})");
  auto events = agents_->ListOutbox("e");
  ASSERT_EQ(events->size(), 50u);
  // Replies keep the order the messages were accepted in.
  for (int i = 0; i < 50; ++i) {
    auto ev = ParseJson(std::get<1>((*events)[i]));
    EXPECT_EQ((*ev)["body"], i);
    EXPECT_EQ((*ev)["to"], "http");
  }
  auto traj = agents_->Trajectory("e");
  ASSERT_EQ(traj->size(), 50u);
  auto rec = ParseJson(traj->back());
  EXPECT_EQ((*rec)["result"], "ok");
  EXPECT_EQ((*rec)["tick"], 50);
  for (auto phase : {"wake", "load", "perceive", "think", "act", "remember", "schedule", "sleep"}) {
    EXPECT_TRUE((*rec)["phases_us"].contains(phase)) << phase;
  }
}

TEST_F(EngineTest, SendsLandInOtherInboxesAndEchoRepliesComeBack) {
  Create("a", "probe");
  Create("b", "echo");
  probe_->send_to_ = "b";
  StartEngine();
  ASSERT_TRUE(engine_->RequestTick("a", "go").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  // b got {"hello":"a"} from a and replied; a consumed the reply (reply_to set, so no loop).
  EXPECT_EQ(Status("b")["tick_count"], 1);
  EXPECT_EQ(Status("a")["tick_count"], 2);
  EXPECT_EQ(Status("a")["queue_depth"], 0);
  auto traj = agents_->Trajectory("a");
  ASSERT_EQ(traj->size(), 2u);
  EXPECT_EQ((*ParseJson((*traj)[0]))["effects"]["sent"], 1);
  EXPECT_EQ((*ParseJson((*traj)[1]))["trigger"]["from"], "b");
  EXPECT_EQ(agents_->ListOutbox("a")->size(), 1u);  // the "sent" event
}

TEST_F(EngineTest, AFailedTickCommitsOnlyItsRecordThenDeadLetters) {
  Create("f", "probe", /*max_attempts=*/3);
  probe_->fail_ = true;
  StartEngine();
  ASSERT_TRUE(agents_->Enqueue("f", "poison", "http").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  Json st = Status("f");
  EXPECT_EQ(st["queue_depth"], 0);
  EXPECT_EQ(st["deadletter_depth"], 1);
  EXPECT_EQ(st["tick_count"], 0);  // nothing of a failed tick commits
  EXPECT_EQ(*agents_->GetState("f"), "{}");
  auto dead = agents_->ListDeadletter("f");
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].attempts, 3);
  EXPECT_NE((*dead)[0].reason.find("probe failure"), std::string::npos);
  auto traj = agents_->Trajectory("f");
  ASSERT_EQ(traj->size(), 3u);
  for (const auto& r : *traj) EXPECT_EQ((*ParseJson(r))["result"], "error");
  // Replay after the fix: it runs once and succeeds.
  probe_->fail_ = false;
  ASSERT_TRUE(agents_->ReplayDeadletter("f", -1).ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("f")["tick_count"], 1);
  EXPECT_EQ(Status("f")["deadletter_depth"], 0);
}

TEST_F(EngineTest, ASendToAMissingAgentFailsTheWholeTick) {
  Create("a", "probe", 1);
  probe_->send_to_ = "ghost";
  StartEngine();
  ASSERT_TRUE(engine_->RequestTick("a", "go").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("a")["tick_count"], 0);
  EXPECT_EQ(agents_->ListOutbox("a")->size(), 0u);  // the emitted event did not commit either
  auto traj = agents_->Trajectory("a");
  ASSERT_EQ(traj->size(), 1u);
  EXPECT_NE((*ParseJson((*traj)[0]))["error"].get<std::string>().find("ghost"), std::string::npos);
}

TEST_F(EngineTest, HibernatedAgentsQueueButDoNotTick) {
  Create("h", "echo");
  ASSERT_TRUE(agents_->SetLifecycle("h", "hibernated").ok());
  StartEngine();
  ASSERT_TRUE(agents_->Enqueue("h", "wait", "http").ok());
  ASSERT_TRUE(engine_->RequestTick("h", "manual").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("h")["tick_count"], 0);
  EXPECT_EQ(Status("h")["queue_depth"], 1);
  ASSERT_TRUE(agents_->SetLifecycle("h", "active").ok());
  engine_->Notify("h");
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("h")["tick_count"], 2);  // the message, then the queued manual tick
}

TEST_F(EngineTest, KindNoneRunsNoTicks) {
  Create("n", "none");
  StartEngine();
  EXPECT_EQ(engine_->RequestTick("n", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(engine_->RequestTick("ghost", "x").code(), Code::kNotFound);
  ASSERT_TRUE(agents_->Enqueue("n", "kept", "http").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("n")["queue_depth"], 1);
}

TEST_F(EngineTest, OneTickPerAgentAtATimeAndFairAcrossAgents) {
  Create("busy", "probe");
  for (int i = 0; i < 5; ++i) Create("light" + std::to_string(i), "probe");
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(agents_->Enqueue("busy", "m", "http").ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(agents_->Enqueue("light" + std::to_string(i), "m", "http").ok());
  }
  StartEngine(4);
  ASSERT_TRUE(engine_->WaitIdle(60'000));
  EXPECT_FALSE(probe_->overlap_);
  EXPECT_EQ(Status("busy")["tick_count"], 200);
  // Every light agent ran long before the busy one drained its inbox.
  std::lock_guard<std::mutex> l(probe_->mu_);
  for (int i = 0; i < 5; ++i) {
    auto it = std::find(probe_->order_.begin(), probe_->order_.end(), "light" + std::to_string(i));
    ASSERT_NE(it, probe_->order_.end());
    EXPECT_LT(it - probe_->order_.begin(), 40);
  }
}

TEST_F(EngineTest, MessagesQueuedWhileStoppedRunAtStart) {
  Create("r", "echo");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(agents_->Enqueue("r", "m", "http").ok());
  StartEngine();
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("r")["tick_count"], 5);
}

// Polls until pred holds (alarms fire from the engine's own thread); false after 10 s.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(EngineTest, AlarmsFireOnceAndRecurringOnesSkipMissedPeriods) {
  Create("a", "probe");
  StartEngine();
  ASSERT_TRUE(agents_->AddAlarm("a", 0, std::nullopt, Json{{"wake", "up"}}).ok());
  engine_->WakeAlarms();
  ASSERT_TRUE(Eventually([&] { return Status("a")["tick_count"] == 1; }));
  auto rec = ParseJson(agents_->Trajectory("a")->back());
  EXPECT_EQ((*rec)["trigger"]["type"], "alarm");
  EXPECT_TRUE(Status("a")["next_alarm_at"].is_null());  // a once alarm is consumed

  // Recurring every second; the (fake) clock then jumps five periods: it fires once, not 5x.
  ASSERT_TRUE(agents_->AddAlarm("a", 0, 1000, Json(nullptr)).ok());
  engine_->WakeAlarms();
  ASSERT_TRUE(Eventually([&] { return Status("a")["tick_count"] == 2; }));
  clock_.AdvanceMs(5000);
  engine_->WakeAlarms();
  ASSERT_TRUE(Eventually([&] { return Status("a")["tick_count"] == 3; }));
  ASSERT_TRUE(engine_->WaitIdle(10'000));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Status("a")["tick_count"], 3);
  EXPECT_EQ(Status("a")["next_alarm_at"], Rfc3339(clock_.NowMs() + 1000));
}

TEST_F(EngineTest, AlarmsNeverWakeAHibernatedAgent) {
  Create("h", "probe");
  ASSERT_TRUE(agents_->SetLifecycle("h", "hibernated").ok());
  StartEngine();
  ASSERT_TRUE(agents_->AddAlarm("h", 0, std::nullopt, Json(nullptr)).ok());
  engine_->WakeAlarms();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Status("h")["tick_count"], 0);
  ASSERT_TRUE(agents_->SetLifecycle("h", "active").ok());
  engine_->Notify("h");
  ASSERT_TRUE(Eventually([&] { return Status("h")["tick_count"] == 1; }));
}

TEST_F(EngineTest, ProgramsSetAlarmsAtomicallyWithTheirTick) {
  class Setter final : public Agent {
   public:
    Result<TickOutput> Tick(const TickInput& in) override {
      TickOutput out;
      if (in.trigger["type"] == "manual") out.alarms.push_back(AlarmSpec{0, std::nullopt, 7});
      return out;
    }
  };
  kinds_.Register("setter", std::make_shared<Setter>());
  Create("s", "setter");
  StartEngine();
  ASSERT_TRUE(engine_->RequestTick("s", "go").ok());
  ASSERT_TRUE(Eventually([&] { return Status("s")["tick_count"] == 2; }));
  auto traj = agents_->Trajectory("s");
  EXPECT_EQ((*ParseJson((*traj)[0]))["effects"]["alarms"], 1);
  EXPECT_EQ((*ParseJson((*traj)[1]))["trigger"]["type"], "alarm");
}

TEST_F(EngineTest, RetentionBoundsOutboxAndTrajectory) {
  AgentConfig c;
  c.kind = "echo";
  c.retain_events = 3;
  c.retain_trajectory = 4;
  ASSERT_TRUE(agents_->Create("t", c).ok());
  StartEngine();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(agents_->Enqueue("t", std::to_string(i), "http").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  auto events = agents_->ListOutbox("t");
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(std::get<0>(events->back()), 10);
  EXPECT_EQ(agents_->Trajectory("t")->size(), 4u);
}

std::vector<std::string> TrajectoryTriggers(AgentService* agents, const std::string& id) {
  std::vector<std::string> out;
  auto records = agents->Trajectory(id);
  for (const auto& r : *records) {
    Json j = *ParseJson(r);
    out.push_back(j["trigger"]["type"].get<std::string>() + ":" + j["result"].get<std::string>());
  }
  return out;
}

TEST_F(EngineTest, InitIsTheFirstTickRightAfterCreationAndRunsOnce) {
  Create("i", "probe", 3, /*with_init=*/true);
  ASSERT_TRUE(agents_->Enqueue("i", "queued before start", "http").ok());
  StartEngine();
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(TrajectoryTriggers(agents_.get(), "i"),
            (std::vector<std::string>{"init:ok", "message:ok"}));
  // An agent created while the engine runs gets its init tick without any other trigger.
  Create("j", "probe", 3, /*with_init=*/true);
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("j")["tick_count"], 1);
  EXPECT_EQ(Status("j")["last_tick_cause"], "init");
  // A restart does not run init again.
  engine_->Stop();
  StartEngine();
  ASSERT_TRUE(engine_->RequestTick("j", "again").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(TrajectoryTriggers(agents_.get(), "j"),
            (std::vector<std::string>{"init:ok", "manual:ok"}));
}

TEST_F(EngineTest, InitWaitsUntilTheConfigNamesAKind) {
  Create("n", "none", 3, /*with_init=*/true);
  StartEngine();
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("n")["tick_count"], 0);
  AgentConfig c = *agents_->GetConfig("n");
  c.kind = "probe";
  ASSERT_TRUE(agents_->SetConfig("n", c).ok());
  engine_->Notify("n");
  ASSERT_TRUE(Eventually([&] { return Status("n")["tick_count"] == 1; }));
  EXPECT_EQ(Status("n")["last_tick_cause"], "init");
}

TEST_F(EngineTest, AFailingInitIsRetriedThenGivenUp) {
  Create("f", "probe", /*max_attempts=*/2, /*with_init=*/true);
  probe_->fail_ = true;
  StartEngine();
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(TrajectoryTriggers(agents_.get(), "f"),
            (std::vector<std::string>{"init:error", "init:error"}));
  probe_->fail_ = false;
  ASSERT_TRUE(engine_->RequestTick("f", "after").ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("f")["tick_count"], 1);
  EXPECT_EQ(Status("f")["last_tick_cause"], "manual");
}

TEST_F(EngineTest, EventsTriggerTicksInOrderWithTheirPayload) {
  Create("e", "probe");
  StartEngine();
  ASSERT_TRUE(agents_->AddEvent("e", Json{{"type", "job.done"}, {"job", 1}}).ok());
  ASSERT_TRUE(agents_->AddEvent("e", Json{{"type", "job.done"}, {"job", 2}}).ok());
  EXPECT_EQ(agents_->AddEvent("e", Json::array()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(agents_->AddEvent("ghost", Json::object()).status().code(), Code::kNotFound);
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(TrajectoryTriggers(agents_.get(), "e"),
            (std::vector<std::string>{"event:ok", "event:ok"}));
  std::lock_guard<std::mutex> l(probe_->mu_);
  ASSERT_EQ(probe_->triggers_.size(), 2u);
  EXPECT_EQ(probe_->triggers_[0]["event"]["job"], 1);
  EXPECT_EQ(probe_->triggers_[1]["event"]["job"], 2);
  EXPECT_EQ(probe_->triggers_[1]["type"], "event");
}

TEST_F(EngineTest, AFailingEventMovesToTheDeadletterAndReplaysAsAMessage) {
  Create("e", "probe", /*max_attempts=*/3);
  probe_->fail_ = true;
  StartEngine();
  ASSERT_TRUE(agents_->AddEvent("e", Json{{"type", "payment.settled"}}).ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(TrajectoryTriggers(agents_.get(), "e"),
            (std::vector<std::string>{"event:error", "event:error", "event:error"}));
  auto dead = agents_->ListDeadletter("e");
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].attempts, 3);
  Json env = *ParseJson((*dead)[0].envelope);
  EXPECT_EQ(env["from"], "runtime");
  EXPECT_EQ(env["body"]["event"]["type"], "payment.settled");
  probe_->fail_ = false;
  ASSERT_TRUE(agents_->ReplayDeadletter("e", -1).ok());
  ASSERT_TRUE(engine_->WaitIdle(20'000));
  EXPECT_EQ(Status("e")["tick_count"], 1);
  EXPECT_EQ(Status("e")["last_tick_cause"], "message");
}

TEST_F(EngineTest, AFailingAlarmBacksOffThenIsConsumed) {
  Create("a", "probe", /*max_attempts=*/3);
  probe_->fail_ = true;
  StartEngine();
  ASSERT_TRUE(agents_->AddAlarm("a", 0, std::nullopt, Json(nullptr)).ok());
  engine_->WakeAlarms();
  ASSERT_TRUE(Eventually([&] { return agents_->Trajectory("a")->size() == 3; }));
  ASSERT_TRUE(engine_->WaitIdle(10'000));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Exactly max_attempts tries (no spinning on a due alarm), then it is gone.
  EXPECT_EQ(TrajectoryTriggers(agents_.get(), "a"),
            (std::vector<std::string>{"alarm:error", "alarm:error", "alarm:error"}));
  EXPECT_TRUE(Status("a")["next_alarm_at"].is_null());
}

}  // namespace
}  // namespace agent9
