// ExecAgent: the `exec` kind (DESIGN 5.1). Each tick runs the agent's program once: the tick
// input as one JSON object on stdin, one JSON object of effects expected on stdout, stderr
// captured line by line into the agent's logs/trace. By default the program runs under
// bubblewrap: read-only host, private /tmp (also the working dir), no network unless
// config.network, new PID namespace, killed with its parent; the program's own path is bound
// read-only at the same path, so it may live anywhere (even under /tmp). A non-zero exit, a
// timeout (config.timeout_ms), output that is not one JSON object, or output over the limit
// fails the tick with that reason.
// Thread-safety: Tick may run for different agents on several threads at once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tick/agent_kind.h"
#include "tick/stream_hub.h"

namespace agent9 {

// What a program may use to reach its own files, looked up at every tick.
struct ExecContext {
  std::string url;         // AGENT9_URL: the daemon's HTTP address ("" = not serving)
  std::string token;       // AGENT9_TOKEN: a token scoped to this agent
  std::string agent_root;  // a FUSE mount of the agent-local view on the host, or ""
  // The daemon's other FUSE mounts (the global view, other agents' views): the sandbox
  // covers each with an empty tmpfs, since the read-only host root would otherwise show them.
  std::vector<std::string> hide;
};

struct ExecOptions {
  std::string bwrap = "/usr/bin/bwrap";
  size_t max_output_bytes = 1 << 20;
  // Called (from tick threads) before each run; may be empty.
  std::function<ExecContext(const std::string& agent)> context;
};

class ExecAgent final : public Agent {
 public:
  // trace may be null. Sets SIGPIPE to ignored for the process (writing a tick's input to a
  // program that already exited must fail the tick, not kill the daemon).
  ExecAgent(ExecOptions opts, StreamHub* trace);
  Result<TickOutput> Tick(const TickInput& in) override;

  // Parses a program's stdout (exposed for tests and fuzzing).
  static Result<TickOutput> ParseOutput(std::string_view out);
  // The argv a tick runs for config c: bwrap and its flags when c.sandbox, then the program
  // and its args (exposed for the tick benchmark's bwrap baseline). With ctx.agent_root, the
  // agent-local view mounted there is bound read-write at /agent (the sandbox's root is then
  // a tmpfs holding read-only binds of the host's top-level entries, so /agent can exist).
  static std::vector<std::string> BuildArgv(const ExecOptions& opts, const AgentConfig& c,
                                            const ExecContext& ctx = {});

 private:
  ExecOptions opts_;
  StreamHub* trace_;
};

}  // namespace agent9
