#include "tick/agents.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/testing/agent_store.h"

namespace agent9 {
namespace {

using AgentsTest = testing::AgentStoreFixture;

TEST_F(AgentsTest, CreateGetListDelete) {
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}).ok());
  EXPECT_EQ(agents_->Create("alice", AgentConfig{}).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(agents_->Create("Bad Name", AgentConfig{}).status().code(), Code::kInvalidArgument);
  for (auto id : {"carol", "bob", "dave"}) ASSERT_TRUE(agents_->Create(id, AgentConfig{}).ok());
  auto page = agents_->List("", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, "alice");
  EXPECT_EQ((*page)[1].id, "bob");
  auto next = agents_->List("bob", 10);
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].id, "carol");
  EXPECT_EQ(*agents_->Count(), 4);
  ASSERT_TRUE(agents_->Delete("bob").ok());
  EXPECT_EQ(agents_->Delete("bob").code(), Code::kNotFound);
  EXPECT_EQ(agents_->Get("bob").status().code(), Code::kNotFound);
  EXPECT_EQ(agents_->Get("alice")->kind, "none");
}

TEST_F(AgentsTest, CreatedAtIsRememberedAndADeleteEndsItAndIsAnnouncedAtOnce) {
  std::vector<std::string> removed;
  uint64_t sub = changes_.Subscribe([&](NodeId dir, std::string_view name) {
    EXPECT_EQ(dir, PathNodeId({"agents"}));
    removed.emplace_back(name);
  });
  EXPECT_EQ(agents_->CreatedAt("alice").status().code(), Code::kNotFound);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}).ok());  // not cached while missing
  int64_t first = agents_->Get("alice")->created_at;
  EXPECT_EQ(*agents_->CreatedAt("alice"), first);
  EXPECT_EQ(*agents_->CreatedAt("alice"), first);  // from memory
  ASSERT_TRUE(agents_->Delete("alice").ok());
  EXPECT_EQ(removed, std::vector<std::string>{"alice"});
  EXPECT_EQ(agents_->CreatedAt("alice").status().code(), Code::kNotFound);
  clock_.AdvanceMs(5);
  ASSERT_TRUE(agents_->Create("alice", AgentConfig{}).ok());
  EXPECT_EQ(*agents_->CreatedAt("alice"), first + 5);  // the new agent, not the old one
  // A failed delete announces nothing.
  EXPECT_EQ(agents_->Delete("ghost").code(), Code::kNotFound);
  EXPECT_EQ(removed.size(), 1u);
  changes_.Unsubscribe(sub);
}

TEST_F(AgentsTest, EnqueueOrdersAndIsIdempotentOnClientIds) {
  ASSERT_TRUE(agents_->Create("a", AgentConfig{}).ok());
  auto r1 = agents_->Enqueue("a", "first", "operator");
  auto r2 = agents_->Enqueue("a", R"({"id":"m1","body":"second"})", "http");
  auto r3 = agents_->Enqueue("a", R"({"id":"m1","body":"second again"})", "http");
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());
  EXPECT_LT(r1->seq, r2->seq);
  EXPECT_TRUE(r3->duplicate);
  EXPECT_EQ(r3->seq, r2->seq);
  auto list = agents_->ListInbox("a");
  ASSERT_EQ(list->size(), 2u);
  auto env = ParseJson((*list)[1].envelope);
  EXPECT_EQ((*env)["body"], "second");
  EXPECT_EQ((*env)["from"], "http");
  EXPECT_EQ(agents_->Enqueue("nobody", "x", "o").status().code(), Code::kNotFound);
  EXPECT_EQ(agents_->Enqueue("a", "", "o").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(agents_->DropInbox("a", r1->seq).ok());
  EXPECT_EQ(*agents_->QueueDepth("a"), 1);
}

