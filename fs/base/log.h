// Minimal leveled logging to stderr. Thread-safe (one write(2) per line).
// Never log secrets: tokens, keys and the master key stay out of every message.
#pragma once

#include <string_view>

namespace agent9 {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

void SetLogLevel(LogLevel level);
void Log(LogLevel level, std::string_view msg);
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarn(std::string_view m) { Log(LogLevel::kWarn, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace agent9
