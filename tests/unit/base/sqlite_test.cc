#include "fs/base/sqlite.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/unit/testing/temp_dir.h"

namespace agent9 {
namespace {

constexpr std::string_view kSteps[] = {
    "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT NOT NULL)",
    "CREATE INDEX t_v ON t(v)",
};

Result<int64_t> CountRows(Database& db) {
  int64_t n = 0;
  AGENT9_RETURN_IF_ERROR(db.Read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT count(*) FROM t"));
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    n = row ? s->Int(0) : 0;
    return Status::OK();
  }));
  return n;
}

Status Insert(Database& db, int64_t k, std::string_view v) {
  return db.Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(?, ?)"));
    s->Bind(1, k).Bind(2, v);
    return s->Run();
  });
}

// Opens the store at path and applies kSteps, or fails.
Result<std::unique_ptr<Database>> OpenMigrated(const std::string& path, DatabaseOptions opts = {}) {
  AGENT9_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, opts));
  AGENT9_RETURN_IF_ERROR(db->Migrate("m", kSteps));
  return db;
}

// One write that holds the commit turn until `followers` other writers (one thread each)
// are queued behind it, then commits; returns once every follower has been answered.
void HoldTheTurnWhileOthersQueue(Database& db, int followers) {
  std::vector<std::thread> threads;
  Status first = db.Write([&](Conn& c) -> Status {
    for (int t = 0; t < followers; ++t) {
      threads.emplace_back([&, t] { EXPECT_TRUE(Insert(db, 100 + t, "f").ok()); });
    }
    for (int i = 0; i < 5000 && db.Stats().queued < followers; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(db.Stats().queued, followers);
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(1, 'first')"));
    return s->Run();
  });
  EXPECT_TRUE(first.ok()) << first.ToString();
  for (auto& th : threads) th.join();
}

TEST(Database, MigratesOnceAndPersists) {
  testing::TempDir dir;
  {
    auto db = OpenMigrated(dir.File("a.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Migrate("m", kSteps).ok());  // idempotent
    ASSERT_TRUE(Insert(**db, 1, "one").ok());
  }
  auto db = OpenMigrated(dir.File("a.db"));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*CountRows(**db), 1);
  // A binary older than the schema refuses to run on it.
  std::span<const std::string_view> older(kSteps, 1);
  EXPECT_EQ((*db)->Migrate("m", older).code(), Code::kInternal);
}

TEST(Database, GenerationMovesWithEveryCommitAndNeverWithARead) {
  testing::TempDir dir;
  auto db = Database::Open(dir.File("gen.db"));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("t", kSteps).ok());
  uint64_t g0 = (*db)->Generation();
  ASSERT_TRUE(CountRows(**db).ok());
  EXPECT_EQ((*db)->Generation(), g0);
  ASSERT_TRUE((*db)->Write([](Conn& c) { return c.Exec("INSERT INTO t(v) VALUES('a')"); }).ok());
  uint64_t g1 = (*db)->Generation();
  EXPECT_NE(g1, g0);
  // A write that fails rolls back; the generation still moves (nothing is assumed of it).
  EXPECT_FALSE((*db)->Write([](Conn&) { return Status::Internal("no"); }).ok());
  EXPECT_NE((*db)->Generation(), g1);
}

TEST(Database, SqliteKeepsNoMemoryStatistics) {
  // With them every sqlite3_malloc takes one process-wide mutex (fs/base/sqlite.cc).
  testing::TempDir dir;
  auto db = Database::Open(dir.File("m.db"));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Migrate("t", kSteps).ok());
  ASSERT_TRUE((*db)->Write([](Conn& c) { return c.Exec("INSERT INTO t(v) VALUES('a')"); }).ok());
  ASSERT_EQ(*CountRows(**db), 1);
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

TEST(Database, ConcurrentWritesAreGroupCommittedAndAllLand) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("g.db"));
  ASSERT_TRUE(db.ok());
  constexpr int kThreads = 16, kEach = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!Insert(**db, t * kEach + i + 1, "x").ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*CountRows(**db), kThreads * kEach);
}

TEST(Database, WritesQueuedWhileABatchRunsJoinItBeforeItCommits) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("b.db"));
  ASSERT_TRUE(db.ok());
  const Database::WriteStats before = (*db)->Stats();
  constexpr int kFollowers = 8;
  HoldTheTurnWhileOthersQueue(**db, kFollowers);
  const Database::WriteStats after = (*db)->Stats();
  EXPECT_EQ(after.writes - before.writes, 1 + kFollowers);
  // The 8 queued while the first write ran: its batch takes them in before it commits.
  EXPECT_EQ(after.commits - before.commits, 1);
  EXPECT_EQ(after.queued, 0);
  EXPECT_EQ(*CountRows(**db), 1 + kFollowers);
}