// The tick engine hears of a message only when a tick could take it: not for a sink (kind
// "none") or a hibernated agent, whose messages wait for the config write or `wake` that
// notifies it (tick/agent_files.cc).
TEST_F(AgentsTest, OnlyAnAgentThatCanTickIsNotifiedOfItsMessages) {
  std::vector<std::string> notified;
  agents_->SetEnqueueListener([&](std::string_view a) { notified.emplace_back(a); });
  ASSERT_TRUE(agents_->Create("sink", AgentConfig{}).ok());
  AgentConfig echo;
  echo.kind = "echo";
  ASSERT_TRUE(agents_->Create("echo", echo, /*run_init=*/false).ok());
  notified.clear();
  auto to_sink = agents_->Enqueue("sink", "kept", "http");
  ASSERT_TRUE(to_sink.ok());
  EXPECT_FALSE(to_sink->runnable);
  EXPECT_TRUE(notified.empty());
  auto to_echo = agents_->Enqueue("echo", "answer me", "http");
  ASSERT_TRUE(to_echo.ok());
  EXPECT_TRUE(to_echo->runnable);
  EXPECT_EQ(notified, std::vector<std::string>{"echo"});
  ASSERT_TRUE(agents_->SetLifecycle("echo", "hibernated").ok());
  EXPECT_FALSE(agents_->Enqueue("echo", "later", "http")->runnable);
  EXPECT_EQ(notified.size(), 1u);
  ASSERT_TRUE(agents_->SetLifecycle("echo", "active").ok());
  EXPECT_TRUE(agents_->Enqueue("echo", "now", "http")->runnable);
  EXPECT_EQ(notified.size(), 2u);
  EXPECT_EQ(*agents_->QueueDepth("sink"), 1);
  EXPECT_EQ(*agents_->QueueDepth("echo"), 3);
  agents_->SetEnqueueListener(nullptr);
}

TEST_F(AgentsTest, OverflowPolicies) {
  AgentConfig reject;
  reject.max_depth = 2;
  ASSERT_TRUE(agents_->Create("r", reject).ok());
  EXPECT_TRUE(agents_->Enqueue("r", "1", "o").ok());
  EXPECT_TRUE(agents_->Enqueue("r", "2", "o").ok());
  EXPECT_EQ(agents_->Enqueue("r", "3", "o").status().code(), Code::kResourceExhausted);
  EXPECT_EQ(*agents_->QueueDepth("r"), 2);

  AgentConfig dl = reject;
  dl.overflow = Overflow::kDeadletter;
  ASSERT_TRUE(agents_->Create("d", dl).ok());
  for (auto m : {"1", "2", "3"}) ASSERT_TRUE(agents_->Enqueue("d", m, "o").ok());
  EXPECT_EQ(*agents_->QueueDepth("d"), 2);
  auto dead = agents_->ListDeadletter("d");
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_NE((*dead)[0].reason.find("inbox full"), std::string::npos);

  AgentConfig drop = reject;
  drop.overflow = Overflow::kDropOldest;
  ASSERT_TRUE(agents_->Create("o", drop).ok());
  for (auto m : {"1", "2", "3"}) ASSERT_TRUE(agents_->Enqueue("o", m, "o").ok());
  auto q = agents_->ListInbox("o");
  ASSERT_EQ(q->size(), 2u);
  EXPECT_EQ((*ParseJson((*q)[0].envelope))["body"], 2);
}

TEST_F(AgentsTest, DeadletterReplayAndDiscard) {
  AgentConfig dl;
  dl.max_depth = 1;
  dl.overflow = Overflow::kDeadletter;
  ASSERT_TRUE(agents_->Create("d", dl).ok());
  for (auto m : {"1", "2", "3"}) ASSERT_TRUE(agents_->Enqueue("d", m, "o").ok());
  auto dead = agents_->ListDeadletter("d");
  ASSERT_EQ(dead->size(), 2u);
  ASSERT_TRUE(agents_->DropInbox("d", 1).ok());
  EXPECT_EQ(*agents_->ReplayDeadletter("d", (*dead)[0].seq), 1);
  EXPECT_EQ(*agents_->QueueDepth("d"), 1);
  EXPECT_EQ(agents_->ReplayDeadletter("d", 999).status().code(), Code::kNotFound);
  EXPECT_EQ(*agents_->DiscardDeadletter("d", -1), 1);
  EXPECT_EQ(agents_->ListDeadletter("d")->size(), 0u);
}

TEST_F(AgentsTest, StatusDocument) {
  ASSERT_TRUE(agents_->Create("s", AgentConfig{}).ok());
  ASSERT_TRUE(agents_->Enqueue("s", "hi", "o").ok());
  auto st = agents_->StatusJson("s");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  for (auto key :
       {"id", "kind", "state", "created_at", "last_tick_at", "last_tick_cause", "tick_count",
        "queue_depth", "deadletter_depth", "next_alarm_at", "storage_bytes"}) {
    EXPECT_TRUE(st->contains(key)) << key;
  }
  EXPECT_EQ((*st)["queue_depth"], 1);
  EXPECT_EQ((*st)["state"], "active");
  EXPECT_GT((*st)["storage_bytes"].get<int64_t>(), 0);
  ASSERT_TRUE(agents_->SetLifecycle("s", "hibernated").ok());
  EXPECT_EQ((*agents_->StatusJson("s"))["state"], "hibernated");
  EXPECT_EQ(agents_->SetLifecycle("s", "dancing").code(), Code::kInvalidArgument);
}

