// Database's group commit (declared in fs/base/sqlite.h, which describes it): the commit
// turn, the batch's transaction, the WAL sync beside the next batch, and the wake-ups.
// Thread-safety: see sqlite.h; mu_ guards the queue and the turn, writer_ belongs to the
// holder of the turn, wal_fd_ to the one caller syncing.
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fs/base/log.h"
#include "fs/base/sqlite.h"
#include "fs/base/sqlite_internal.h"

namespace agent9 {

void Database::Waiter::Wake() {
  epoch.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &epoch, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

void Database::Waiter::Wait(uint32_t seen) {
  // EAGAIN when epoch moved already, EINTR on a signal: the caller checks again either way.
  syscall(SYS_futex, &epoch, FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
}

Status Database::Write(WriteFn fn) {
  thread_local const std::shared_ptr<Waiter> this_thread = std::make_shared<Waiter>();
  Pending p;
  p.fn = std::move(fn);
  p.waiter = this_thread;
  mu_.Lock();
  if (stop_) {
    mu_.Unlock();
    return Status::Unavailable("database is closing");
  }
  if (!broken_.ok()) {
    Status st = broken_;
    mu_.Unlock();
    return st;
  }
  queue_.push_back(&p);
  // Each pass holds mu_ at its start; a pass that finds p done returns without it.
  for (;;) {
    if (p.done.load(std::memory_order_acquire)) {
      mu_.Unlock();
      break;
    }
    if (committing_) {
      // Woken when this write's batch is answered, or when it heads the queue and the turn
      // is free. The epoch is read before mu_ is let go: a wake-up after that is not lost.
      uint32_t epoch = this_thread->epoch.load(std::memory_order_acquire);
      mu_.Unlock();
      while (!p.done.load(std::memory_order_acquire) &&
             this_thread->epoch.load(std::memory_order_acquire) == epoch) {
        this_thread->Wait(epoch);
      }
      if (p.done.load(std::memory_order_acquire)) break;
      mu_.Lock();
      continue;
    }
    if (!broken_.ok()) {
      // A sync failed after these queued: nothing more is committed (a later fdatasync may
      // succeed although an earlier one lost pages, and a gap in the WAL hides what follows).
      std::vector<Pending*> all(queue_.begin(), queue_.end());
      queue_.clear();
      std::vector<std::shared_ptr<Waiter>> wake;
      Answer(all, broken_, &p, &wake);
      mu_.Unlock();
      for (const auto& w : wake) w->Wake();
      break;
    }
    // No batch is being committed: this caller commits everything queued, its own write
    // included (the head of the queue is the oldest waiter, so nobody starves).
    committing_ = true;
    std::vector<Pending*> batch;
    TakeQueued(&batch);
    Code fault = TakeFault(batch.size());
    mu_.Unlock();
    Status batch_st = BeginBatch();
    if (batch_st.ok()) RunWrites(batch, 0);
    const bool pipelined = opts_.sync == SyncMode::kFull;
    Status abort = fault == Code::kOk ? Status::OK() : Status(fault, "injected write fault");
    if (batch_st.ok() && abort.ok()) {
      // Commits only after the previous batch's sync (kFull), with what queued meanwhile:
      // while this batch's writes ran, and while that sync ran. Not if that sync failed.
      mu_.Lock();
      AwaitSync(this_thread);
      if (broken_.ok()) {
        const size_t first_new = batch.size();
        TakeQueued(&batch);
        fault = TakeFault(batch.size() - first_new);
        if (fault != Code::kOk) abort = Status(fault, "injected write fault");
        mu_.Unlock();
        RunWrites(batch, first_new);
      } else {
        abort = broken_;
        mu_.Unlock();
      }
    }
    batch_st = EndBatch(std::move(batch_st), abort);
    generation_.fetch_add(1, std::memory_order_release);
    const bool sync = pipelined && batch_st.ok();
    mu_.Lock();
    committing_ = false;
    syncing_ = syncing_ || sync;  // a batch that did not commit leaves a running sync be
    writes_ += static_cast<int64_t>(batch.size());
    ++commits_;
    // Hands the commit turn to the oldest caller that queued meanwhile (it commits the next
    // batch, unless a newcomer takes the turn first, whose batch then holds it): woken first,
    // and the batch's own callers after mu_ is let go, or after the sync.
    std::vector<std::shared_ptr<Waiter>> wake;
    wake.reserve(batch.size() + 1);
    if (!queue_.empty()) wake.push_back(queue_.front()->waiter);
    if (!sync) Answer(batch, batch_st, &p, &wake);
    if (stop_) idle_cv_.SignalAll();  // the destructor waits for the turn to be free
    mu_.Unlock();
    for (const auto& w : wake) w->Wake();
    if (sync) {
      Status sync_st = SyncLog();
      wake.clear();
      mu_.Lock();
      syncing_ = false;
      ++syncs_;
      if (!sync_st.ok()) {
        LogError("store: " + sync_st.ToString());
        broken_ = Status(sync_st.code(), sync_st.message() +
                                             "; what is on disk is unknown: writes are refused "
                                             "until the daemon restarts");
        sync_st = broken_;
      }
      if (sync_waiter_) wake.push_back(std::move(sync_waiter_));
      Answer(batch, sync_st, &p, &wake);
      if (stop_) idle_cv_.SignalAll();
      mu_.Unlock();
      for (const auto& w : wake) w->Wake();
    }
    if (p.done.load(std::memory_order_acquire)) break;
    mu_.Lock();  // p did not fit in the batch
  }
  return std::move(p.result);
}

Code Database::TakeFault(size_t n) {
  const int count = static_cast<int>(n);
  if (fault_countdown_ <= 0 || count == 0) return Code::kOk;
  if (fault_countdown_ <= count) {
    fault_countdown_ = 0;
    return fault_code_;
  }
  fault_countdown_ -= count;
  return Code::kOk;
}

void Database::TakeQueued(std::vector<Pending*>* batch) {
  while (!queue_.empty() && static_cast<int>(batch->size()) < opts_.max_batch) {
    batch->push_back(queue_.front());
    queue_.pop_front();
  }
}

void Database::AwaitSync(const std::shared_ptr<Waiter>& self) {
  while (syncing_) {
    sync_waiter_ = self;
    uint32_t epoch = self->epoch.load(std::memory_order_acquire);
    mu_.Unlock();
    self->Wait(epoch);
    mu_.Lock();
  }
  sync_waiter_.reset();
}

Status Database::SyncLog() {
  if (wal_fd_ < 0) {
    // Any descriptor of the file syncs its data; SQLite keeps the WAL (same inode) while its
    // writer connection is open, which is as long as this Database lives.
    wal_fd_ = ::open((path_ + "-wal").c_str(), O_RDWR | O_CLOEXEC);
    if (wal_fd_ < 0) return Status::Internal("open the WAL to sync it", std::strerror(errno));
  }
  if (fail_next_sync_.exchange(false, std::memory_order_acq_rel)) {
    if (sync_fault_hook_) sync_fault_hook_();
    return Status::Internal("sync of the WAL failed", std::strerror(EIO));
  }
  if (::fdatasync(wal_fd_) != 0) {
    return Status::Internal("sync of the WAL failed", std::strerror(errno));
  }
  return Status::OK();
}

void Database::Answer(const std::vector<Pending*>& batch, const Status& batch_st,
                      const Pending* self, std::vector<std::shared_ptr<Waiter>>* wake) {
  for (Pending* q : batch) {
    if (!batch_st.ok()) q->result = batch_st;
    if (q != self) wake->push_back(std::move(q->waiter));
    q->done.store(true, std::memory_order_release);  // q may be gone from here on
  }
}

Status Database::BeginBatch() { return RunCached(*writer_, "BEGIN IMMEDIATE"); }

void Database::RunWrites(const std::vector<Pending*>& batch, size_t from) {
  for (size_t i = from; i < batch.size(); ++i) {
    Pending* p = batch[i];
    Status sp = RunCached(*writer_, "SAVEPOINT w");
    if (!sp.ok()) {
      p->result = sp;
      continue;
    }
    try {
      p->result = p->fn(*writer_);
    } catch (const std::exception& e) {
      p->result = Status::Internal("write failed", e.what());
    }
    writer_->ResetAll();
    if (!p->result.ok()) (void)RunCached(*writer_, "ROLLBACK TO w");
    (void)RunCached(*writer_, "RELEASE w");
  }
}

Status Database::EndBatch(Status batch_st, const Status& abort) {
  if (batch_st.ok()) {
    if (!abort.ok()) {
      batch_st = abort;
      (void)writer_->Exec("ROLLBACK");
    } else {
      batch_st = RunCached(*writer_, "COMMIT");
      if (!batch_st.ok()) (void)writer_->Exec("ROLLBACK");
    }
  }
  if (!batch_st.ok()) LogError("commit failed: " + batch_st.ToString());
  return batch_st;
}

Database::WriteStats Database::Stats() {
  MutexLock l(&mu_);
  return WriteStats{writes_, commits_, static_cast<int64_t>(queue_.size()), syncs_};
}

void Database::InjectSyncFault(std::function<void()> before) {
  sync_fault_hook_ = std::move(before);
  fail_next_sync_.store(true, std::memory_order_release);
}

void Database::InjectWriteFault(int nth, Code code) {
  MutexLock l(&mu_);
  fault_countdown_ = nth;
  fault_code_ = code;
}

}  // namespace agent9
