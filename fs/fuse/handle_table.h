// HandleTable: what a FUSE fi->fh names. fi->fh is an id into this table, never a pointer,
// so a stale or forged id gives EBADF instead of a use-after-free. Each OpenFile owns its
// Handle (or, for a directory, the listing taken at opendir, or one page of it for a paged
// directory) and keeps its Node alive.
// Thread-safety: the table is thread-safe. An OpenFile is shared by the ops running on it;
// its Handle serializes itself (FileService wraps it), `pos` is guarded by `pos_mu`.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "fs/base/mutex.h"
#include "fs/node.h"

namespace agent9 {

struct OpenFile {
  std::shared_ptr<Node> node;
  std::unique_ptr<Handle> handle;  // files
  uint64_t ino = 0;
  // Directories. `listing` is the snapshot taken at opendir; for a paged directory
  // (Stat::paged) it is one page: the entries with indexes [page_first, page_first + size)
  // (index 0 = the first entry after "." and ".."), and page_end says nothing follows it.
  // Readdir walks the pages by name (ListRange::after), so memory stays one page however
  // big the directory is. Guarded by dir_mu: readdir may run on several workers.
  bool paged = false;
  Mutex dir_mu;
  std::vector<DirEntry> listing GUARDED_BY(dir_mu);
  uint64_t page_first GUARDED_BY(dir_mu) = 0;
  bool page_end GUARDED_BY(dir_mu) = true;
  // Stream and call files are nonseekable: the kernel's offset means nothing there, so reads
  // go through pos, which the adapter advances (a call file read after a write on the same
  // fd must start at byte 0 of the response).
  bool sequential = false;
  bool stream = false;  // reads may block: they register a FUSE interrupt callback
  Mutex pos_mu;
  uint64_t pos GUARDED_BY(pos_mu) = 0;
};

class HandleTable {
 public:
  // Stores file and returns its id (never 0, never reused). After CancelAll, the new
  // handle is cancelled at once so a late open cannot block shutdown.
  uint64_t Add(std::shared_ptr<OpenFile> file);
  // The open file for id, or null for a stale id.
  std::shared_ptr<OpenFile> Get(uint64_t id) const;
  // Removes and returns the open file (null for a stale id). The caller drops it outside
  // the table's lock.
  std::shared_ptr<OpenFile> Remove(uint64_t id);
  // Shutdown: wakes every blocked read (Handle::Cancel) and cancels later opens too.
  void CancelAll();
  size_t size() const;

 private:
  mutable Mutex mu_;
  uint64_t next_id_ GUARDED_BY(mu_) = 1;
  bool cancelled_ GUARDED_BY(mu_) = false;
  std::unordered_map<uint64_t, std::shared_ptr<OpenFile>> files_ GUARDED_BY(mu_);
};

}  // namespace agent9
