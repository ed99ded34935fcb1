// SessionService's private parts, shared by its files: session_service.cc (requests,
// admission, queueing), session_run.cc (running and ending sessions, start and stop),
// session_execs.cc (execs in interactive sessions) and session_queries.cc (reading them).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "containers/session_service.h"

namespace agent9::containers {

inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kRunning = "running";
inline constexpr std::string_view kExited = "exited";
inline constexpr std::string_view kStopped = "stopped";
inline constexpr std::string_view kFailed = "failed";

inline constexpr size_t kMaxExecsPerSession = 1000;

inline bool IsFinal(std::string_view s) { return s == kExited || s == kStopped || s == kFailed; }

// One command run in an interactive session.
struct SessionService::ExecLive {
  std::string id, command;
  int64_t created_at = 0;
  std::shared_ptr<Stream> output = std::make_shared<Stream>(size_t{16} << 20);
  std::mutex mu;
  std::string state{kRunning};  // guarded by mu
  Exit exit;                    // guarded by mu, once final
  int64_t ended_at = 0;         // guarded by mu
  std::unique_ptr<Process> process;
};

// A session that has not ended.
struct SessionService::Live {
  std::string id, agent;
  SandboxProvider* provider = nullptr;
  SessionRequest request;
  Limits limits;
  ContainerPolicy policy;  // prices as they were at submit
  std::string rootfs;
  std::shared_ptr<Stream> output = std::make_shared<Stream>(size_t{80} << 20);
  std::mutex mu;
  std::string out, err;              // guarded by mu
  std::shared_ptr<Sandbox> sandbox;  // guarded by mu; set while running
  bool running = false;              // guarded by mu
  bool stop = false, force = false;  // guarded by mu: a ctl that came before the sandbox
  std::map<std::string, std::shared_ptr<ExecLive>> execs;  // guarded by mu
  int64_t exec_seq = 0;                                    // guarded by mu
};

struct SessionService::AgentQueue {
  std::deque<std::string> pending;
  int64_t running = 0;
  int64_t max_concurrent = ContainerPolicy::kDefaultMaxConcurrent;
};

struct SessionService::Row {
  std::string id, agent, provider, kind, state, reason;
  Json request, result;
  std::string out, err, output;
  int64_t exit_code = -1, reserved = 0, cost = 0, created_at = 0, started_at = 0, ended_at = 0;
  bool has_exit = false, has_cost = false;
};

std::string HoldId(std::string_view sid);
// A JSON line of the output stream.
std::string OutputLine(std::string_view stream, std::string_view data);
// The last n bytes of s, not starting inside a UTF-8 sequence.
std::string Tail(const std::string& s, size_t n);

}  // namespace agent9::containers
