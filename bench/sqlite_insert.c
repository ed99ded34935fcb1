// sqlite_insert: the durable-enqueue baseline. One thread, one connection, WAL with
// synchronous=FULL (agent9's default), and one autocommit INSERT per message: every insert
// is its own transaction and its own fsync, the price of "acknowledged = durable" without
// group commit. The table has the shape of agent9's inbox (tick/agents.cc) and each row
// carries an envelope of ENVELOPE_BYTES.
// Before timing, WARMUP_ROWS rows (default 3000) are inserted with synchronous=OFF, so the
// WAL has filled, been checkpointed and restarted at least once: the timed commits then
// overwrite WAL blocks that already exist, as in a daemon that has been running (a fresh,
// growing WAL makes every fdatasync also flush the file size, several times slower on ext4).
// Prints "ops_per_s <n> ops <n>".
// Usage: sqlite_insert DB_PATH ENVELOPE_BYTES SECONDS [WARMUP_ROWS]
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "sqlite_insert: %s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s DB_PATH ENVELOPE_BYTES SECONDS [WARMUP_ROWS]\n", argv[0]);
    return 2;
  }
  int env_bytes = atoi(argv[2]);
  double secs = atof(argv[3]);
  long warmup = argc == 5 ? atol(argv[4]) : 3000;
  if (env_bytes < 1 || env_bytes > (1 << 20) || secs <= 0 || warmup < 0) return 2;
  sqlite3* db = NULL;
  must(db, sqlite3_open(argv[1], &db), "open");
  must(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL", 0, 0, 0), "wal");
  must(db, sqlite3_exec(db, "PRAGMA synchronous=OFF", 0, 0, 0), "sync off");
  must(db, sqlite3_exec(db,
                        "CREATE TABLE IF NOT EXISTS inbox(agent TEXT NOT NULL, seq INTEGER NOT "
                        "NULL, msg_id TEXT NOT NULL, sender TEXT NOT NULL, ts INTEGER NOT NULL, "
                        "envelope TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
                        "PRIMARY KEY(agent, seq)) WITHOUT ROWID",
                        0, 0, 0),
       "create");
  sqlite3_stmt* ins = NULL;
  must(db, sqlite3_prepare_v2(db,
                              "INSERT INTO inbox(agent, seq, msg_id, sender, ts, envelope, "
                              "attempts) VALUES('sink',?,?,'http',?,?,0)",
                              -1, &ins, NULL),
       "prepare");
  char* env = malloc((size_t)env_bytes + 1);
  memset(env, 'x', (size_t)env_bytes);
  env[env_bytes] = 0;
  char id[33];
  long long seq = 0;
  for (long i = 0; i < warmup; i++) {
    ++seq;
    snprintf(id, sizeof id, "%032llx", seq);
    sqlite3_bind_int64(ins, 1, seq);
    sqlite3_bind_text(ins, 2, id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, 0);
    sqlite3_bind_text(ins, 4, env, env_bytes, SQLITE_STATIC);
    must(db, sqlite3_step(ins), "warmup insert");
    sqlite3_reset(ins);
  }
  must(db, sqlite3_exec(db, "PRAGMA synchronous=FULL", 0, 0, 0), "sync full");
  long long first = seq;
  double t0 = now_s(), deadline = t0 + secs, t = t0;
  while (t < deadline) {
    ++seq;
    snprintf(id, sizeof id, "%032llx", seq);
    sqlite3_bind_int64(ins, 1, seq);
    sqlite3_bind_text(ins, 2, id, 32, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 3, (sqlite3_int64)(t * 1000));
    sqlite3_bind_text(ins, 4, env, env_bytes, SQLITE_STATIC);
    must(db, sqlite3_step(ins), "insert");
    sqlite3_reset(ins);
    t = now_s();
  }
  printf("ops_per_s %.0f ops %lld\n", (double)(seq - first) / (t - t0), seq - first);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  free(env);
  return 0;
}
