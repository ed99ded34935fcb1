#include "fs/base/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace agent9 {
namespace {

constexpr size_t kFlushBytes = 4u << 20;
constexpr size_t kWriteBytes = 64u << 10;
constexpr const char* kName = "agent9-walbuf";

sqlite3_vfs* g_base = nullptr;  // the default VFS, set once by RegisterWalBufferVfs
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

// A WAL file: the base VFS's file object lives in `real`, allocated right behind this one.
struct WalFile {
  sqlite3_file base;  // first: SQLite sees a WalFile as a sqlite3_file
  sqlite3_file* real;
  std::vector<char>* pending;  // the writes not yet in the file, from offset `at`
  sqlite3_int64 at;
  bool commit_page_next;  // the last write was a commit frame's header
};

// A WAL frame header is 24 bytes; bytes 4-7 (big-endian) hold the database's size in pages
// after the commit for a commit frame, and zero for every other frame (sqlite.org/fileformat).
// No other WAL write is 24 bytes long: the WAL header is 32, a page at least 512.
constexpr int kFrameHeaderBytes = 24;
bool IsCommitFrameHeader(const char* b, int n) {
  return n == kFrameHeaderBytes && (b[4] | b[5] | b[6] | b[7]) != 0;
}

WalFile* W(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
const sqlite3_io_methods* R(WalFile* w) { return w->real->pMethods; }

// In pieces of kWriteBytes: the unix VFS writes at most 128 KiB - 1 per call (it masks the
// length to 17 bits).
int Flush(WalFile* w) {
  std::vector<char>& p = *w->pending;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < p.size() && rc == SQLITE_OK; done += kWriteBytes) {
    const size_t n = std::min(kWriteBytes, p.size() - done);
    rc = R(w)->xWrite(w->real, p.data() + done, static_cast<int>(n),
                      w->at + static_cast<sqlite3_int64>(done));
  }
  p.clear();
  return rc;
}

int Close(sqlite3_file* f) {
  WalFile* w = W(f);
  int rc = Flush(w);
  int rc2 = R(w)->xClose(w->real);
  delete w->pending;
  w->pending = nullptr;
  return rc != SQLITE_OK ? rc : rc2;
}

int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  WalFile* w = W(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return R(w)->xRead(w->real, buf, n, off);
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  WalFile* w = W(f);
  std::vector<char>& p = *w->pending;
  if (!p.empty() && off != w->at + static_cast<sqlite3_int64>(p.size())) {
    if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  }
  if (p.empty()) w->at = off;
  const char* b = static_cast<const char*>(buf);
  p.insert(p.end(), b, b + n);
  // The commit frame is complete with the page that follows its header: into the file now,
  // before SQLite publishes the commit.
  const bool commit_done = w->commit_page_next;
  w->commit_page_next = IsCommitFrameHeader(b, n);
  return commit_done || p.size() >= kFlushBytes ? Flush(w) : SQLITE_OK;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile* w = W(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return R(w)->xTruncate(w->real, size);
}

int Sync(sqlite3_file* f, int flags) {
  WalFile* w = W(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return R(w)->xSync(w->real, flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile* w = W(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return R(w)->xFileSize(w->real, size);
}

int FileControl(sqlite3_file* f, int op, void* arg) {
  WalFile* w = W(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return R(w)->xFileControl(w->real, op, arg);
}

// The rest only forward: a WAL file takes no locks and maps no memory of its own, but the
// base VFS's methods are passed on as they are.
int Lock(sqlite3_file* f, int l) { return R(W(f))->xLock(W(f)->real, l); }
int Unlock(sqlite3_file* f, int l) { return R(W(f))->xUnlock(W(f)->real, l); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return R(W(f))->xCheckReservedLock(W(f)->real, out);
}
int SectorSize(sqlite3_file* f) { return R(W(f))->xSectorSize(W(f)->real); }
int DeviceCharacteristics(sqlite3_file* f) { return R(W(f))->xDeviceCharacteristics(W(f)->real); }
int ShmMap(sqlite3_file* f, int pg, int sz, int extend, void volatile** out) {
  return R(W(f))->xShmMap(W(f)->real, pg, sz, extend, out);
}
int ShmLock(sqlite3_file* f, int off, int n, int flags) {
  return R(W(f))->xShmLock(W(f)->real, off, n, flags);
}
void ShmBarrier(sqlite3_file* f) { R(W(f))->xShmBarrier(W(f)->real); }
int ShmUnmap(sqlite3_file* f, int del) { return R(W(f))->xShmUnmap(W(f)->real, del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  WalFile* w = W(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  if (R(w)->iVersion < 3) {
    *out = nullptr;  // no memory map: SQLite reads instead
    return SQLITE_OK;
  }
  return R(w)->xFetch(w->real, off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  if (R(W(f))->iVersion < 3) return SQLITE_OK;
  return R(W(f))->xUnfetch(W(f)->real, off, p);
}

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  if (!(flags & SQLITE_OPEN_WAL)) {
    // Any other file is the base VFS's own object, in the same memory.
    return g_base->xOpen(g_base, name, f, flags, out_flags);
  }
  WalFile* w = W(f);
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(WalFile));
  int rc = g_base->xOpen(g_base, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    w->base.pMethods = nullptr;  // SQLite then does not close it
    return rc;
  }
  w->pending = new (std::nothrow) std::vector<char>();
  if (!w->pending) {
    R(w)->xClose(w->real);
    w->base.pMethods = nullptr;
    return SQLITE_NOMEM;
  }
  w->at = 0;
  w->commit_page_next = false;
  w->base.pMethods = &g_methods;
  return SQLITE_OK;
}

// The VFS-level calls the shim does not change.
int Delete(sqlite3_vfs*, const char* n, int sync) { return g_base->xDelete(g_base, n, sync); }
int Access(sqlite3_vfs*, const char* n, int flags, int* out) {
  return g_base->xAccess(g_base, n, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* n, int size, char* out) {
  return g_base->xFullPathname(g_base, n, size, out);
}
void* DlOpen(sqlite3_vfs*, const char* n) { return g_base->xDlOpen(g_base, n); }
void DlError(sqlite3_vfs*, int n, char* out) { g_base->xDlError(g_base, n, out); }
void (*DlSym(sqlite3_vfs*, void* h, const char* s))(void) { return g_base->xDlSym(g_base, h, s); }
void DlClose(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int Randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int Sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_base->xGetLastError(g_base, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

void Register() {
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  if (!base || base->iVersion < 2) return;
  g_base = base;
  g_methods = sqlite3_io_methods{};
  g_methods.iVersion = 3;
  g_methods.xClose = Close;
  g_methods.xRead = Read;
  g_methods.xWrite = Write;
  g_methods.xTruncate = Truncate;
  g_methods.xSync = Sync;
  g_methods.xFileSize = FileSize;
  g_methods.xLock = Lock;
  g_methods.xUnlock = Unlock;
  g_methods.xCheckReservedLock = CheckReservedLock;
  g_methods.xFileControl = FileControl;
  g_methods.xSectorSize = SectorSize;
  g_methods.xDeviceCharacteristics = DeviceCharacteristics;
  g_methods.xShmMap = ShmMap;
  g_methods.xShmLock = ShmLock;
  g_methods.xShmBarrier = ShmBarrier;
  g_methods.xShmUnmap = ShmUnmap;
  g_methods.xFetch = Fetch;
  g_methods.xUnfetch = Unfetch;
  g_vfs = sqlite3_vfs{};
  g_vfs.iVersion = 2;
  // A WAL file's object holds the base VFS's behind it; any other file is the base's alone.
  g_vfs.szOsFile = static_cast<int>(sizeof(WalFile)) + base->szOsFile;
  g_vfs.mxPathname = base->mxPathname;
  g_vfs.zName = kName;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xDlOpen = DlOpen;
  g_vfs.xDlError = DlError;
  g_vfs.xDlSym = DlSym;
  g_vfs.xDlClose = DlClose;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) g_base = nullptr;
}

}  // namespace

const char* RegisterWalBufferVfs() {
  static std::once_flag once;
  std::call_once(once, Register);
  return g_base ? kName : nullptr;
}

}  // namespace agent9
