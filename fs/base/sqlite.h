// SQLite wrapper: RAII connections and statements, and Database, the one store file.
// Database runs in WAL mode with one writer connection that batches concurrent Write() calls
// into one transaction (group commit; each call in its own SAVEPOINT, so one failing call
// rolls back alone) and a pool of reader connections that never wait on the writer. There is
// no writer thread: a caller that finds no commit running commits the whole queue itself
// (its own write first in line), while callers arriving meanwhile queue for the next batch.
// An uncontended write thus costs no thread hand-off, and contended ones share one fsync.
// Write() returns only after the batch committed with the configured `synchronous` level,
// so an acknowledged write survives kill -9 (and power loss at FULL, the default). At FULL the
// connections open through sqlite_wal_vfs.h, which writes a commit's WAL frames at once.
// Thread-safety: Database is thread-safe. A Conn is used by one thread at a time: the caller
// committing a batch, or the reader that borrowed it. Never call Write() from inside a Write()
// callback.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fs/base/mutex.h"
#include "fs/base/status.h"

namespace agent9 {

// The one place a SQLite result code becomes a Status.
Status SqliteError(sqlite3* db, int rc, std::string_view context);

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt& Bind(int idx, int64_t v);
  Stmt& Bind(int idx, std::string_view v);
  Stmt& BindBlob(int idx, std::span<const std::byte> v);
  Stmt& BindNull(int idx);
  // Steps once: true when a row is ready, false when done.
  Result<bool> Step();
  // Steps to completion (for statements that return no rows).
  Status Run();
  int64_t Int(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;
  void Reset();

 private:
  sqlite3_stmt* s_;
};

class Conn {
 public:
  explicit Conn(sqlite3* db);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Returns a cached prepared statement, reset and with bindings cleared. Owned by the Conn;
  // valid until the Conn is destroyed. Not reentrant for the same SQL text.
  Result<Stmt*> Prepare(std::string_view sql);
  Status Exec(std::string_view sql);
  // Resets every statement still stepping, so the transaction can end. Database calls it
  // after each callback.
  void ResetAll();
  int64_t LastInsertRowid() const;
  int Changes() const;
  sqlite3* raw() { return db_; }

 private:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_;
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  // Keyed by SQL text; looked up by string_view without allocating.
  std::unordered_map<std::string, std::pair<std::unique_ptr<sqlite3_stmt, StmtDeleter>, Stmt>,
                     SqlHash, std::equal_to<>>
      cache_;
};

enum class SyncMode { kOff, kNormal, kFull };

struct DatabaseOptions {
  SyncMode sync = SyncMode::kFull;
  int max_batch = 256;  // most writes one commit may hold
  // Page cache of each reader connection, in KiB. There is one reader per thread reading at
  // once (64+ HTTP workers), so SQLite's default 2 MiB each would let the daemon's memory
  // grow to workers x 2 MiB once the database outgrows that; the OS page cache holds the
  // file anyway. The writer keeps SQLite's default.
  int reader_cache_kib = 512;
};

class Database {
 public:
  using WriteFn = std::function<Status(Conn&)>;
  using ReadFn = std::function<Status(Conn&)>;

  // Opens (creating if needed) the file; ":memory:" is not supported since readers need a
  // shared file: tests use a temporary directory.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, DatabaseOptions opts = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies each step whose index is >= the module's recorded version, in one transaction
  // per step. Steps are append-only: never edit a released one.
  Status Migrate(std::string_view module, std::span<const std::string_view> steps);

  // Runs fn inside the writer's transaction; returns fn's status once the batch is durable.
  // fn's effects are rolled back when it returns an error.
  Status Write(WriteFn fn);
  // Runs fn on a reader connection in a read transaction (a consistent snapshot).
  Status Read(const ReadFn& fn);

  // Moves on after every batch's commit (or rollback), before any of its callers is answered.
  // A value read before a Read() began that still equals Generation() later means that no
  // Write() of this Database committed since: what that read saw is still the store's state
  // (writes of other processes excepted). Lock-free.
  uint64_t Generation() const { return generation_.load(std::memory_order_acquire); }

  struct WriteStats {
    int64_t writes = 0;   // Write() calls committed or rolled back
    int64_t commits = 0;  // transactions (batches); writes / commits is the batch size
    int64_t queued = 0;   // Write() calls waiting for the next batch right now
  };
  WriteStats Stats();

  // Bytes of the database file plus its WAL.
  int64_t SizeBytes() const;
  const std::string& path() const { return path_; }

  // Test seam: makes the Nth following Write() (1 = the next) fail with `code` before commit.
  void InjectWriteFault(int nth, Code code);

 private:
  // A calling thread's wake-up: each commit wakes only the callers it answers and the next
  // leader, not every waiter (64 HTTP workers enqueueing woke 64 threads per commit). The
  // committer wakes them after it let go of mu_, so a woken caller does not queue for mu_
  // behind the rest of the wake-ups (a convoy: most of the futex calls of 64 enqueuers).
  // Owned by the thread and by a committer about to wake it, so a caller that returns as
  // soon as it sees `done` leaves nothing behind for the committer to touch.
  // A futex of its own: std::atomic::wait spins and sched_yield()s first, which with 64
  // callers on 2 cores gave p99s of 85-220 ms.
  struct Waiter {
    std::atomic<uint32_t> epoch{0};  // moves on at every wake-up
    void Wake();
    // Returns once epoch is not `seen` (or spuriously).
    void Wait(uint32_t seen);
  };
  struct Pending {
    WriteFn fn;
    Status result;  // written before done is set, read after
    std::atomic<bool> done{false};
    std::shared_ptr<Waiter> waiter;  // the caller's thread's; taken by whoever wakes it
  };
  explicit Database(std::string path, DatabaseOptions opts);
  Result<std::unique_ptr<Conn>> OpenConn(bool writer);
  // Runs the batch in one transaction on writer_ (the caller holds the commit turn).
  Status CommitBatch(const std::vector<Pending*>& batch, Code fault);
  std::unique_ptr<Conn> BorrowReader();
  void ReturnReader(std::unique_ptr<Conn> c);

  const std::string path_;
  const DatabaseOptions opts_;
  std::unique_ptr<Conn> writer_;  // used only by the caller holding the commit turn

  Mutex mu_;
  CondVar idle_cv_;  // the commit turn is free (the destructor waits for it)
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
  bool committing_ GUARDED_BY(mu_) = false;  // some caller is committing a batch
  int64_t writes_ GUARDED_BY(mu_) = 0;
  int64_t commits_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<uint64_t> generation_{0};
  int fault_countdown_ GUARDED_BY(mu_) = 0;
  Code fault_code_ GUARDED_BY(mu_) = Code::kOk;

  Mutex readers_mu_;
  std::vector<std::unique_ptr<Conn>> readers_ GUARDED_BY(readers_mu_);
};

}  // namespace agent9
