// SandboxProvider: where container sessions run (DESIGN 4.4; docs/CONTAINERS.md). The local
// provider runs each session in a bubblewrap sandbox on this machine; the remote provider
// drives a hosted sandbox over its REST API (Daytona's). A provider starts a sandbox from a
// resolved spec, reports its output as it comes, measures what it used, stops it, and reads
// and writes files in its workdir. The session service (session_service.h) owns requests,
// policy, queueing, budgets and persistence, so a provider never sees SQLite, files or errno.
// Thread-safety: every method of SandboxProvider and Sandbox may be called from several
// threads at once (Wait from one thread; Stop, Exec and the file methods from any other).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9::containers {

// Limits of one session, resolved: every field is set (> 0) by the time a provider sees it.
struct Limits {
  int64_t wall_ms = 0;       // wall time from start; then killed, reason "wall_time"
  int64_t cpu_ms = 0;        // CPU time of every process in the sandbox: "cpu_time"
  int64_t memory_bytes = 0;  // resident memory of the sandbox: "memory"
  int64_t pids = 0;          // processes at once: "pids"
  int64_t output_bytes = 0;  // stdout + stderr bytes: "output_bytes"
};

struct SandboxSpec {
  std::string id;      // the session id ([a-z0-9-], unique): names dirs, cgroups, sandboxes
  std::string image;   // the image name as requested ("" = the provider's default)
  std::string rootfs;  // local: an absolute directory to use as the read-only root ("" = host)
  // The shell line run under `sh -c` (commands joined by the service). Empty for an
  // interactive session started without one: it then idles until stopped.
  std::string command;
  bool interactive = false;                  // stays up after its command, for Exec, until Stop
  std::map<std::string, std::string> files;  // workdir-relative path -> content, before start
  std::map<std::string, std::string> env;
  std::string workdir = "/work";  // absolute path inside the sandbox; the session's files
  Limits limits;
  bool network = false;
};

// What a sandbox (or one exec in it) used. Measured, never estimated from the request.
struct Usage {
  int64_t cpu_ms = 0;
  int64_t wall_ms = 0;
  int64_t memory_peak_bytes = 0;  // 0 when the mechanism cannot tell
  int64_t output_bytes = 0;
  Json ToJson() const;  // {"cpu_ms","wall_ms","memory_peak_bytes","output_bytes"}
};

// How a sandbox or an exec ended.
struct Exit {
  int exit_code = -1;  // the command's exit status, or 128+N for a signal; -1 when none
  // "" when the command ended by itself; else what ended it: "wall_time", "cpu_time",
  // "memory", "pids", "output_bytes", "stopped" (Stop), "killed" (Stop with force), or an
  // error message ("sandbox failed: ...").
  std::string reason;
  Usage usage;
};

// Output as it arrives: stream is "stdout" or "stderr". Called from the provider's threads,
// in order per stream; must not block for long.
using OutputFn = std::function<void(std::string_view stream, std::string_view data)>;

struct FileEntry {
  std::string name;
  bool dir = false;
  int64_t size = 0;
  int64_t mtime_ms = 0;
};

// Largest file read or written through files/ (both providers).
inline constexpr int64_t kMaxFileBytes = 16 << 20;

// One command run in a live interactive session (exec/new).
class Process {
 public:
  virtual ~Process() = default;
  // Blocks until the command ends (or the session stops: reason "stopped").
  virtual Exit Wait() = 0;
  virtual void Kill() = 0;
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  // Blocks until the session's command ends (ephemeral), or until Stop (interactive, or
  // either kind stopped early) or a limit ends it. Everything the sandbox started is gone and
  // its workdir removed by the time Wait returns. Called once.
  virtual Exit Wait() = 0;
  // stop: SIGTERM, then SIGKILL after a grace period (reason "stopped"); force: SIGKILL at
  // once (reason "killed"). Returns at once; Wait reports the end. Idempotent.
  virtual void Stop(bool force) = 0;
  // Runs `sh -c command` inside the live sandbox (interactive sessions), in its workdir with
  // its env plus env, under the session's limits. kUnavailable when the session is
  // not running or not interactive.
  virtual Result<std::unique_ptr<Process>> Exec(const std::string& command,
                                                const std::map<std::string, std::string>& env,
                                                OutputFn on_output) = 0;

  // Files in the workdir. path is relative to it ("" or "." = the workdir itself); ".."
  // components, absolute paths and symlinks that lead out are refused (kPermissionDenied
  // "path escapes the workdir"), never followed. kNotFound, kNotDirectory, kIsDirectory,
  // kTooLarge (past kMaxFileBytes), kUnavailable (the session ended).
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Creates or replaces the file (parent directories must exist).
  virtual Status WriteFile(const std::string& path, std::string_view data) = 0;
  virtual Result<std::vector<FileEntry>> List(const std::string& path) = 0;
  virtual Result<FileEntry> StatFile(const std::string& path) = 0;
  virtual Status Remove(const std::string& path) = 0;
  virtual Status Mkdir(const std::string& path) = 0;
};

class SandboxProvider {
 public:
  virtual ~SandboxProvider() = default;
  virtual const std::string& id() const = 0;  // "local", or the configured name
  // {"id","type","images":[...],"limits":"cgroup"|"rlimit"|..., ...}: nothing secret.
  virtual Json Info() const = 0;
  // "ok cgroup" / "ok rlimit" / "ok" (remote); or an error whose message is the reason.
  virtual Result<std::string> Health() = 0;
  // Starts a sandbox: its files are written and its command is running when this returns.
  // Errors: kUnavailable (the provider cannot run sandboxes: bwrap missing, remote down),
  // kInvalidArgument (a bad file path or image), kInternal.
  virtual Result<std::unique_ptr<Sandbox>> Start(const SandboxSpec& spec, OutputFn on_output) = 0;
  // At daemon start, before any Start: kills and removes whatever a previous run of the
  // daemon left behind (processes, mounts, directories, cgroups, remote sandboxes). ids are
  // the sessions the store says were running; a provider may also sweep everything it owns.
  virtual Status Reap(const std::vector<std::string>& ids) = 0;

  // Nostr auth (containers/auth/): providers that accept it hand out a challenge, and take
  // it back signed by the agent's key as a NIP-42-style kind 22242 event.
  virtual bool AcceptsNostrAuth() const { return false; }
  virtual Result<std::string> AuthChallenge() {
    return Status::Unimplemented("this provider does not accept Nostr auth");
  }
  // signed_event: the whole signed event JSON. Returns what the provider answered
  // (e.g. {"ok":true,"pubkey":...}); kUnauthenticated when it refused.
  virtual Result<Json> AuthSubmit(const Json& signed_event) {
    (void)signed_event;
    return Status::Unimplemented("this provider does not accept Nostr auth");
  }
};

}  // namespace agent9::containers