// A commit wakes only its own callers and the oldest waiter left in the queue, which must
// then take the turn: with batches capped at 2, the held batch takes one of the 8 writers
// queued behind it, and the other 7 need 4 hand-offs; a lost one would leave the rest waiting
// forever (the test's timeout).
TEST(Database, AQueueLongerThanABatchIsCommittedByHandOffs) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("h.db"), DatabaseOptions{.max_batch = 2});
  ASSERT_TRUE(db.ok());
  const Database::WriteStats before = (*db)->Stats();
  constexpr int kFollowers = 8;
  HoldTheTurnWhileOthersQueue(**db, kFollowers);
  const Database::WriteStats after = (*db)->Stats();
  EXPECT_EQ(after.writes - before.writes, 1 + kFollowers);
  EXPECT_EQ(after.commits - before.commits, 1 + kFollowers / 2);  // then 4 batches of 2
  EXPECT_EQ(after.queued, 0);
  EXPECT_EQ(*CountRows(**db), 1 + kFollowers);
}

// Many writers at once, in batches smaller than the crowd: each is answered exactly once
// with its own result, and every good write lands.
TEST(Database, ManyWritersInSmallBatchesAllGetTheirOwnAnswer) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("m.db"), DatabaseOptions{.max_batch = 3});
  ASSERT_TRUE(db.ok());
  constexpr int kThreads = 32, kEach = 40;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int k = 1000 + t * kEach + i;
        // Every 5th write fails on purpose; its batch-mates must not.
        Status st = (*db)->Write([&](Conn& c) -> Status {
          AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(?, 'x')"));
          s->Bind(1, int64_t{k});
          AGENT9_RETURN_IF_ERROR(s->Run());
          return k % 5 == 0 ? Status::InvalidArgument("refused", std::to_string(k)) : Status::OK();
        });
        if (k % 5 == 0) {
          EXPECT_EQ(st.code(), Code::kInvalidArgument);
          EXPECT_NE(st.ToString().find(std::to_string(k)), std::string::npos) << st.ToString();
          ++failed;
        } else {
          EXPECT_TRUE(st.ok()) << st.ToString();
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok + failed, kThreads * kEach);
  EXPECT_EQ(*CountRows(**db), ok.load());
  EXPECT_EQ((*db)->Stats().queued, 0);
}

TEST(Database, AFailingWriteRollsBackAloneInItsBatch) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("r.db"));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(Insert(**db, 1, "a").ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, dup{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      // Half the writers insert a row and then fail: their row must not survive.
      Status st = (*db)->Write([&](Conn& c) -> Status {
        AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(?, ?)"));
        s->Bind(1, 100 + t).Bind(2, "b");
        AGENT9_RETURN_IF_ERROR(s->Run());
        if (t % 2) return Status::InvalidArgument("changed my mind");
        return Status::OK();
      });
      (st.ok() ? ok : dup)++;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(*CountRows(**db), 1 + 4);
  EXPECT_EQ(Insert(**db, 1, "again").code(), Code::kAlreadyExists);  // constraint
}

TEST(Database, InjectedFaultFailsTheWriteAndKeepsNothing) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("f.db"));
  ASSERT_TRUE(db.ok());
  (*db)->InjectWriteFault(2, Code::kUnavailable);
  EXPECT_TRUE(Insert(**db, 1, "a").ok());
  EXPECT_EQ(Insert(**db, 2, "b").code(), Code::kUnavailable);
  EXPECT_TRUE(Insert(**db, 3, "c").ok());
  EXPECT_EQ(*CountRows(**db), 2);
}

// At kFull a batch is answered only after the WAL sync that began after its commit: the
// sync count a write's callback sees must have moved by the time that write returns. A
// write answered at its COMMIT, before the sync outside the commit turn, fails this.
TEST(Database, AWriteIsAnsweredOnlyAfterTheSyncThatCoversIt) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("s.db"));
  ASSERT_TRUE(db.ok());
  constexpr int kThreads = 16, kEach = 40;
  std::atomic<int> early{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        int64_t seen = -1;
        Status st = (*db)->Write([&](Conn& c) -> Status {
          seen = (*db)->Stats().syncs;
          AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(?, 'x')"));
          s->Bind(1, t * 1000 + i);
          return s->Run();
        });
        if (!st.ok()) ++failed;
        if ((*db)->Stats().syncs <= seen) ++early;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(early.load(), 0);
  const Database::WriteStats stats = (*db)->Stats();
  EXPECT_EQ(stats.syncs, stats.commits);   // one sync per commit, none skipped
  EXPECT_LT(stats.commits, stats.writes);  // and they were batched
  EXPECT_EQ(*CountRows(**db), kThreads * kEach);

  // At kNormal nothing waits for a sync of the WAL.
  DatabaseOptions normal;
  normal.sync = SyncMode::kNormal;
  auto n = OpenMigrated(dir.File("n.db"), normal);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(Insert(**n, 1, "a").ok());
  EXPECT_EQ((*n)->Stats().syncs, 0);
}

