// The WAL write-gathering VFS (fs/base/sqlite_wal_vfs.h) under Database: what a commit
// acknowledged is in the files by then, readers see it at once, and transactions larger than
// its buffer, SQLite's page cache or one write of the unix VFS commit and roll back whole.
#include "fs/base/sqlite_wal_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fs/base/sqlite.h"
#include "tests/unit/testing/temp_dir.h"

namespace agent9 {
namespace {

constexpr std::string_view kSteps[] = {"CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB NOT NULL)"};

Status Insert(Conn& c, int64_t k, int64_t bytes) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("INSERT INTO t(k, v) VALUES(?, zeroblob(?))"));
  s->Bind(1, k).Bind(2, bytes);
  AGENT9_RETURN_IF_ERROR(s->Run());
  // Different bytes per row, so a page written from a stale buffer would not compare equal.
  AGENT9_ASSIGN_OR_RETURN(Stmt * u, c.Prepare("UPDATE t SET v=randomblob(?) WHERE k=?"));
  u->Bind(1, bytes).Bind(2, k);
  return u->Run();
}

// count(*) and sum(length(v)) of t, read through `read`.
std::pair<int64_t, int64_t> Totals(const std::function<Status(const Database::ReadFn&)>& read) {
  std::pair<int64_t, int64_t> out{-1, -1};
  Status st = read([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT count(*), total(length(v)) FROM t"));
    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) out = {s->Int(0), s->Int(1)};
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::string VfsName(Database& db) {
  std::string name;
  (void)db.Read([&](Conn& c) -> Status {
    sqlite3_vfs* vfs = nullptr;
    sqlite3_file_control(c.raw(), "main", SQLITE_FCNTL_VFS_POINTER, &vfs);
    name = vfs ? vfs->zName : "";
    return Status::OK();
  });
  return name;
}

// Opens a copy of the store's files with the stock VFS and no shared memory file: what a
// process would find after kill -9 at this moment.
std::pair<int64_t, int64_t> TotalsOfACopy(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::copy_file(from + "-wal", to + "-wal", fs::copy_options::overwrite_existing);
  fs::remove(to + "-shm");
  auto copy = Database::Open(to);
  EXPECT_TRUE(copy.ok());
  if (!copy.ok()) return {-1, -1};
  return Totals([&](const Database::ReadFn& fn) { return (*copy)->Read(fn); });
}

// A store at the default (FULL) with table t, or a failed assertion.
std::unique_ptr<Database> OpenStore(const std::string& path) {
  auto db = Database::Open(path);
  EXPECT_TRUE(db.ok());
  if (!db.ok()) return nullptr;
  EXPECT_TRUE((*db)->Migrate("m", kSteps).ok());
  return std::move(*db);
}

TEST(WalBufferVfs, IsUsedAtFullOnly) {
  testing::TempDir dir;
  auto full = Database::Open(dir.File("full.db"));
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(VfsName(**full), "agent9-walbuf");
  DatabaseOptions normal;
  normal.sync = SyncMode::kNormal;
  auto n = Database::Open(dir.File("normal.db"), normal);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(VfsName(**n), sqlite3_vfs_find(nullptr)->zName);
}

TEST(WalBufferVfs, EveryAcknowledgedCommitIsInTheFilesAndSeenByReaders) {
  testing::TempDir dir;
  const std::string path = dir.File("s.db");
  std::unique_ptr<Database> db = OpenStore(path);
  ASSERT_TRUE(db);
  auto read = [&](const Database::ReadFn& fn) { return db->Read(fn); };
  int64_t bytes = 0;
  // Small rows, rows spanning pages, and a row past the 128 KiB the unix VFS writes at once.
  const int64_t sizes[] = {10, 3000, 70'000, 300'000, 1};
  for (int64_t k = 1; k <= 40; ++k) {
    const int64_t size = sizes[k % 5];
    ASSERT_TRUE(db->Write([&](Conn& c) { return Insert(c, k, size); }).ok());
    bytes += size;
    EXPECT_EQ(Totals(read), std::make_pair(k, bytes)) << "row " << k;
    if (k % 8 == 0) {
      EXPECT_EQ(TotalsOfACopy(path, dir.File("copy.db")), std::make_pair(k, bytes)) << k;
    }
  }
}

TEST(WalBufferVfs, ConcurrentWritersAllLandAndReadersNeverSeeATornCommit) {
  testing::TempDir dir;
  const std::string path = dir.File("c.db");
  std::unique_ptr<Database> db = OpenStore(path);
  ASSERT_TRUE(db);
  constexpr int kThreads = 8, kEach = 50;
  std::vector<std::thread> writers;
  std::atomic<int> done{0};
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int64_t k = t * kEach + i + 1;
        // Each row's size is its key times 100, so the byte total tells a torn read.
        EXPECT_TRUE(db->Write([&](Conn& c) { return Insert(c, k, k * 100); }).ok());
      }
      ++done;
    });
  }
  auto read = [&](const Database::ReadFn& fn) { return db->Read(fn); };
  int64_t last = 0;
  while (done < kThreads) {
    auto [n, b] = Totals(read);
    EXPECT_GE(n, last);
    last = n;
    // Every row seen has its full size: the sum over the keys present, each k * 100.
    int64_t want = -1;
    (void)db->Read([&](Conn& c) -> Status {
      AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("SELECT total(k) * 100, total(length(v)) "
                                                  "FROM t"));
      AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
      if (row) {
        EXPECT_EQ(s->Int(0), s->Int(1));
      }
      want = row ? s->Int(0) : -1;
      return Status::OK();
    });
    EXPECT_GE(want, 0);
  }
  for (auto& w : writers) w.join();
  const int64_t n = kThreads * kEach;
  EXPECT_EQ(Totals(read), std::make_pair(n, n * (n + 1) / 2 * 100));
  EXPECT_EQ(TotalsOfACopy(path, dir.File("copy.db")), std::make_pair(n, n * (n + 1) / 2 * 100));
}

