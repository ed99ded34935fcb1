#include "fs/base/sqlite.h"

#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "fs/base/log.h"
#include "fs/base/sqlite_internal.h"
#include "fs/base/sqlite_wal_vfs.h"

namespace agent9 {

Status SqliteError(sqlite3* db, int rc, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status(Code::kUnavailable, std::move(msg));
    case SQLITE_CONSTRAINT:
      return Status(Code::kAlreadyExists, std::move(msg));
    case SQLITE_FULL:
      return Status(Code::kResourceExhausted, std::move(msg));
    case SQLITE_TOOBIG:
      return Status(Code::kTooLarge, std::move(msg));
    default:
      return Status(Code::kInternal, std::move(msg));
  }
}

Stmt& Stmt::Bind(int idx, int64_t v) {
  sqlite3_bind_int64(s_, idx, v);
  return *this;
}
Stmt& Stmt::Bind(int idx, std::string_view v) {
  sqlite3_bind_text(s_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindBlob(int idx, std::span<const std::byte> v) {
  sqlite3_bind_blob(s_, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int idx) {
  sqlite3_bind_null(s_, idx);
  return *this;
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_db_handle(s_), rc, "step");
}

Status Stmt::Run() {
  for (;;) {
    AGENT9_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::OK();
  }
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
std::string Stmt::Text(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}
bool Stmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
void Stmt::Reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Conn::Conn(sqlite3* db) : db_(db) {}
Conn::~Conn() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

Result<Stmt*> Conn::Prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
    it = cache_
             .emplace(std::string(sql),
                      std::make_pair(std::unique_ptr<sqlite3_stmt, StmtDeleter>(raw), Stmt(raw)))
             .first;
  }
  Stmt* s = &it->second.second;
  s->Reset();
  return s;
}

Status Conn::Exec(std::string_view sql) {
  std::string owned(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db_, rc, "exec");
    sqlite3_free(err);
    return st;
  }
  return Status::OK();
}

void Conn::ResetAll() {
  for (sqlite3_stmt* s = sqlite3_next_stmt(db_, nullptr); s; s = sqlite3_next_stmt(db_, s)) {
    if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
  }
}

int64_t Conn::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
int Conn::Changes() const { return sqlite3_changes(db_); }

Status RunCached(Conn& c, std::string_view sql) {
  AGENT9_ASSIGN_OR_RETURN(Stmt * s, c.Prepare(sql));
  return s->Run();
}

namespace {

// Before SQLite initializes (the first open or VFS registration): no memory statistics. With
// them every sqlite3_malloc and sqlite3_free takes one process-wide mutex, which the HTTP
// threads reading at once met in every statement (perf: most of the daemon's futex calls).
// Nothing here reads sqlite3_memory_used or sqlite3_status.
void ConfigureSqliteOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK) {
      LogWarn("sqlite: initialized before its configuration: memory statistics stay on");
    }
  });
}

}  // namespace

Database::Database(std::string path, DatabaseOptions opts) : path_(std::move(path)), opts_(opts) {}

Result<std::unique_ptr<Conn>> Database::OpenConn(bool writer) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (writer) flags |= SQLITE_OPEN_CREATE;
  ConfigureSqliteOnce();
  // At FULL the WAL's frames reach the file in one write per commit (sqlite_wal_vfs.h).
  const char* vfs = opts_.sync == SyncMode::kFull ? RegisterWalBufferVfs() : nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    Status st = SqliteError(db, rc, "open " + path_);
    sqlite3_close_v2(db);
    return st;
  }
  auto conn = std::make_unique<Conn>(db);
  sqlite3_busy_timeout(db, 5000);
  // At kFull the writer commits at NORMAL and Write() syncs the WAL itself (sqlite.h).
  const char* sync = opts_.sync == SyncMode::kFull && !writer ? "PRAGMA synchronous=FULL"
                     : opts_.sync != SyncMode::kOff           ? "PRAGMA synchronous=NORMAL"
                                                              : "PRAGMA synchronous=OFF";
  if (writer) {
    AGENT9_RETURN_IF_ERROR(conn->Exec("PRAGMA journal_mode=WAL"));
    // A batch runs each write in a savepoint, whose undo pages SQLite keeps in a statement
    // journal; on the default temp_store that journal spills to a new file in /var/tmp
    // past 64 KiB, once per batch (strace of 64 agents ticking: ~6 pwrite()s per tick and
    // a file created and deleted per commit). In memory it is only copies.
    AGENT9_RETURN_IF_ERROR(conn->Exec("PRAGMA temp_store=MEMORY"));
  } else if (opts_.reader_cache_kib > 0) {
    AGENT9_RETURN_IF_ERROR(
        conn->Exec("PRAGMA cache_size=-" + std::to_string(opts_.reader_cache_kib)));
  }
  AGENT9_RETURN_IF_ERROR(conn->Exec(sync));
  AGENT9_RETURN_IF_ERROR(conn->Exec("PRAGMA foreign_keys=ON"));
  return conn;
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, DatabaseOptions opts) {
  std::unique_ptr<Database> db(new Database(path, opts));
  AGENT9_ASSIGN_OR_RETURN(db->writer_, db->OpenConn(true));
  ::chmod(path.c_str(), 0600);
  AGENT9_RETURN_IF_ERROR(db->writer_->Exec(
      "CREATE TABLE IF NOT EXISTS schema_versions(module TEXT PRIMARY KEY, version INTEGER NOT "
      "NULL)"));
  return db;
}