// The trigger-kept counters in `agents` must equal the aggregates they replace.
TEST_F(AgentsTest, CountersMatchTheTablesThroughEveryPath) {
  AgentConfig dl;
  dl.max_depth = 3;
  dl.overflow = Overflow::kDeadletter;
  ASSERT_TRUE(agents_->Create("k", dl).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(agents_->Enqueue("k", "m" + std::to_string(i), "o").ok());
  ASSERT_TRUE(agents_->DropInbox("k", 1).ok());
  ASSERT_TRUE(agents_->ReplayDeadletter("k", 4).ok());
  ASSERT_TRUE(agents_->Enqueue("k", "again", "o").ok());  // full again: dead-lettered
  ASSERT_TRUE(agents_->DiscardDeadletter("k", -1).ok());
  ASSERT_TRUE(agents_->Enqueue("k", "last", "o").ok());
  auto check = [&] {
    int64_t count = 0, bytes = 0, dead = 0, dead_bytes = 0;
    ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                     AGENT9_ASSIGN_OR_RETURN(
                         Stmt * s, c.Prepare("SELECT count(*), coalesce(sum(length(envelope)),0) "
                                             "FROM inbox WHERE agent='k'"));
                     AGENT9_ASSIGN_OR_RETURN(bool r, s->Step());
                     (void)r;
                     count = s->Int(0);
                     bytes = s->Int(1);
                     s->Reset();
                     AGENT9_ASSIGN_OR_RETURN(
                         Stmt * d, c.Prepare("SELECT count(*), coalesce(sum(length(envelope)),0) "
                                             "FROM deadletter WHERE agent='k'"));
                     AGENT9_ASSIGN_OR_RETURN(bool r2, d->Step());
                     (void)r2;
                     dead = d->Int(0);
                     dead_bytes = d->Int(1);
                     return Status::OK();
                   })
                    .ok());
    auto st = agents_->StatusJson("k");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ((*st)["queue_depth"], count);
    EXPECT_EQ((*st)["deadletter_depth"], dead);
    EXPECT_EQ(*agents_->QueueDepth("k"), count);
    auto cfg_len = DumpJson(agents_->GetConfig("k")->ToJson()).size();
    EXPECT_EQ((*st)["storage_bytes"].get<int64_t>(),
              static_cast<int64_t>(cfg_len) + 2 + bytes + dead_bytes);
  };
  check();
  EXPECT_EQ((*agents_->StatusJson("k"))["queue_depth"], 3);
}