TEST(WalBufferVfs, AWriteLargerThanTheBufferAndTheCacheCommitsOrRollsBackWhole) {
  testing::TempDir dir;
  const std::string path = dir.File("big.db");
  std::unique_ptr<Database> db = OpenStore(path);
  ASSERT_TRUE(db);
  auto read = [&](const Database::ReadFn& fn) { return db->Read(fn); };
  // 12 MiB in one write: past the 4 MiB buffer and the writer's 2 MiB page cache, so SQLite
  // spills frames before the commit and reads some back.
  constexpr int64_t kRows = 3000, kSize = 4096;
  auto many = [&](int64_t from) {
    return [&, from](Conn& c) -> Status {
      for (int64_t k = from; k < from + kRows; ++k) AGENT9_RETURN_IF_ERROR(Insert(c, k, kSize));
      AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("UPDATE t SET v=randomblob(?) WHERE k<?"));
      s->Bind(1, kSize).Bind(2, from + 100);  // rewrites pages already spilled
      return s->Run();
    };
  };
  ASSERT_TRUE(db->Write(many(1)).ok());
  EXPECT_EQ(Totals(read), std::make_pair(kRows, kRows * kSize));
  // The same, then a failure: the write's savepoint rolls it all back.
  Status failed = db->Write([&](Conn& c) -> Status {
    AGENT9_RETURN_IF_ERROR(many(kRows + 1)(c));
    return Status::InvalidArgument("refused after 12 MiB");
  });
  EXPECT_EQ(failed.code(), Code::kInvalidArgument);
  EXPECT_EQ(Totals(read), std::make_pair(kRows, kRows * kSize));
  EXPECT_EQ(TotalsOfACopy(path, dir.File("copy.db")), std::make_pair(kRows, kRows * kSize));
  db.reset();  // the clean close checkpoints through the shim
  auto again = Database::Open(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Totals([&](const Database::ReadFn& fn) { return (*again)->Read(fn); }),
            std::make_pair(kRows, kRows * kSize));
  int64_t ok = 0;
  ASSERT_TRUE((*again)
                  ->Read([&](Conn& c) -> Status {
                    AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare("PRAGMA integrity_check"));
                    AGENT9_ASSIGN_OR_RETURN(bool row, s->Step());
                    ok = row && s->Text(0) == "ok";
                    return Status::OK();
                  })
                  .ok());
  EXPECT_EQ(ok, 1);
}

}  // namespace
}  // namespace agent9
