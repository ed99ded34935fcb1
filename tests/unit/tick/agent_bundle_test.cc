#include "tick/agent_bundle.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <regex>

#include "tests/unit/testing/agent_store.h"
#include "tick/agent_docs.h"
#include "tick/tick_store.h"

namespace agent9 {
namespace {

// A hand-made ustar writer, so tests can build bundles libarchive would never write
// (links, devices, "..", absolute names, duplicates).
class Ustar {
 public:
  Ustar& Add(const std::string& name, const std::string& data, char type = '0',
             const std::string& link = "") {
    char h[512] = {};
    std::snprintf(h, 100, "%s", name.c_str());
    std::snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
    std::snprintf(h + 108, 8, "%07o", 0);
    std::snprintf(h + 116, 8, "%07o", 0);
    std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(data.size()));
    std::snprintf(h + 136, 12, "%011o", 1700000000u);
    h[156] = type;
    std::snprintf(h + 157, 100, "%s", link.c_str());
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    out_.append(h, 512);
    out_ += data;
    out_.append((512 - data.size() % 512) % 512, '\0');
    return *this;
  }
  std::string Done() const { return out_ + std::string(1024, '\0'); }

 private:
  std::string out_;
};

std::string Manifest(const std::string& agent, int64_t format = 1) {
  return DumpJson(Json{{"format", format},
                       {"agent", agent},
                       {"created_at", "2026-01-02T03:04:05.678Z"},
                       {"state", "active"}});
}

// The smallest valid bundle.
Ustar Minimal(const std::string& agent = "min") {
  Ustar t;
  t.Add("manifest.json", Manifest(agent))
      .Add("config.json", R"({"kind":"echo"})")
      .Add("state.json", R"({"n":1})");
  return t;
}

// One store (data dir, database, service) of its own.
struct Store {
  Store() {
    auto opened = Database::Open(dir.File("agent9.db"));
    EXPECT_TRUE(opened.ok());
    db = std::move(opened).value();
    EXPECT_TRUE(AgentService::Migrate(*db).ok());
    agents = std::make_unique<AgentService>(db.get(), &clock);
    agents->SetEnqueueListener([this](std::string_view a) { notified.emplace_back(a); });
  }
  testing::TempDir dir;
  FakeClock clock{1'800'000'000'000};
  std::unique_ptr<Database> db;
  std::unique_ptr<AgentService> agents;
  std::vector<std::string> notified;
};

// Every row the store holds for one agent, as text, so two agents can be compared whole.
// No column holds the agent's id, so a clone compares equal to its original.
std::string Dump(Database& db, const std::string& id, bool with_created_at = true) {
  std::string out;
  Status st = db.Read([&](Conn& c) -> Status {
    auto rows = [&](const std::string& sql) -> Status {
      AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(sql));
      s->Bind(1, id);
      for (;;) {
        AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) break;
        out += sql.substr(7, 40) + " |";
        for (int i = 0; i < 16; ++i) {
          std::string v = s->IsNull(i) ? "NULL" : s->Text(i);
          out += " " + v;
        }
        out += "\n";
      }
      return Status::OK();
    };
    std::string created = with_created_at ? "created_at" : "0";
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT kind, state, config, max_depth, overflow, state_json, " + created +
             ", last_tick_at, last_tick_cause, tick_count, next_seq, is_public, inbox_count, "
             "inbox_bytes, dead_count, dead_bytes FROM agents WHERE id=?"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT doc_bytes, next_event, next_record, next_alarm, init_pending, "
             "init_attempts, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM agents WHERE id=?"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT ns, name, body, CASE ns WHEN 'hud' THEN 0 ELSE updated_at END, 0, 0, 0, 0, 0, "
             "0, 0, 0, 0, 0, 0, 0 FROM docs WHERE "
             "agent=? ORDER BY ns, name"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT seq, msg_id, sender, ts, envelope, attempts, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 "
             "FROM inbox WHERE agent=? ORDER BY seq"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT msg_id, seq, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM message_ids "
             "WHERE agent=? ORDER BY msg_id"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT seq, envelope, reason, attempts, at, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM "
             "deadletter WHERE agent=? ORDER BY seq"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT seq, event, at, attempts, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM "
             "events_in WHERE agent=? ORDER BY seq"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT seq, event, at, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM outbox WHERE "
             "agent=? ORDER BY seq"));
    AGENT9_RETURN_IF_ERROR(
        rows("SELECT n, record, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM trajectory WHERE "
             "agent=? ORDER BY n"));
    return rows(
        "SELECT id, due_at, every_ms, payload, attempts, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM "
        "alarms WHERE agent=? ORDER BY id");
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

