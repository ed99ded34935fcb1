#include "fs/fuse/handle_table.h"

#include <utility>

namespace agent9 {

uint64_t HandleTable::Add(std::shared_ptr<OpenFile> file) {
  bool cancel = false;
  uint64_t id = 0;
  Handle* handle = file->handle.get();
  {
    MutexLock l(&mu_);
    id = next_id_++;
    cancel = cancelled_;
    files_.emplace(id, std::move(file));
  }
  // Handle::Cancel is callable from any thread; the entry keeps the handle alive until a
  // release, which cannot come before the open that this id answers.
  if (cancel && handle) handle->Cancel();
  return id;
}

std::shared_ptr<OpenFile> HandleTable::Get(uint64_t id) const {
  MutexLock l(&mu_);
  auto it = files_.find(id);
  return it == files_.end() ? nullptr : it->second;
}

std::shared_ptr<OpenFile> HandleTable::Remove(uint64_t id) {
  MutexLock l(&mu_);
  auto it = files_.find(id);
  if (it == files_.end()) return nullptr;
  std::shared_ptr<OpenFile> f = std::move(it->second);
  files_.erase(it);
  return f;
}

void HandleTable::CancelAll() {
  std::vector<std::shared_ptr<OpenFile>> open;
  {
    MutexLock l(&mu_);
    cancelled_ = true;
    open.reserve(files_.size());
    for (const auto& [id, f] : files_) open.push_back(f);
  }
  for (const auto& f : open) {
    if (f->handle) f->handle->Cancel();
  }
}

size_t HandleTable::size() const {
  MutexLock l(&mu_);
  return files_.size();
}

}  // namespace agent9