TEST_F(AgentsTest, ConcurrentSendersLoseNothing) {
  AgentConfig big;
  big.max_depth = 100000;
  ASSERT_TRUE(agents_->Create("c", big).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = agents_->Enqueue("c", Json{{"t", t}, {"i", i}}.dump(), "s" + std::to_string(t));
        ASSERT_TRUE(r.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto q = agents_->ListInbox("c");
  ASSERT_EQ(q->size(), 400u);
  // Per-sender order is kept.
  std::map<int, int> last;
  for (const auto& m : *q) {
    auto body = (*ParseJson(m.envelope))["body"];
    int t = body["t"], i = body["i"];
    if (last.count(t)) {
      EXPECT_GT(i, last[t]);
    }
    last[t] = i;
  }
}

TEST_F(AgentsTest, StartingTheEngineReadsOnlyRunnableAgents) {
  // Engine::Start's query (tick/engine.cc) must use the partial index of active agents of a
  // kind that ticks, so hibernated and kind-none agents cost nothing at startup.
  for (auto id : {"idle", "sleepy"}) ASSERT_TRUE(agents_->Create(id, AgentConfig{}).ok());
  ASSERT_TRUE(agents_->SetLifecycle("sleepy", "hibernated").ok());
  std::string plan;
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(
                       Stmt * s,
                       c.Prepare("EXPLAIN QUERY PLAN SELECT id FROM agents WHERE state = "
                                 "'active' AND kind != 'none' AND (inbox_count > 0 OR "
                                 "init_pending = 1 OR EXISTS (SELECT 1 FROM events_in e WHERE "
                                 "e.agent = agents.id))"));
                   for (;;) {
                     AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                     if (!row) break;
                     plan += s->Text(3) + "\n";
                   }
                   return Status::OK();
                 })
                  .ok());
  EXPECT_NE(plan.find("USING INDEX agents_runnable"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN agents\n"), std::string::npos) << plan;
}

TEST_F(AgentsTest, CountIsKeptByTheStore) {
  EXPECT_EQ(*agents_->Count(), 0);
  for (auto id : {"a", "b", "c"}) ASSERT_TRUE(agents_->Create(id, AgentConfig{}).ok());
  EXPECT_EQ(agents_->Create("b", AgentConfig{}).status().code(), Code::kAlreadyExists);
  ASSERT_TRUE(agents_->Delete("a").ok());
  EXPECT_EQ(agents_->Delete("a").code(), Code::kNotFound);
  EXPECT_EQ(*agents_->Count(), 2);
  OpenStore();  // survives a restart
  EXPECT_EQ(*agents_->Count(), 2);
}

}  // namespace
// A status document is served from memory until the next commit of the daemon's Database:
// a change made behind its back (another process's sqlite3) is not seen until then, and
// every change made through it is seen at once.
TEST_F(AgentsTest, StatusIsReadAgainAfterEveryCommit) {
  ASSERT_TRUE(agents_->Create("c", AgentConfig{}).ok());
  EXPECT_EQ((*agents_->StatusJson("c"))["tick_count"], 0);
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(dir_.File("agent9.db").c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr),
            SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw, "UPDATE agents SET tick_count=42 WHERE id='c'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_EQ((*agents_->StatusJson("c"))["tick_count"], 0);  // from memory
  ASSERT_TRUE(agents_->Enqueue("c", "hello", "operator").ok());
  auto st = agents_->StatusJson("c");
  EXPECT_EQ((*st)["tick_count"], 42);
  EXPECT_EQ((*st)["queue_depth"], 1);
  // Any commit, even one of an unrelated table or agent.
  ASSERT_TRUE(agents_->Create("d", AgentConfig{}).ok());
  ASSERT_TRUE(db_->Write([](Conn& c) {
                   return c.Exec("UPDATE agents SET state='hibernated' WHERE id='c'");
                 })
                  .ok());
  EXPECT_EQ((*agents_->StatusJson("c"))["state"], "hibernated");
  ASSERT_TRUE(agents_->Delete("c").ok());
  EXPECT_EQ(agents_->StatusJson("c").status().code(), Code::kNotFound);
}

// A module field that changes with the time alone bounds how long the document is served.
class ClockStatus final : public Module {
 public:
  explicit ClockStatus(const Clock* clock) : clock_(clock) {}
  std::string_view name() const override { return "clockstatus"; }
  Status Open(const ModuleContext&) override { return Status::OK(); }
  Status AddStatus(Conn&, std::string_view, Json* status, int64_t* expires_ms) override {
    int64_t now = clock_->NowMs();
    (*status)["second"] = now / 1000;
    *expires_ms = std::min(*expires_ms, (now / 1000 + 1) * 1000);
    return Status::OK();
  }

 private:
  const Clock* clock_;
};

TEST_F(AgentsTest, StatusIsReadAgainWhenAModuleFieldExpires) {
  Modules modules;
  modules.Add(std::make_unique<ClockStatus>(&clock_));
  agents_->SetModules(&modules);
  ASSERT_TRUE(agents_->Create("e", AgentConfig{}).ok());
  int64_t second = clock_.NowMs() / 1000;
  clock_.AdvanceMs((second + 1) * 1000 - clock_.NowMs() - 10);  // 10 ms before the next
  EXPECT_EQ((*agents_->StatusJson("e"))["second"], second);
  clock_.AdvanceMs(9);
  EXPECT_EQ((*agents_->StatusJson("e"))["second"], second);
  clock_.AdvanceMs(1);
  EXPECT_EQ((*agents_->StatusJson("e"))["second"], second + 1);
  clock_.AdvanceMs(-5000);  // a clock set back is not trusted with the cached document
  EXPECT_EQ((*agents_->StatusJson("e"))["second"], second - 4);
  agents_->SetModules(nullptr);
}

// Readers racing writers never see a status older than a write they saw acknowledged.
TEST_F(AgentsTest, StatusNeverLagsAnAcknowledgedWrite) {
  ASSERT_TRUE(agents_->Create("r", AgentConfig{}).ok());
  std::atomic<int64_t> acked{0};
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        int64_t floor = acked.load();
        auto st = agents_->StatusJson("r");
        if (!st.ok() || (*st)["queue_depth"].get<int64_t>() < floor) ++stale;
      }
    });
  }
  for (int i = 1; i <= 300; ++i) {
    ASSERT_TRUE(agents_->Enqueue("r", "m" + std::to_string(i), "operator").ok());
    acked.store(i);
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_EQ((*agents_->StatusJson("r"))["queue_depth"], 300);
}

}  // namespace agent9
