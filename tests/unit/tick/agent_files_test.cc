#include "tick/agent_files.h"

#include <gtest/gtest.h>

#include "fs/file_service.h"
#include "tests/unit/testing/agent_store.h"
#include "tick/agent_bundle.h"
#include "tick/tick_store.h"

namespace agent9 {
namespace {

class AgentFilesTest : public testing::AgentStoreFixture {
 protected:
  void SetUp() override {
    AgentStoreFixture::SetUp();
    auto deps = std::make_shared<AgentTreeDeps>();
    deps->agents = agents_.get();
    deps->trace = &trace_;
    deps->calls = std::make_shared<CallCache>();
    auto table = std::make_shared<std::vector<TableEntry>>(
        std::vector<TableEntry>{{"agents", NodeType::kDir, [deps](NodeId id, const std::string&) {
                                   return MakeAgentsDir(id, deps);
                                 }}});
    fs_ = std::make_unique<FileService>(
        std::make_shared<TableDir>(kRootNodeId, "", Access{Who::kAdmin}, table),
        [](std::string_view) { return false; },
        [this](const Caller& who, const Node& n, const Status& st) {
          if (!n.owner().empty()) {
            trace_.Record(n.owner(), Json{{"caller", who.Name()}, {"message", st.message()}});
          }
        });
    auto agents_dir = fs_->Walk(P("/agents"), admin_);
    ASSERT_TRUE(agents_dir.ok());
    ASSERT_TRUE(fs_->Mkdir(**agents_dir, "alice", admin_).ok());
    ASSERT_TRUE(fs_->Mkdir(**agents_dir, "bob", admin_).ok());
  }

  Path P(std::string_view s) { return *Path::Parse(s); }
  std::string Read(std::string_view p, const Caller& who) {
    auto r = fs_->ReadAll(P(p), who);
    return r.ok() ? *r : "ERR " + r.status().ToString();
  }
  Status Write(std::string_view p, std::string_view data, const Caller& who) {
    return fs_->WriteAll(P(p), data, who);
  }
  std::vector<std::string> Ls(std::string_view p, const Caller& who) {
    std::vector<std::string> names;
    auto dir = fs_->Walk(P(p), who);
    if (!dir.ok()) return {"ERR " + dir.status().ToString()};
    auto list = fs_->List(**dir, who);
    if (!list.ok()) return {"ERR " + list.status().ToString()};
    for (const auto& e : *list) names.push_back(e.name);
    return names;
  }

  // Writes text a byte at a time on one handle (as `dd bs=1` does): the offset of the first
  // write that failed (npos: none) and what the close said.
  std::pair<size_t, Status> WriteBytes(std::string_view p, std::string_view text,
                                       const Caller& who) {
    Path path = P(p);
    auto node = fs_->Walk(path, who);
    auto dir = fs_->Walk(path.Parent(), who);  // held, as the mount's inode table does
    auto h = node.ok() ? fs_->Open(**node, OpenFlags{false, true, true, false}, who)
                       : fs_->Create(**dir, path.Base(), who);
    if (!h.ok()) return {0, h.status()};
    for (size_t i = 0; i < text.size(); ++i) {
      auto w = (*h)->Write(i, std::as_bytes(std::span(text.data() + i, 1)));
      if (!w.ok()) {
        EXPECT_EQ(w.status().code(), Code::kInvalidArgument) << w.status().ToString();
        return {i, (*h)->Flush()};
      }
    }
    return {std::string_view::npos, (*h)->Flush()};
  }

