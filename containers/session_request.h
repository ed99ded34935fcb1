// Session requests and the containers policy (DESIGN 4.4; docs/CONTAINERS.md): what
// containers/new, exec/new and the exec protocol's `run` action take, and what the admin's
// containers/policy allows. Parsing is strict: an unknown field or a bad value is
// kInvalidArgument naming the field; a request the policy refuses is kPermissionDenied naming
// the rule. Amounts are micro-USD (1 = $0.000001).
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "containers/provider.h"
#include "fs/base/json.h"
#include "fs/base/status.h"

namespace agent9::containers {

// Limits a request may ask for; absent ones take the defaults (ResolveLimits).
struct LimitsRequest {
  std::optional<int64_t> wall_ms, cpu_ms, memory_bytes, pids, output_bytes;
};

struct SessionRequest {
  std::string kind = "ephemeral";     // ephemeral | interactive
  std::vector<std::string> commands;  // "command" is one; run in order, stopping at a failure
  std::string image;
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> env;
  std::string workdir;  // "" = /work; else /work or a path under it (or relative to it)
  LimitsRequest limits;
  bool network = false;
  std::optional<int64_t> max_cost_usd;
  std::string idempotency_key;
  std::string provider;  // "" = the first configured ("local")
  Json tag;              // given back in the session's event (the `run` action)
  bool notify = true;    // wake the agent with an event when the session ends

  static Result<SessionRequest> FromJson(const Json& j);
  static Result<SessionRequest> Parse(std::string_view text);
  Json ToJson() const;
  // The shell line the sandbox runs: the commands joined so that each runs in turn and the
  // first failure ends the session with its status.
  std::string Script() const;
  // The absolute workdir inside the sandbox.
  std::string SandboxWorkdir() const;
};

struct ExecRequest {
  std::string command;
  std::map<std::string, std::string> env;
  static Result<ExecRequest> Parse(std::string_view text);
};

// containers/policy (admin). Absent maxima take the defaults below; an empty image list
// allows every configured image.
struct ContainerPolicy {
  std::vector<std::string> images;
  bool network = false;
  std::optional<int64_t> max_wall_ms, max_memory_bytes, max_concurrent, max_queued;
  int64_t usd_per_cpu_second = 0;   // micro-USD
  int64_t usd_per_wall_second = 0;  // micro-USD

  static constexpr int64_t kDefaultMaxWallMs = 3'600'000;
  static constexpr int64_t kDefaultMaxMemory = int64_t{4} << 30;
  static constexpr int64_t kDefaultMaxConcurrent = 4;
  static constexpr int64_t kDefaultMaxQueued = 64;

  int64_t MaxWallMs() const { return max_wall_ms.value_or(kDefaultMaxWallMs); }
  int64_t MaxMemory() const { return max_memory_bytes.value_or(kDefaultMaxMemory); }
  int64_t MaxConcurrent() const { return max_concurrent.value_or(kDefaultMaxConcurrent); }
  int64_t MaxQueued() const { return max_queued.value_or(kDefaultMaxQueued); }

  Json ToJson() const;
  static Result<ContainerPolicy> FromJson(const Json& j);
  static Result<ContainerPolicy> Parse(std::string_view text);
};

// Request limits filled in from the defaults and checked against the policy: wall_ms and
// memory_bytes past the policy's maxima are kPermissionDenied naming max_wall_ms /
// max_memory_bytes. Defaults: wall 60 s, CPU = wall, memory 512 MiB (capped by the policy),
// 256 processes, 1 MiB of output.
Result<Limits> ResolveLimits(const LimitsRequest& r, const ContainerPolicy& p);
// Checks image and network against the policy (kPermissionDenied naming `images` / `network`).
Status CheckPolicy(const SessionRequest& r, const ContainerPolicy& p);
// The most a session with these limits can cost at the policy's prices, rounded up.
int64_t MaxCost(const Limits& l, const ContainerPolicy& p);
// What a session that used u costs, rounded up.
int64_t Cost(const Usage& u, const ContainerPolicy& p);

}  // namespace agent9::containers