// A failed sync leaves what is on disk unknown: its batch's callers get the error (never an
// OK for a write that may not be durable), and so does every later write, until a restart.
// Readers go on: the batch did commit, and may be seen.
TEST(Database, AFailedSyncFailsItsBatchAndEveryWriteAfterIt) {
  testing::TempDir dir;
  const std::string path = dir.File("e.db");
  {
    auto db = OpenMigrated(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Insert(**db, 1, "a").ok());
    (*db)->InjectSyncFault();
    Status st = Insert(**db, 2, "b");
    EXPECT_EQ(st.code(), Code::kInternal);
    EXPECT_NE(st.message().find("sync of the WAL failed"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("until the daemon restarts"), std::string::npos);
    Status later = Insert(**db, 3, "c");
    EXPECT_EQ(later.code(), Code::kInternal);
    EXPECT_NE(later.message().find("sync of the WAL failed"), std::string::npos);
    EXPECT_EQ(*CountRows(**db), 2);  // row 2 committed; row 3 never ran
  }
  auto db = Database::Open(path);  // a restart writes again
  ASSERT_TRUE(db.ok());
  EXPECT_TRUE(Insert(**db, 3, "c").ok());
  EXPECT_EQ(*CountRows(**db), 3);
}

// The next batch runs its writes during the previous batch's sync. When that sync fails, the
// running batch must roll back rather than commit (a later fdatasync can succeed although an
// earlier one lost pages), and a write queued after the failure never runs.
TEST(Database, AWriteRunningDuringAFailedSyncIsNotCommittedAfterIt) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("g.db"));
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(Insert(**db, 1, "a").ok());
  std::thread during;
  std::atomic<bool> ran{false};
  Status during_st;
  (*db)->InjectSyncFault([&] {
    // Row 2 is committed and its sync is running: a write now takes the free commit turn,
    // runs, and waits for this sync before it may commit.
    during = std::thread([&] {
      during_st = (*db)->Write([&](Conn& c) -> Status {
        AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(3, 'c')"));
        AGENT9_RETURN_IF_ERROR(s->Run());
        ran = true;
        return Status::OK();
      });
    });
    for (int i = 0; i < 5000 && !ran; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  Status st = Insert(**db, 2, "b");
  during.join();
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(st.code(), Code::kInternal) << st.ToString();
  EXPECT_EQ(during_st.code(), Code::kInternal) << during_st.ToString();
  EXPECT_NE(during_st.message().find("sync of the WAL failed"), std::string::npos);
  int calls = 0;
  Status after = (*db)->Write([&](Conn&) -> Status {
    ++calls;
    return Status::OK();
  });
  EXPECT_EQ(after.code(), Code::kInternal);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(*CountRows(**db), 2);  // 1, and 2 (committed before its sync failed); never 3
}

TEST(Database, ReadersSeeCommittedDataWhileWritesRun) {
  testing::TempDir dir;
  auto db = OpenMigrated(dir.File("w.db"));
  ASSERT_TRUE(db.ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 1; i <= 300; ++i) ASSERT_TRUE(Insert(**db, i, "w").ok());
    stop = true;
  });
  int64_t last = 0;
  while (!stop) {
    auto n = CountRows(**db);
    ASSERT_TRUE(n.ok());
    EXPECT_GE(*n, last);  // monotonic: readers never see a write undone
    last = *n;
  }
  writer.join();
  EXPECT_EQ(*CountRows(**db), 300);
  EXPECT_GT((*db)->SizeBytes(), 0);
}

TEST(Database, ReaderPageCachesAreBounded) {
  // One reader per thread reading at once: each keeps at most reader_cache_kib of pages,
  // so the daemon's memory does not follow the database's size times its workers.
  testing::TempDir dir;
  DatabaseOptions opts;
  opts.reader_cache_kib = 256;
  auto db = Database::Open(dir.File("c.db"), opts);
  ASSERT_TRUE(db.ok());
  auto cache_size = [&](bool writer) {
    int64_t v = 0;
    auto read = [&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("PRAGMA cache_size"));
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      v = row ? s->Int(0) : 0;
      return Status::OK();
    };
    EXPECT_TRUE((writer ? (*db)->Write(read) : (*db)->Read(read)).ok());
    return v;
  };
  EXPECT_EQ(cache_size(false), -256);  // KiB
  EXPECT_EQ(cache_size(true), -2000);  // the writer keeps SQLite's default
  EXPECT_EQ(DatabaseOptions{}.reader_cache_kib, 512);
}

}  // namespace
}  // namespace agent9
