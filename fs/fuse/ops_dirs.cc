// FUSE directory ops: opendir (a snapshot, or the first page of a paged directory),
// readdir, releasedir, mkdir, unlink, rmdir.
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fs/fuse/ops_internal.h"

namespace agent9::fuse_ops {
namespace {

// Entries per List() call when walking a paged directory (Stat::paged).
constexpr size_t kDirPage = 1000;

// Loads the page of a paged directory that follows `after` ("" = the first page) as the
// page starting at index `first`.
Status LoadPage(FuseContext& c, OpenFile& f, std::string after, uint64_t first) REQUIRES(f.dir_mu) {
  auto page = c.fs->List(*f.node, c.who, ListRange{std::move(after), kDirPage});
  if (!page.ok()) return page.status();
  f.listing = std::move(page).value();
  f.page_first = first;
  f.page_end = f.listing.size() < kDirPage;
  return Status::OK();
}

// Makes f's page hold the entry with index k, paging forward by name (or starting over
// from the first page when k is before the page: rewinddir, seekdir backwards). Returns
// false when the directory ends before k.
Result<bool> SeekPage(FuseContext& c, OpenFile& f, uint64_t k) REQUIRES(f.dir_mu) {
  if (k < f.page_first) AGENT9_RETURN_IF_ERROR(LoadPage(c, f, "", 0));
  while (k >= f.page_first + f.listing.size()) {
    if (f.page_end || f.listing.empty()) return false;
    std::string after = f.listing.back().name;
    AGENT9_RETURN_IF_ERROR(LoadPage(c, f, std::move(after), f.page_first + f.listing.size()));
  }
  return true;
}

}  // namespace

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) noexcept {
  Run(req, "opendir", [&](FuseContext& c, Reply& r) {
    auto node = c.inodes.Get(ino);
    if (!node) return r.Err(ENOENT);
    Stat st = c.fs->GetStat(*node, c.who, nullptr);
    if (st.type != NodeType::kDir) return r.Err(ENOTDIR);
    auto f = std::make_shared<OpenFile>();
    f->node = node;
    f->ino = ino;
    f->paged = st.paged;
    {
      MutexLock l(&f->dir_mu);
      if (f->paged) {
        // The first page now, so a refused listing fails opendir as it always did.
        Status loaded = LoadPage(c, *f, "", 0);
        if (!loaded.ok()) return r.Err(loaded);
      } else {
        auto listing = c.fs->List(*node, c.who);
        if (!listing.ok()) return r.Err(listing.status());
        f->listing = std::move(listing).value();
      }
    }
    fi->keep_cache = 0;
    fi->cache_readdir = 0;
    fi->fh = c.handles.Add(std::move(f));
    if (!r.Open(*fi)) c.handles.Remove(fi->fh);
  });
}

// Offsets: 0 is ".", 1 is "..", 2 + k is entry k; an entry's d_off is its offset + 1.
void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) noexcept {
  Run(req, "readdir", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Get(fi->fh);
    if (!f || f->handle) return r.Err(EBADF);
    std::vector<char> buf(size);
    size_t used = 0;
    MutexLock l(&f->dir_mu);
    for (uint64_t i = off < 0 ? 0 : static_cast<uint64_t>(off);; ++i) {
      struct stat st {};
      std::string_view name;
      if (i < 2) {
        name = i == 0 ? "." : "..";
        st.st_ino = i == 0 ? f->ino : InodeTable::kRootIno;
        st.st_mode = S_IFDIR;
      } else {
        uint64_t k = i - 2;
        if (f->paged) {
          auto found = SeekPage(c, *f, k);
          if (!found.ok()) {
            if (used == 0) return r.Err(found.status());
            break;  // what fits is sent; the next readdir at this offset reports the error
          }
          if (!*found) break;
          k -= f->page_first;
        } else if (k >= f->listing.size()) {
          break;
        }
        const DirEntry& e = f->listing[k];
        name = e.name;
        st.st_ino = ChildId(f->node->id(), e.name);  // the ino a lookup of the name gives
        st.st_mode = e.type == NodeType::kDir ? S_IFDIR : S_IFREG;
      }
      std::string z(name);
      size_t need = fuse_add_direntry(req, buf.data() + used, size - used, z.c_str(), &st,
                                      static_cast<off_t>(i + 1));
      if (need > size - used) break;
      used += need;
    }
    r.Buf(buf.data(), used);
  });
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) noexcept {
  Run(req, "releasedir", [&](FuseContext& c, Reply& r) {
    auto f = c.handles.Remove(fi->fh);
    r.Err(f ? 0 : EBADF);
  });
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) noexcept {
  Run(req, "mkdir", [&](FuseContext& c, Reply& r) {
    auto dir = c.inodes.Get(parent);
    if (!dir) return r.Err(ENOENT);
    Status st = c.fs->Mkdir(*dir, name, c.who);
    if (!st.ok()) return r.Err(st);
    auto child = c.fs->Lookup(*dir, name, c.who);
    if (!child.ok()) return r.Err(child.status());
    uint64_t ino = c.inodes.InoOf(**child);
    ReplyEntry(c, r, *dir, std::move(child).value(), ino);
  });
}

static void RemoveEntry(fuse_req_t req, const char* op, fuse_ino_t parent,
                        const char* name) noexcept {
  Run(req, op, [&](FuseContext& c, Reply& r) {
    auto dir = c.inodes.Get(parent);
    if (!dir) return r.Err(ENOENT);
    r.Err(c.fs->Remove(*dir, name, c.who));
  });
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  RemoveEntry(req, "unlink", parent, name);
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) noexcept {
  RemoveEntry(req, "rmdir", parent, name);
}

}  // namespace agent9::fuse_ops
