#include "fs/base/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

namespace agent9 {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
}

void SetLogLevel(LogLevel level) { g_level = level; }

void Log(LogLevel level, std::string_view msg) {
  if (level < g_level.load()) return;
  static constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
  std::string line = "agent9 ";
  line += kNames[static_cast<int>(level)];
  line += ": ";
  line += msg;
  line += '\n';
  ssize_t r = ::write(2, line.data(), line.size());
  (void)r;
}

}  // namespace agent9