class AgentBundleTest : public ::testing::Test {
 protected:
  // alice with every kind of content: goals, memory, hud settings, three queued messages
  // (one with a client id), a dead letter, a pending event, a once and a recurring alarm,
  // outbox events, trajectory records and a state past several ticks.
  void SetUp() override {
    AgentService& a = *src_.agents;
    AgentConfig cfg;
    cfg.kind = "echo";
    cfg.max_depth = 3;
    cfg.overflow = Overflow::kDeadletter;
    ASSERT_TRUE(a.Create("alice", cfg).ok());
    AgentDocStore goals(src_.db.get(), &src_.clock, "alice", GoalRules());
    ASSERT_TRUE(goals.Put("g1.json", R"({"description":"ship","priority":2})").ok());
    ASSERT_TRUE(goals.Put("g2.json", "{\"description\":\"rest\",\"status\":\"done\"}\n").ok());
    AgentDocStore conv(src_.db.get(), &src_.clock, "alice", ConversationRules());
    ASSERT_TRUE(conv.Append("c1.jsonl", "{\"role\":\"user\",\"text\":\"hi\"}\n").ok());
    ASSERT_TRUE(conv.Append("c1.jsonl", "{\"role\":\"agent\",\"text\":\"hello\"}\n").ok());
    AgentDocStore pat(src_.db.get(), &src_.clock, "alice", PatternRules());
    ASSERT_TRUE(pat.Put("p1.json", R"({"when":"x","then":"y"})").ok());
    ASSERT_TRUE(a.SetHudSettings("alice", Json{{"public", true}}).ok());
    ASSERT_TRUE(a.Enqueue("alice", "first", "operator").ok());
    src_.clock.AdvanceMs(5);
    ASSERT_TRUE(a.Enqueue("alice", R"({"id":"m-2","body":{"n":2}})", "http").ok());
    src_.clock.AdvanceMs(5);
    ASSERT_TRUE(a.Enqueue("alice", R"({"n":3})", "bob").ok());
    auto dl = a.Enqueue("alice", "overflow", "operator");  // max_depth 3: dead-lettered
    ASSERT_TRUE(dl.ok() && dl->deadlettered);
    ASSERT_TRUE(a.Enqueue("alice", R"({"id":"d-5","body":"late"})", "http")->deadlettered);
    ASSERT_TRUE(a.AddEvent("alice", Json{{"job", "j1"}, {"status", "done"}}).ok());
    ASSERT_TRUE(a.AddAlarm("alice", 60'000, std::nullopt, Json{{"wake", "once"}}).ok());
    ASSERT_TRUE(a.AddAlarm("alice", 1'000, 30'000, "tick-tock").ok());
    ASSERT_TRUE(src_.db
                    ->Write([&](Conn& c) -> Status {
                      for (int i = 1; i <= 3; ++i) {
                        Json rec{{"tick", i},
                                 {"agent", "alice"},
                                 {"started_at", Rfc3339(src_.clock.NowMs() + i)},
                                 {"result", i == 2 ? "error" : "ok"},
                                 {"effects", {{"sent", 1}, {"emitted", i}, {"alarms", 0}}}};
                        AGENT9_RETURN_IF_ERROR(
                            AppendTrajectory(c, "alice", rec, src_.clock.NowMs() + i, 100));
                        AGENT9_RETURN_IF_ERROR(
                            AppendEvent(c, "alice", DumpJson(Json{{"type", "note"}, {"i", i}}),
                                        src_.clock.NowMs(), 100)
                                .status());
                      }
                      AGENT9_ASSIGN_OR_RETURN(
                          Stmt * u,
                          c.Prepare("UPDATE agents SET state_json=?, tick_count=3, "
                                    "last_tick_at=?, last_tick_cause='message', init_pending=0, "
                                    "state='hibernated' WHERE id='alice'"));
                      u->Bind(1, DumpJson(Json::parse(R"({"echoed":3,"deep":{"a":[1,2.5]}})")));
                      u->Bind(2, src_.clock.NowMs());
                      return u->Run();
                    })
                    .ok());
    src_.clock.AdvanceMs(1000);
  }

  Result<std::string> Export() { return ExportAgent(*src_.agents, "alice"); }

  Store src_;
};

TEST(ImportModeTest, Parse) {
  EXPECT_EQ(*ParseImportMode("restore"), ImportMode::kRestore);
  EXPECT_EQ(*ParseImportMode("clone"), ImportMode::kClone);
  for (std::string_view bad : {"", "Restore", "copy", "clone "}) {
    EXPECT_EQ(ParseImportMode(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ImportModeName(ImportMode::kClone), "clone");
}

TEST_F(AgentBundleTest, RestoreRoundTripKeepsEverything) {
  auto tar = Export();
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  Store dst;
  auto id = ImportAgent(*dst.agents, *tar, ImportMode::kRestore);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, "alice");
  EXPECT_EQ(Dump(*dst.db, "alice"), Dump(*src_.db, "alice"));
  EXPECT_EQ(dst.notified, std::vector<std::string>{"alice"});
  // Exporting the restored agent gives the same bundle (at the same clock time).
  dst.clock.AdvanceMs(src_.clock.NowMs() - dst.clock.NowMs());
  auto again_tar = ExportAgent(*dst.agents, "alice");
  ASSERT_TRUE(again_tar.ok());
  EXPECT_TRUE(*again_tar == *tar) << "the bundle of the restored agent differs";
  // The queue keeps its order and the status document is the same.
  auto in = dst.agents->ListInbox("alice");
  ASSERT_EQ(in->size(), 3u);
  EXPECT_NE((*in)[0].envelope.find("first"), std::string::npos);
  EXPECT_NE((*in)[1].envelope.find("m-2"), std::string::npos);
  EXPECT_EQ(DumpJson(*dst.agents->StatusJson("alice")),
            DumpJson(*src_.agents->StatusJson("alice")));
  EXPECT_EQ(*dst.agents->DescribeAlarms("alice"), *src_.agents->DescribeAlarms("alice"));
  EXPECT_EQ(*dst.agents->Trajectory("alice"), *src_.agents->Trajectory("alice"));
  // The idempotency key of a queued message still holds.
  auto again = dst.agents->Enqueue("alice", R"({"id":"m-2","body":{"n":2}})", "http");
  EXPECT_TRUE(again.ok() && again->duplicate);
  // New rows continue past the imported ones.
  auto more = dst.agents->Enqueue("alice", "later", "operator");
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(more->deadlettered);  // the inbox is still full (max_depth 3)
  EXPECT_EQ(more->seq, 7);
  auto dead_again = dst.agents->Enqueue("alice", R"({"id":"d-5","body":"late"})", "http");
  EXPECT_TRUE(dead_again.ok() && dead_again->duplicate);
}

TEST_F(AgentBundleTest, BundleLayoutAndManifest) {
  auto tar = Export();
  ASSERT_TRUE(tar.ok());
  for (std::string_view name :
       {"manifest.json", "config.json", "state.json", "goals/g1.json", "goals/g2.json",
        "memory/conversations/c1.jsonl", "memory/patterns/p1.json", "inbox.jsonl",
        "deadletter.jsonl", "events.jsonl", "outbox.jsonl", "trajectory.jsonl", "alarms.json"}) {
    EXPECT_NE(tar->find(std::string(name) + '\0'), std::string::npos) << name;
  }
  size_t at = tar->find("{\n  \"agent\"");
  ASSERT_NE(at, std::string::npos);
  auto manifest = ParseJson(tar->substr(at, tar->find("}\n", at) - at + 2));
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ((*manifest)["format"], 1);
  EXPECT_EQ((*manifest)["agent"], "alice");
  EXPECT_TRUE((*manifest)["pubkey"].is_null());
  EXPECT_EQ((*manifest)["state"], "hibernated");
  EXPECT_EQ((*manifest)["tick_count"], 3);
  EXPECT_EQ((*manifest)["hud_settings"]["public"], true);
  EXPECT_EQ((*manifest)["exported_at"], Rfc3339(src_.clock.NowMs()));
  EXPECT_EQ(tar->find("token"), std::string::npos);
  EXPECT_EQ(ExportAgent(*src_.agents, "nobody").status().code(), Code::kNotFound);
  EXPECT_EQ(ExportAgent(*src_.agents, "../x").status().code(), Code::kInvalidArgument);
}

TEST_F(AgentBundleTest, CloneGetsANewIdAndTheSameContent) {
  auto tar = Export();
  ASSERT_TRUE(tar.ok());
  std::string before = Dump(*src_.db, "alice");
  auto id = ImportAgent(*src_.agents, *tar, ImportMode::kClone);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(std::regex_match(*id, std::regex("alice-[0-9a-f]{6}"))) << *id;
  EXPECT_EQ(Dump(*src_.db, "alice"), before);  // the original is untouched
  EXPECT_EQ(Dump(*src_.db, *id, false), Dump(*src_.db, "alice", false));
  EXPECT_EQ(src_.agents->Get(*id)->created_at, src_.clock.NowMs());  // a new agent
  auto named = ImportAgent(*src_.agents, *tar, ImportMode::kClone, "alice2");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(*named, "alice2");
  EXPECT_EQ(ImportAgent(*src_.agents, *tar, ImportMode::kClone, "alice2").status().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(ImportAgent(*src_.agents, *tar, ImportMode::kClone, "Bad!").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ImportAgent(*src_.agents, *tar, ImportMode::kRestore, "other").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(*src_.agents->Count(), 3);
}

TEST_F(AgentBundleTest, RestoreOntoAnExistingIdChangesNothing) {
  auto tar = Export();
  ASSERT_TRUE(tar.ok());
  ASSERT_TRUE(src_.agents->Enqueue("alice", R"({"id":"x"})", "operator").ok());  // differs now
  std::string before = Dump(*src_.db, "alice");
  src_.notified.clear();
  auto r = ImportAgent(*src_.agents, *tar, ImportMode::kRestore);
  EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(Dump(*src_.db, "alice"), before);
  EXPECT_TRUE(src_.notified.empty());
  EXPECT_EQ(*src_.agents->Count(), 1);
}

TEST_F(AgentBundleTest, AMinimalBundleImports) {
  Store dst;
  auto id = ImportAgent(*dst.agents, Minimal().Done(), ImportMode::kRestore);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*dst.agents->GetState("min"), R"({"n":1})");
  EXPECT_EQ(dst.agents->Get("min")->kind, "echo");
  // A tar made by `tar -C dir -cf - .` names entries "./x" and holds "./".
  Ustar dotted;
  dotted.Add("./", "", '5')
      .Add("./manifest.json", Manifest("dotted"))
      .Add("./config.json", "{}")
      .Add("./state.json", "{}")
      .Add("./goals/", "", '5')
      .Add("./goals/a.json", R"({"description":"a"})");
  auto d = ImportAgent(*dst.agents, dotted.Done(), ImportMode::kRestore);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
}

TEST_F(AgentBundleTest, ImportsWithAKindTheRuntimeLacksFail) {
  Store dst;
  AgentKinds kinds = AgentKinds::WithBuiltins();
  dst.agents->SetKinds(&kinds);
  Ustar t;
  t.Add("manifest.json", Manifest("k")).Add("config.json", R"({"kind":"exotic"})");
  t.Add("state.json", "{}");
  auto r = ImportAgent(*dst.agents, t.Done(), ImportMode::kRestore);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("config.json"), std::string::npos);
  EXPECT_EQ(*dst.agents->Count(), 0);
}

struct Hostile {
  std::string name;
  std::function<std::string(const std::string& good_export)> make;
  Code code;
  std::string in_message;
};

TEST_F(AgentBundleTest, HostileBundlesAreRefusedAndLeaveNothing) {
  auto good = Export();
  ASSERT_TRUE(good.ok());
  auto with = [](std::function<void(Ustar&)> fn) {
    return [fn](const std::string&) {
      Ustar t = Minimal("h");
      fn(t);
      return t.Done();
    };
  };
  std::vector<Hostile> cases = {
      {"empty", [](const std::string&) { return std::string(); }, Code::kInvalidArgument, "empty"},
      {"garbage", [](const std::string&) { return std::string(4096, 'G'); }, Code::kInvalidArgument,
       "tar"},
      {"truncated", [](const std::string& g) { return g.substr(0, 700); }, Code::kInvalidArgument,
       ""},
      {"truncated in a later entry",
       [](const std::string& g) { return g.substr(0, g.find(std::string("alarms.json\0")) + 520); },
       Code::kInvalidArgument, "alarms.json"},
      {"dot-dot", with([](Ustar& t) { t.Add("../evil", "x"); }), Code::kInvalidArgument, ".."},
      {"dot-dot inside", with([](Ustar& t) { t.Add("goals/../../evil.json", "{}"); }),
       Code::kInvalidArgument, ".."},
      {"absolute", with([](Ustar& t) { t.Add("/abs", "x"); }), Code::kInvalidArgument, "absolute"},
      {"symlink", with([](Ustar& t) { t.Add("goals/l.json", "", '2', "/etc/passwd"); }),
       Code::kInvalidArgument, "symbolic link"},
      {"hardlink", with([](Ustar& t) { t.Add("goals/h.json", "", '1', "config.json"); }),
       Code::kInvalidArgument, "hard link"},
      {"device", with([](Ustar& t) { t.Add("inbox.jsonl", "", '3'); }), Code::kInvalidArgument,
       "regular files"},
      {"fifo", with([](Ustar& t) { t.Add("outbox.jsonl", "", '6'); }), Code::kInvalidArgument,
       "regular files"},
      {"duplicate manifest", with([](Ustar& t) { t.Add("manifest.json", Manifest("h")); }),
       Code::kInvalidArgument, "duplicate"},
      {"unknown entry", with([](Ustar& t) { t.Add("notes.txt", "hi"); }), Code::kInvalidArgument,
       "notes.txt"},
      {"unknown directory", with([](Ustar& t) { t.Add("secrets/", "", '5'); }),
       Code::kInvalidArgument, "secrets"},
      {"nested goal name", with([](Ustar& t) { t.Add("goals/a/b.json", "{}"); }),
       Code::kInvalidArgument, "goals/a/b.json"},
      {"no manifest",
       [](const std::string&) {
         Ustar t;
         t.Add("config.json", "{}").Add("state.json", "{}");
         return t.Done();
       },
       Code::kInvalidArgument, "manifest.json"},
      {"no config",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("h")).Add("state.json", "{}");
         return t.Done();
       },
       Code::kInvalidArgument, "config.json"},
      {"bad manifest format",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("h", 2)).Add("config.json", "{}").Add("state.json", "{}");
         return t.Done();
       },
       Code::kInvalidArgument, "format 2"},
      {"manifest not JSON",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", "{nope").Add("config.json", "{}").Add("state.json", "{}");
         return t.Done();
       },
       Code::kInvalidArgument, "manifest.json"},
      {"bad agent id",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("Bad/Id")).Add("config.json", "{}");
         t.Add("state.json", "{}");
         return t.Done();
       },
       Code::kInvalidArgument, "agent"},
      {"invalid config",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("h")).Add("config.json", R"({"timeout_ms":-1})");
         t.Add("state.json", "{}");
         return t.Done();
       },
       Code::kInvalidArgument, "config.json"},
      {"state not JSON",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("h")).Add("config.json", "{}").Add("state.json", "{");
         return t.Done();
       },
       Code::kInvalidArgument, "state.json"},
      {"state nested too deep",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("h")).Add("config.json", "{}");
         t.Add("state.json", std::string(100000, '[') + std::string(100000, ']'));
         return t.Done();
       },
       Code::kInvalidArgument, "nested"},
      {"invalid goal", with([](Ustar& t) { t.Add("goals/g.json", R"({"priority":1})"); }),
       Code::kInvalidArgument, "goals/g.json"},
      {"bad goal name", with([](Ustar& t) { t.Add("goals/g.txt", R"({"description":"x"})"); }),
       Code::kInvalidArgument, "goals/g.txt"},
      {"pattern not an object", with([](Ustar& t) { t.Add("memory/patterns/p.json", "[1]"); }),
       Code::kInvalidArgument, "memory/patterns/p.json"},
      {"conversation not JSON lines",
       with([](Ustar& t) { t.Add("memory/conversations/c.jsonl", "{}\nnot json\n"); }),
       Code::kInvalidArgument, "line 2"},
      {"bad JSON in inbox.jsonl", with([](Ustar& t) { t.Add("inbox.jsonl", "{\"seq\":1,\n"); }),
       Code::kInvalidArgument, "inbox.jsonl line 1"},
      // Found by fuzz/bundle_import_fuzz.cc's seeds: the JSON parser stopped at a NUL.
      {"NUL in a JSON line", with([](Ustar& t) {
         t.Add("events.jsonl", std::string(R"({"seq":1,"event":{},"at":"2026-01-01T00:00:00.000Z")"
                                           R"(,"attempts":0})"
                                           "\0junk\n",
                                           71));
       }),
       Code::kInvalidArgument, "events.jsonl line 1 is not valid JSON"},
      {"envelope without body", with([](Ustar& t) {
         t.Add("inbox.jsonl",
               R"({"seq":1,"attempts":0,"ts":"2026-01-01T00:00:00.000Z","envelope":{"id":"x"}})");
       }),
       Code::kInvalidArgument, "body"},
      {"inbox out of order", with([](Ustar& t) {
         std::string line =
             R"(,"attempts":0,"ts":"2026-01-01T00:00:00.000Z","envelope":{"body":1}})";
         t.Add("inbox.jsonl", "{\"seq\":2" + line + "\n{\"seq\":1" + line + "\n");
       }),
       Code::kInvalidArgument, "out of order"},
      {"bad time", with([](Ustar& t) {
         t.Add("deadletter.jsonl",
               R"({"seq":1,"attempts":0,"at":"yesterday","reason":"r","envelope":{"body":1}})");
       }),
       Code::kInvalidArgument, "RFC 3339"},
      {"alarm every_ms too small", with([](Ustar& t) {
         t.Add("alarms.json", R"([{"id":1,"due_at":"2026-01-01T00:00:00.000Z","every_ms":1}])");
       }),
       Code::kInvalidArgument, "every_ms"},
      {"alarms not an array", with([](Ustar& t) { t.Add("alarms.json", "{}"); }),
       Code::kInvalidArgument, "alarms.json"},
      {"trajectory line not an object", with([](Ustar& t) { t.Add("trajectory.jsonl", "7\n"); }),
       Code::kInvalidArgument, "trajectory.jsonl line 1"},
      {"oversized entry",
       with([](Ustar& t) { t.Add("goals/big.json", std::string(17 << 20, ' ')); }), Code::kTooLarge,
       "goals/big.json"},
      {"oversized config",
       [](const std::string&) {
         Ustar t;
         t.Add("manifest.json", Manifest("h")).Add("config.json", std::string(100000, ' '));
         return t.Done();
       },
       Code::kTooLarge, "config.json"},
      {"oversized bundle", [](const std::string&) { return std::string((64 << 20) + 1, '\0'); },
       Code::kTooLarge, "64 MiB"},
  };
  for (const auto& c : cases) {
    Store dst;
    auto r = ImportAgent(*dst.agents, c.make(*good), ImportMode::kRestore);
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.in_message), std::string::npos)
        << c.name << ": " << r.status().message();
    EXPECT_EQ(*dst.agents->Count(), 0) << c.name;
    EXPECT_TRUE(dst.notified.empty()) << c.name;
  }
}

}  // namespace
}  // namespace agent9
