// Clock: the only source of time for domain code, injected so tests can step it.
// SystemClock is thread-safe; FakeClock is thread-safe (atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace agent9 {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time in milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  // Monotonic microseconds, for durations.
  virtual int64_t MonoUs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t MonoUs() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonoUs() const override { return now_ms_.load() * 1000; }
  void AdvanceMs(int64_t ms) { now_ms_ += ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

// "2026-11-21T23:08:38.123Z"; milliseconds are always printed.
std::string Rfc3339(int64_t ms);

}  // namespace agent9
