// SQLite wrapper: RAII connections and statements, and Database, the one store file.
// Database runs in WAL mode with one writer connection that batches concurrent Write() calls
// into one transaction (group commit; each call in its own SAVEPOINT, so one failing call
// rolls back alone) and a pool of reader connections that never wait on the writer. There is
// no writer thread: a caller that finds no commit running commits the whole queue itself
// (its own write first in line), while callers arriving meanwhile queue for the next batch.
// An uncontended write thus costs no thread hand-off, and contended ones share one fsync.
// Write() returns only once its batch is committed and, at SyncMode::kFull (the default), the
// WAL synced to disk: an acknowledged write survives kill -9, and power loss at kFull.
//
// At kFull the fsync is pipelined with the next batch. The writer commits at SQLite's
// synchronous=NORMAL (no sync in COMMIT; SQLite still syncs the WAL before a checkpoint
// copies it and the database file after), passes the commit turn on, and only then
// fdatasync()s the WAL and answers its batch. The next batch runs its writes meanwhile, but
// commits only after that sync ended, taking in whatever queued during it: one sync at a
// time, and batches as large as with the sync inside COMMIT (handing the turn on without
// that wait made batches smaller and slower: bench/README.md, third stop). A committed batch
// is visible to readers during its sync, before its callers are answered; a crash then loses
// it, but no caller was told it was kept. A failed sync fails its batch, the batch running
// beside it (rolled back, not committed) and every later Write(): what is durable is unknown,
// and a later fdatasync() may succeed although an earlier one lost pages, so only a restart
// (recovery from what the WAL on disk holds) settles it.
// At kFull the connections open through sqlite_wal_vfs.h, which writes a commit's WAL
// frames at once.
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
    int64_t syncs = 0;    // fdatasync()s of the WAL that ended (kFull: one per commit)
  };
  WriteStats Stats();

  // Bytes of the database file plus its WAL.
  int64_t SizeBytes() const;
  const std::string& path() const { return path_; }

  // Test seam: makes the Nth following Write() (1 = the next) fail with `code` before commit.
  void InjectWriteFault(int nth, Code code);
  // Test seam: the next WAL sync fails as if fdatasync() had returned EIO, after running
  // `before` (if set) on the syncing thread, outside mu_.
  void InjectSyncFault(std::function<void()> before = nullptr);

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
  // The fault to inject into a batch that takes n more writes (fault_countdown_).
  Code TakeFault(size_t n) REQUIRES(mu_);
  // Moves up to max_batch - batch->size() queued writes into *batch.
  void TakeQueued(std::vector<Pending*>* batch) REQUIRES(mu_);
  // One batch's transaction on writer_, by the caller holding the commit turn: BEGIN, then
  // each write from `from` on in its own savepoint, then COMMIT (or ROLLBACK, returning
  // `abort`, when that is an error: an injected fault, or a failed sync of an earlier batch).
  Status BeginBatch();
  void RunWrites(const std::vector<Pending*>& batch, size_t from);
  Status EndBatch(Status begun, const Status& abort);
  // Waits until no WAL sync is running (the holder of the commit turn, before COMMIT).
  void AwaitSync(const std::shared_ptr<Waiter>& self) REQUIRES(mu_);
  // fdatasync() of the WAL; only the caller that set syncing_ runs it.
  Status SyncLog();
  // Sets each write's result (batch_st when that failed), marks it done and collects the
  // callers to wake (all but `self`).
  void Answer(const std::vector<Pending*>& batch, const Status& batch_st, const Pending* self,
              std::vector<std::shared_ptr<Waiter>>* wake) REQUIRES(mu_);
  std::unique_ptr<Conn> BorrowReader();
  void ReturnReader(std::unique_ptr<Conn> c);

  const std::string path_;
  const DatabaseOptions opts_;
  std::unique_ptr<Conn> writer_;  // used only by the caller holding the commit turn

  Mutex mu_;
  CondVar idle_cv_;  // the commit turn is free and no sync runs (the destructor waits for it)
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
  bool committing_ GUARDED_BY(mu_) = false;  // some caller is committing a batch
  bool syncing_ GUARDED_BY(mu_) = false;     // a committed batch's WAL sync is running
  // The holder of the commit turn waiting for that sync to end, if it is waiting.
  std::shared_ptr<Waiter> sync_waiter_ GUARDED_BY(mu_);
  Status broken_ GUARDED_BY(mu_);  // a WAL sync failed: every Write() fails with this
  int64_t syncs_ GUARDED_BY(mu_) = 0;
  int wal_fd_ = -1;  // the WAL, opened at the first sync; used by one syncing caller at a time
  std::atomic<bool> fail_next_sync_{false};
  std::function<void()> sync_fault_hook_;  // set before fail_next_sync_, read after it
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