Database::~Database() {
  {
    MutexLock l(&mu_);
    stop_ = true;
    while (committing_ || syncing_) idle_cv_.Wait(&mu_);
  }
  if (wal_fd_ >= 0) ::close(wal_fd_);
  {
    MutexLock l(&readers_mu_);
    readers_.clear();
  }
  // Checkpoint so the database file alone is complete after a clean shutdown.
  if (writer_) (void)writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Status Database::Migrate(std::string_view module, std::span<const std::string_view> steps) {
  return Write([&](Conn& c) -> Status {
    AGENT9_ASSIGN_OR_RETURN(Stmt * q,
                            c.Prepare("SELECT version FROM schema_versions WHERE module=?"));
    q->Bind(1, module);
    AGENT9_ASSIGN_OR_RETURN(bool row, q->Step());
    int64_t have = row ? q->Int(0) : 0;
    q->Reset();
    if (have > static_cast<int64_t>(steps.size())) {
      return Status::Internal("database schema is newer than this binary",
                              std::string(module) + " v" + std::to_string(have));
    }
    for (size_t i = static_cast<size_t>(have); i < steps.size(); ++i) {
      AGENT9_RETURN_IF_ERROR(c.Exec(steps[i]));
    }
    AGENT9_ASSIGN_OR_RETURN(
        Stmt * u, c.Prepare("INSERT INTO schema_versions(module, version) VALUES(?, ?) "
                            "ON CONFLICT(module) DO UPDATE SET version=excluded.version"));
    u->Bind(1, module).Bind(2, static_cast<int64_t>(steps.size()));
    return u->Run();
  });
}

std::unique_ptr<Conn> Database::BorrowReader() {
  {
    MutexLock l(&readers_mu_);
    if (!readers_.empty()) {
      auto c = std::move(readers_.back());
      readers_.pop_back();
      return c;
    }
  }
  auto c = OpenConn(false);
  if (!c.ok()) {
    LogError("open reader: " + c.status().ToString());
    return nullptr;
  }
  return std::move(c).value();
}

void Database::ReturnReader(std::unique_ptr<Conn> c) {
  MutexLock l(&readers_mu_);
  readers_.push_back(std::move(c));
}

Status Database::Read(const ReadFn& fn) {
  std::unique_ptr<Conn> c = BorrowReader();
  if (!c) return Status::Internal("cannot open a database reader");
  // Prepared once per connection: sqlite3_exec would parse BEGIN and COMMIT on every read.
  Status st = RunCached(*c, "BEGIN");
  if (st.ok()) {
    st = fn(*c);
    c->ResetAll();
    (void)RunCached(*c, "COMMIT");
  }
  ReturnReader(std::move(c));
  return st;
}

int64_t Database::SizeBytes() const {
  int64_t total = 0;
  struct stat sb {};
  if (::stat(path_.c_str(), &sb) == 0) total += sb.st_size;
  if (::stat((path_ + "-wal").c_str(), &sb) == 0) total += sb.st_size;
  return total;
}

}  // namespace agent9
