// Mutex and MutexLock with Clang thread-safety capability attributes (LevelDB style).
// With clang, -Wthread-safety checks GUARDED_BY fields; with gcc the macros vanish.
#pragma once

#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define AGENT9_TSA(x) __attribute__((x))
#else
#define AGENT9_TSA(x)
#endif

#define CAPABILITY(x) AGENT9_TSA(capability(x))
#define SCOPED_CAPABILITY AGENT9_TSA(scoped_lockable)
#define GUARDED_BY(x) AGENT9_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) AGENT9_TSA(pt_guarded_by(x))
#define REQUIRES(...) AGENT9_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) AGENT9_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) AGENT9_TSA(release_capability(__VA_ARGS__))
#define EXCLUDES(...) AGENT9_TSA(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS AGENT9_TSA(no_thread_safety_analysis)

namespace agent9 {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// Condition variable usable with Mutex (caller holds the Mutex).
class CondVar {
 public:
  void Wait(Mutex* mu) REQUIRES(mu) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock<std::mutex> lk(mu->native(), std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  // Returns false on timeout.
  template <typename Duration>
  bool WaitFor(Mutex* mu, Duration d) REQUIRES(mu) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock<std::mutex> lk(mu->native(), std::adopt_lock);
    bool r = cv_.wait_for(lk, d) == std::cv_status::no_timeout;
    lk.release();
    return r;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace agent9
