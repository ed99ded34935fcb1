// The core schema's upgrade path: a store made by an older binary keeps every row, key and
// cascade when the newer steps run over it.
#include "tick/agent_schema.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/testing/temp_dir.h"
#include "tick/agents.h"
#include "tick/tick_record.h"

namespace agent9 {
namespace {

Result<std::string> TableSql(Database& db, std::string_view table) {
  std::string sql;
  AGENT9_RETURN_IF_ERROR(db.Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT sql FROM sqlite_master WHERE name=?"));
    s->Bind(1, table);
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) sql = s->Text(0);
    s->Reset();
    return row ? Status::OK() : Status::NotFound("no table", table);
  }));
  return sql;
}

// Step 8 rebuilds outbox, trajectory and tick_records as rowid tables: a store written
// before it keeps its rows, their keys stay unique, an agent's delete still cascades, and
// the service reads them as before.
TEST(AgentSchema, TheTickLogsMoveToRowidTablesWithEveryRowKept) {
  testing::TempDir dir;
  FakeClock clock;
  auto db = Database::Open(dir.File("agent9.db"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto steps = CoreSchemaSteps();
  ASSERT_GE(steps.size(), 8u);
  ASSERT_TRUE((*db)->Migrate("core", steps.first(7)).ok());
  ASSERT_NE(TableSql(**db, "trajectory")->find("WITHOUT ROWID"), std::string::npos);
  // The rows an older daemon left: two agents, each with events, records and replay input.
  ASSERT_TRUE((*db)
                  ->Write([](Conn& c) -> Status {
                    for (const char* id : {"a", "b"}) {
                      AGENT9_ASSIGN_OR_RETURN(
                          Stmt * s, c.Prepare("INSERT INTO agents(id, kind, config, max_depth, "
                                              "overflow, created_at, updated_at, next_event, "
                                              "next_record) VALUES(?, 'none', '{}', 10, "
                                              "'reject', 1, 1, 3, 3)"));
                      s->Bind(1, std::string_view(id));
                      AGENT9_RETURN_IF_ERROR(s->Run());
                      for (int64_t n = 1; n <= 2; ++n) {
                        AGENT9_ASSIGN_OR_RETURN(
                            Stmt * e, c.Prepare("INSERT INTO outbox(agent, seq, event, at) "
                                                "VALUES(?, ?, ?, ?)"));
                        e->Bind(1, std::string_view(id)).Bind(2, n);
                        e->Bind(3, R"({"n":)" + std::to_string(n) + "}").Bind(4, 100 + n);
                        AGENT9_RETURN_IF_ERROR(e->Run());
                        AGENT9_ASSIGN_OR_RETURN(
                            Stmt * t, c.Prepare("INSERT INTO trajectory(agent, n, record, tick, "
                                                "at, actions, ok) VALUES(?, ?, ?, ?, ?, 0, 1)"));
                        t->Bind(1, std::string_view(id)).Bind(2, n);
                        t->Bind(3, R"({"tick":)" + std::to_string(n) + R"(,"result":"ok"})");
                        t->Bind(4, n).Bind(5, 100 + n);
                        AGENT9_RETURN_IF_ERROR(t->Run());
                        AGENT9_RETURN_IF_ERROR(RecordTick(
                            c, id, n, R"({"tick":)" + std::to_string(n) + "}", "{}", 100));
                      }
                    }
                    return Status::OK();
                  })
                  .ok());

  ASSERT_TRUE(AgentService::Migrate(**db).ok());
  for (const char* table : {"outbox", "trajectory", "tick_records"}) {
    auto sql = TableSql(**db, table);
    ASSERT_TRUE(sql.ok()) << table;
    EXPECT_EQ(sql->find("WITHOUT ROWID"), std::string::npos) << *sql;
    EXPECT_NE(sql->find("PRIMARY KEY"), std::string::npos) << *sql;
    EXPECT_EQ(TableSql(**db, std::string(table) + "_v8").status().code(), Code::kNotFound);
  }
  AgentService agents(db->get(), &clock);
  for (const char* id : {"a", "b"}) {
    auto out = agents.ListOutbox(id);
    ASSERT_TRUE(out.ok());
    ASSERT_EQ(out->size(), 2u);
    EXPECT_EQ(std::get<1>((*out)[1]), R"({"n":2})");
    EXPECT_EQ(std::get<2>((*out)[1]), 102);
    auto traj = agents.Trajectory(id);
    ASSERT_TRUE(traj.ok());
    ASSERT_EQ(traj->size(), 2u);
    EXPECT_EQ((*traj)[0], R"({"tick":1,"result":"ok"})");
    EXPECT_EQ(*agents.Trajectory(id, 2, 2), std::vector<std::string>{(*traj)[1]});
  }
  ASSERT_TRUE((*db)
                  ->Read([](Conn& c) -> Status {
                    AGENT9_ASSIGN_OR_RETURN(Json rec, LoadTickRecord(c, "b", 2));
                    EXPECT_EQ(rec["input"]["tick"], 2);
                    return Status::OK();
                  })
                  .ok());
  // The keys are still keys: a second (agent, n) is refused, and the replay record's upsert
  // still finds its row.
  Status dup = (*db)->Write([](Conn& c) -> Status {
    return c.Exec("INSERT INTO trajectory(agent, n, record) VALUES('a', 1, '{}')");
  });
  EXPECT_FALSE(dup.ok());
  ASSERT_TRUE((*db)
                  ->Write([](Conn& c) -> Status {
                    return RecordTick(c, "a", 2, R"({"again":true})", "{}", 100);
                  })
                  .ok());
  ASSERT_TRUE((*db)
                  ->Read([](Conn& c) -> Status {
                    AGENT9_ASSIGN_OR_RETURN(Json rec, LoadTickRecord(c, "a", 2));
                    EXPECT_EQ(rec["input"], Json({{"again", true}}));
                    return Status::OK();
                  })
                  .ok());
  // The foreign keys came along: deleting an agent takes its rows.
  ASSERT_TRUE(agents.Delete("a").ok());
  int64_t left = -1;
  ASSERT_TRUE((*db)
                  ->Read([&](Conn& c) -> Status {
                    AGENT9_ASSIGN_OR_RETURN(
                        Stmt * s, c.Prepare("SELECT (SELECT count(*) FROM outbox WHERE agent='a') "
                                            "+ (SELECT count(*) FROM trajectory WHERE agent='a') "
                                            "+ (SELECT count(*) FROM tick_records WHERE "
                                            "agent='a')"));
                    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                    if (row) left = s->Int(0);
                    s->Reset();
                    return Status::OK();
                  })
                  .ok());
  EXPECT_EQ(left, 0);
  EXPECT_EQ(agents.ListOutbox("b")->size(), 2u);
}

}  // namespace
}  // namespace agent9