  StreamHub trace_;
  std::unique_ptr<FileService> fs_;
  Caller admin_ = Caller::Admin();
  Caller alice_ = Caller::Agent("alice");
};

TEST_F(AgentFilesTest, AgentsDirectory) {
  EXPECT_EQ(Ls("/agents", admin_), (std::vector<std::string>{"alice", "bob"}));
  auto dir = fs_->Walk(P("/agents"), admin_);
  EXPECT_EQ(fs_->Mkdir(**dir, "alice", admin_).code(), Code::kAlreadyExists);
  EXPECT_EQ(fs_->Mkdir(**dir, "Not-OK", admin_).code(), Code::kInvalidArgument);
  EXPECT_EQ(fs_->Mkdir(**dir, "eve", alice_).code(), Code::kPermissionDenied);
  EXPECT_EQ(fs_->List(**dir, admin_, ListRange{"alice", 1})->at(0).name, "bob");
  EXPECT_EQ(
      Ls("/agents/alice", admin_),
      (std::vector<std::string>{"ctl", "status", "state", "config", "inbox", "outbox", "deadletter",
                                "goals", "memory", "hud", "logs", "metrics", "mounts"}));
  EXPECT_EQ(fs_->Remove(**dir, "bob", alice_).code(), Code::kPermissionDenied);
  EXPECT_TRUE(fs_->Remove(**dir, "bob", admin_).ok());
  EXPECT_EQ(Read("/agents/bob/status", admin_).rfind("ERR not_found", 0), 0u);
}

TEST_F(AgentFilesTest, InboxEnqueueListReadRemove) {
  auto inbox = fs_->Walk(P("/agents/alice/inbox"), admin_);
  ASSERT_TRUE(inbox.ok());
  auto h = fs_->Create(**inbox, "anything", admin_);
  ASSERT_TRUE(h.ok());
  std::string msg = "hello\n";
  ASSERT_TRUE((*h)->Write(0, std::as_bytes(std::span(msg.data(), msg.size()))).ok());
  ASSERT_TRUE((*h)->Flush().ok());
  EXPECT_TRUE(Write("/agents/alice/inbox/x", R"({"id":"k1","body":{"n":2}})", alice_).ok());
  EXPECT_TRUE(Write("/agents/alice/inbox/y", R"({"id":"k1","body":{"n":2}})", alice_).ok());
  EXPECT_EQ(Ls("/agents/alice/inbox", admin_), (std::vector<std::string>{"1.json", "2.json"}));
  auto m1 = ParseJson(Read("/agents/alice/inbox/1.json", alice_));
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ((*m1)["body"]["text"], "hello");
  EXPECT_EQ((*m1)["from"], "operator");
  EXPECT_EQ((*ParseJson(Read("/agents/alice/inbox/2.json", admin_)))["from"], "alice");
  // bob may neither send to nor read alice's inbox.
  EXPECT_EQ(Write("/agents/alice/inbox/z", "hi", Caller::Agent("bob")).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Read("/agents/alice/inbox/1.json", Caller::Agent("bob")).rfind("ERR permission", 0),
            0u);
  // Only the admin removes messages.
  EXPECT_EQ(fs_->Remove(**inbox, "1.json", alice_).code(), Code::kPermissionDenied);
  EXPECT_TRUE(fs_->Remove(**inbox, "1.json", admin_).ok());
  EXPECT_EQ(fs_->Remove(**inbox, "1.json", admin_).code(), Code::kNotFound);
  EXPECT_EQ(Ls("/agents/alice/inbox", admin_), (std::vector<std::string>{"2.json"}));
  EXPECT_EQ(Read("/agents/alice/inbox/01.json", admin_).rfind("ERR not_found", 0), 0u);
  EXPECT_EQ(Write("/agents/alice/inbox/e", "", admin_).code(), Code::kInvalidArgument);
}

TEST_F(AgentFilesTest, ConfigIsValidatedAndAdminOnly) {
  auto cfg = ParseJson(Read("/agents/alice/config", alice_));
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ((*cfg)["inbox"]["max_depth"], 1000);
  EXPECT_EQ(Write("/agents/alice/config", R"({"kind":"echo"})", alice_).code(),
            Code::kPermissionDenied);
  EXPECT_TRUE(Write("/agents/alice/config", R"({"kind":"echo","max_attempts":5})", admin_).ok());
  EXPECT_EQ(Write("/agents/alice/config", R"({"max_attempts":0})", admin_).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Write("/agents/alice/config", "garbage", admin_).code(), Code::kInvalidArgument);
  auto now = ParseJson(Read("/agents/alice/config", admin_));
  EXPECT_EQ((*now)["kind"], "echo");
  EXPECT_EQ((*now)["max_attempts"], 5);
  EXPECT_EQ((*ParseJson(Read("/agents/alice/status", admin_)))["kind"], "echo");
}

TEST_F(AgentFilesTest, GoalsCrud) {
  EXPECT_TRUE(
      Write("/agents/alice/goals/g1.json", R"({"description":"ship","priority":1})", alice_).ok());
  EXPECT_EQ(Write("/agents/alice/goals/g2.json", R"({"priority":1})", alice_).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Write("/agents/alice/goals/g3.json", R"({"description":"x","status":"maybe"})", alice_)
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Write("/agents/alice/goals/bad name.json", R"({"description":"x"})", alice_).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Write("/agents/alice/goals/g4.txt", R"({"description":"x"})", alice_).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Ls("/agents/alice/goals", alice_), std::vector<std::string>{"g1.json"});
  EXPECT_EQ(Read("/agents/alice/goals/g1.json", alice_), R"({"description":"ship","priority":1})");
  EXPECT_TRUE(
      Write("/agents/alice/goals/g1.json", R"({"description":"ship it","status":"done"})", alice_)
          .ok());
  EXPECT_NE(Read("/agents/alice/goals/g1.json", admin_).find("ship it"), std::string::npos);
  auto goals = fs_->Walk(P("/agents/alice/goals"), alice_);
  EXPECT_TRUE(fs_->Remove(**goals, "g1.json", alice_).ok());
  EXPECT_TRUE(Ls("/agents/alice/goals", alice_).empty());
}

TEST_F(AgentFilesTest, ConversationsAppend) {
  EXPECT_TRUE(
      Write("/agents/alice/memory/conversations/c1.jsonl", "{\"role\":\"user\"}\n", alice_).ok());
  auto node = fs_->Walk(P("/agents/alice/memory/conversations/c1.jsonl"), alice_);
  ASSERT_TRUE(node.ok());
  OpenFlags append{false, true, false, true};
  auto h = fs_->Open(**node, append, alice_);
  ASSERT_TRUE(h.ok());
  std::string line = "{\"role\":\"agent\"}\n";
  ASSERT_TRUE((*h)->Write(0, std::as_bytes(std::span(line.data(), line.size()))).ok());
  ASSERT_TRUE((*h)->Flush().ok());
  EXPECT_EQ(Read("/agents/alice/memory/conversations/c1.jsonl", alice_),
            "{\"role\":\"user\"}\n{\"role\":\"agent\"}\n");
  // A complete line that is not JSON fails the write itself (where `echo >>` sees it).
  auto bad = fs_->Open(**node, append, alice_);
  std::string junk = "not json\n";
  EXPECT_EQ((*bad)->Write(0, std::as_bytes(std::span(junk.data(), junk.size()))).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE((*bad)->Flush().ok());  // nothing is committed
  EXPECT_EQ(Read("/agents/alice/memory/conversations/c1.jsonl", alice_),
            "{\"role\":\"user\"}\n{\"role\":\"agent\"}\n");
  // Goals cannot be appended to: the open fails.
  EXPECT_TRUE(Write("/agents/alice/goals/g.json", R"({"description":"x"})", alice_).ok());
  auto goal = fs_->Walk(P("/agents/alice/goals/g.json"), alice_);
  EXPECT_EQ(fs_->Open(**goal, append, alice_).status().code(), Code::kUnimplemented);
  EXPECT_TRUE(Write("/agents/alice/memory/patterns/p.json", R"({"when":"x"})", alice_).ok());
  EXPECT_EQ(Ls("/agents/alice/memory", alice_),
            (std::vector<std::string>{"conversations", "patterns", "export"}));
}

// Every validated file in an agent's tree takes a valid document a byte at a time, and fails
// the exact write() that makes its document impossible, storing nothing.
TEST_F(AgentFilesTest, ValidatedFilesFailAtTheWriteThatMakesThemImpossible) {
  const std::pair<std::string, std::string> good[] = {
      {"goals/g.json",
       "{\"description\":\"caf\xC3\xA9 \\u00e9 \xF0\x9F\x98\x80\",\"priority\":-2}\n"},
      {"memory/patterns/p.json", " {\"when\":[1.5e3,true,null,{\"a\":[]}]}"},
      {"memory/conversations/c.jsonl", "{\"role\":\"user\"}\n\n[1,\"\\uD83D\\uDE00\"]\n"},
      {"config", "{\"kind\":\"echo\",\"max_attempts\":5}\n"},
      {"hud/settings", "{\"public\":false}"},
  };
  for (const auto& [file, doc] : good) {
    std::string path = "/agents/alice/" + file;
    auto [failed_at, closed] = WriteBytes(path, doc, admin_);
    EXPECT_EQ(failed_at, std::string_view::npos) << file;
    EXPECT_TRUE(closed.ok()) << file << ": " << closed.ToString();
    if (file != "config" && file != "hud/settings") EXPECT_EQ(Read(path, admin_), doc);
  }
  struct Bad {
    std::string file;
    std::string text;
    size_t at;
  };
  const Bad bad[] = {
      {"goals/g.json", "{not json\n", 1},
      {"goals/g.json", "[]", 0},
      {"goals/g.json", "{\"description\":\"x\"} x", 20},
      {"goals/g.json", "{\"priority\":1}", 13},  // whole, and no description
      {"goals/g.json", "{\"description\":\"x\",\"priority\":1.}", 32},
      {"goals/g.json", "{\"description\":\"\xC3(\"}", 17},
      {"goals/g.json", "{\"description\":\"\\uDC00\"}", 19},
      {"memory/patterns/p.json", "{\"a\":tru}", 8},
      {"memory/conversations/c.jsonl", "{}\n{\"a\":\n", 8},
      {"memory/conversations/c.jsonl", "[1]\n[1,]\n", 7},
      {"config", "{\"kind\":\"echo\",}", 15},
      {"config", "{\"max_attempts\":0}", 17},  // whole, and out of range
      {"hud/settings", "{\"public\":yes}", 10},
  };
  for (const Bad& b : bad) {
    std::string path = "/agents/alice/" + b.file;
    std::string before = Read(path, admin_);
    auto [failed_at, closed] = WriteBytes(path, b.text, admin_);
    EXPECT_EQ(failed_at, b.at) << b.file << " " << b.text;
    EXPECT_TRUE(closed.ok()) << b.file << ": the failed write said it already";
    EXPECT_EQ(Read(path, admin_), before) << b.file << " " << b.text;
  }
}

// A document still incomplete at close fails the close, stores nothing, and the trace says
// why; a config's message never quotes it (env may hold secrets).
TEST_F(AgentFilesTest, AnIncompleteDocumentFailsTheCloseAndIsTraced) {
  for (std::string file : {"goals/x.json", "memory/conversations/c.jsonl", "config"}) {
    std::string path = "/agents/alice/" + file;
    std::string before = Read(path, admin_);
    std::string text = file == "config" ? "{\"env\":{\"TOKEN\":\"sk-secret" : "{\"a\":";
    auto [failed_at, closed] = WriteBytes(path, text, admin_);
    EXPECT_EQ(failed_at, std::string_view::npos) << file;
    EXPECT_EQ(closed.code(), Code::kInvalidArgument) << file;
    EXPECT_EQ(Read(path, admin_), before) << file;
    EXPECT_EQ(Write(path, text, admin_).code(), Code::kInvalidArgument) << file;  // HTTP PUT
  }
  std::string trace = trace_.Get("alice")->Retained();
  EXPECT_NE(trace.find("goals/x.json: incomplete document: syntax error while parsing value - "
                       "unexpected end of input; expected '[', '{', or a literal"),
            std::string::npos)
      << trace;
  EXPECT_NE(trace.find("memory/conversations/c.jsonl: line 1: incomplete document"),
            std::string::npos)
      << trace;
  EXPECT_NE(trace.find("config: incomplete document: syntax error while parsing value - "
                       "invalid string: missing closing quote"),
            std::string::npos)
      << trace;
  EXPECT_EQ(trace.find("sk-secret"), std::string::npos) << trace;
}

// Found by fuzzing (fuzz/json_fuzz.cc, fuzz/docs_fuzz.cc): a NUL ended a JSON line early, so
// "{}\0junk" passed as JSON; a deeply nested alarm payload was stored and copied at every tick.
TEST_F(AgentFilesTest, NulLinesAndDeepAlarmPayloadsAreNotStoredAsJson) {
  EXPECT_EQ(
      Write("/agents/alice/memory/conversations/c.jsonl", std::string("{}\0junk\n", 8), alice_)
          .code(),
      Code::kInvalidArgument);
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  ASSERT_TRUE(Write("/agents/alice/ctl", "alarm 100 " + deep, admin_).ok());
  std::string payload;
  ASSERT_TRUE(db_->Read([&](Conn& c) -> Status {
                   AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT payload FROM alarms"));
                   AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                   if (row) payload = s->Text(0);
                   return Status::OK();
                 })
                  .ok());
  EXPECT_EQ(payload.substr(0, 3), "\"[[");  // kept as text, not as a 100000-deep array
}

TEST_F(AgentFilesTest, MemoryExportIsTheBundleForTheAdminAndTheAgent) {
  EXPECT_TRUE(Write("/agents/alice/goals/g.json", R"({"description":"x"})", alice_).ok());
  auto bundle = ExportAgent(*agents_, "alice");
  ASSERT_TRUE(bundle.ok());
  EXPECT_EQ(Read("/agents/alice/memory/export", admin_), *bundle);  // the same (fake) clock
  EXPECT_EQ(Read("/agents/alice/memory/export", alice_), *bundle);
  EXPECT_EQ(Read("/agents/alice/memory/export", Caller::Agent("bob")).rfind("ERR permission", 0),
            0u);
  EXPECT_EQ(Write("/agents/alice/memory/export", "x", admin_).code(), Code::kPermissionDenied);
}

TEST_F(AgentFilesTest, CtlVerbs) {
  EXPECT_TRUE(Write("/agents/alice/ctl", "hibernate\n", alice_).ok());
  EXPECT_EQ((*ParseJson(Read("/agents/alice/status", admin_)))["state"], "hibernated");
  EXPECT_TRUE(Write("/agents/alice/ctl", "wake", admin_).ok());
  EXPECT_EQ((*ParseJson(Read("/agents/alice/status", admin_)))["state"], "active");
  EXPECT_EQ(Write("/agents/alice/ctl", "tick", admin_).code(), Code::kUnimplemented);
  EXPECT_EQ(Write("/agents/alice/ctl", "alarm soon", admin_).code(), Code::kInvalidArgument);
  EXPECT_TRUE(Write("/agents/alice/ctl", "alarm 100 {\"k\":1}", admin_).ok());
  EXPECT_NE(Read("/agents/alice/ctl", admin_).find("alarm 1 due "), std::string::npos);
  EXPECT_NE((*ParseJson(Read("/agents/alice/status", admin_)))["next_alarm_at"], nullptr);
  EXPECT_EQ(Write("/agents/alice/ctl", "cancel-alarm one", admin_).code(), Code::kInvalidArgument);
  EXPECT_TRUE(Write("/agents/alice/ctl", "cancel-alarm 1", admin_).ok());
  EXPECT_EQ(Write("/agents/alice/ctl", "cancel-alarm 1", admin_).code(), Code::kNotFound);
  EXPECT_EQ((*ParseJson(Read("/agents/alice/status", admin_)))["next_alarm_at"], nullptr);
  EXPECT_EQ(Write("/agents/alice/ctl", "dance", admin_).code(), Code::kInvalidArgument);
  EXPECT_EQ(Write("/agents/alice/ctl", "wake", Caller::Agent("bob")).code(),
            Code::kPermissionDenied);
  // The messages errno drops are in the agent's trace.
  auto node = fs_->Walk(P("/agents/alice/logs/trace"), alice_);
  ASSERT_TRUE(node.ok());
  OpenFlags nb;
  nb.wait_ms = 0;
  auto h = fs_->Open(**node, nb, alice_);
  ASSERT_TRUE(h.ok());
  auto text = ReadToEnd(**h);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("unknown control message: dance"), std::string::npos);
}

TEST_F(AgentFilesTest, DeadletterCtl) {
  EXPECT_TRUE(
      Write("/agents/alice/config", R"({"inbox":{"max_depth":1,"overflow":"deadletter"}})", admin_)
          .ok());
  EXPECT_TRUE(Write("/agents/alice/inbox/a", "one", admin_).ok());
  EXPECT_TRUE(Write("/agents/alice/inbox/b", "two", admin_).ok());
  EXPECT_EQ(Ls("/agents/alice/deadletter", admin_), (std::vector<std::string>{"ctl", "2.json"}));
  auto d = ParseJson(Read("/agents/alice/deadletter/2.json", admin_));
  ASSERT_TRUE(d.ok());
  EXPECT_NE((*d)["reason"].get<std::string>().find("inbox full"), std::string::npos);
  EXPECT_EQ((*d)["body"]["text"], "two");
  EXPECT_EQ(Write("/agents/alice/deadletter/ctl", "replay nine", admin_).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(Write("/agents/alice/deadletter/ctl", "discard all", admin_).ok());
  EXPECT_EQ(Ls("/agents/alice/deadletter", admin_), std::vector<std::string>{"ctl"});
}

TEST_F(AgentFilesTest, HudSettingsAdminWritesAgentReads) {
  EXPECT_EQ((*ParseJson(Read("/agents/alice/hud/settings", alice_)))["public"], false);
  EXPECT_EQ(Write("/agents/alice/hud/settings", R"({"public":true})", alice_).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(Write("/agents/alice/hud/settings", R"({"public":"yes"})", admin_).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(Write("/agents/alice/hud/settings", R"({"colour":1})", admin_).code(),
            Code::kInvalidArgument);
  EXPECT_FALSE(agents_->IsPublic("alice"));
  EXPECT_TRUE(Write("/agents/alice/hud/settings", R"({"public":true})", admin_).ok());
  EXPECT_TRUE(agents_->IsPublic("alice"));
  EXPECT_EQ((*ParseJson(Read("/agents/alice/hud/settings", alice_)))["redaction_policy"],
            "default");
}

TEST_F(AgentFilesTest, MountsAndState) {
  EXPECT_EQ(Read("/agents/alice/state", alice_), "{}\n");
  std::string mounts = Read("/agents/alice/mounts", alice_);
  EXPECT_NE(mounts.find("/inbox/\tagent\tlocal"), std::string::npos);
}

TEST_F(AgentFilesTest, MetricsApmAndQueue) {
  // Four tick records now: 1 ok (2 actions), 2 failed, 2 ok (1 action), 3 ok (0 actions).
  auto record = [](int64_t tick, bool ok, int64_t sent, int64_t emitted) {
    return Json{{"tick", tick},
                {"result", ok ? "ok" : "error"},
                {"effects", {{"sent", sent}, {"emitted", emitted}, {"alarms", 0}}}};
  };
  ASSERT_TRUE(
      db_->Write([&](Conn& c) -> Status {
           int64_t now = clock_.NowMs();
           AGENT9_RETURN_IF_ERROR(AppendTrajectory(c, "alice", record(1, true, 1, 1), now, 100));
           AGENT9_RETURN_IF_ERROR(AppendTrajectory(c, "alice", record(2, false, 0, 0), now, 100));
           AGENT9_RETURN_IF_ERROR(AppendTrajectory(c, "alice", record(2, true, 0, 1), now, 100));
           return AppendTrajectory(c, "alice", record(3, true, 0, 0), now, 100);
         })
          .ok());
  Json apm = *ParseJson(Read("/agents/alice/metrics/apm", alice_));
  EXPECT_EQ(apm["apm"], 3);
  EXPECT_EQ(apm["ticks"], 4);
  EXPECT_EQ(apm["failed"], 1);
  EXPECT_EQ(apm["window_s"], 60);
  clock_.AdvanceMs(61'000);  // the window moved past them
  apm = *ParseJson(Read("/agents/alice/metrics/apm", alice_));
  EXPECT_EQ(apm["apm"], 0);
  EXPECT_EQ(apm["ticks"], 0);

  Json q = *ParseJson(Read("/agents/alice/metrics/queue", alice_));
  EXPECT_EQ(q["inbox_depth"], 0);
  EXPECT_TRUE(q["oldest_message_age_ms"].is_null());
  ASSERT_TRUE(agents_->Enqueue("alice", "one", "http").ok());
  clock_.AdvanceMs(250);
  ASSERT_TRUE(agents_->Enqueue("alice", "two", "http").ok());
  ASSERT_TRUE(agents_->AddEvent("alice", Json{{"type", "job.done"}}).ok());
  ASSERT_TRUE(agents_->AddAlarm("alice", 5000, std::nullopt, Json(nullptr)).ok());
  q = *ParseJson(Read("/agents/alice/metrics/queue", alice_));
  EXPECT_EQ(q["inbox_depth"], 2);
  EXPECT_EQ(q["oldest_message_age_ms"], 250);
  EXPECT_EQ(q["events_pending"], 1);
  EXPECT_EQ(q["alarms_pending"], 1);
  EXPECT_EQ(q["next_alarm_at"], Rfc3339(clock_.NowMs() + 5000));
  EXPECT_EQ(q["retrying"], 0);
  // Another agent's metrics are out of reach.
  EXPECT_EQ(Read("/agents/bob/metrics/queue", alice_).rfind("ERR", 0), 0u);

  // logs/trajectory takes a tick range as open parameters (HTTP ?from=&to=).
  auto read_range = [&](std::vector<std::pair<std::string, std::string>> params) {
    auto node = fs_->Walk(P("/agents/alice/logs/trajectory"), alice_);
    OpenFlags f;
    f.params = std::move(params);
    auto h = fs_->Open(**node, f, alice_);
    if (!h.ok()) return "ERR " + h.status().ToString();
    std::string out(1 << 16, '\0');
    auto n = (*h)->Read(0, std::as_writable_bytes(std::span<char>(out.data(), out.size())));
    out.resize(n.ok() ? *n : 0);
    return out;
  };
  auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };
  EXPECT_EQ(lines(read_range({})), 4);
  EXPECT_EQ(lines(read_range({{"from", "2"}, {"to", "2"}})), 2);  // both attempts at tick 2
  EXPECT_EQ(lines(read_range({{"from", "3"}})), 1);
  EXPECT_EQ(lines(read_range({{"to", "1"}})), 1);
  EXPECT_EQ(lines(read_range({{"from", "9"}})), 0);
  for (auto bad : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"from", "x"}},
           {{"from", "-1"}},
           {{"to", ""}},
           {{"from", "3"}, {"to", "1"}},
           {{"to", "99999999999999999999"}}}) {
    EXPECT_NE(read_range(bad).find("invalid"), std::string::npos) << bad[0].first;
  }
}

}  // namespace
}  // namespace agent9
