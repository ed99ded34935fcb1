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

#include <string>

#include "tick/agent_kind.h"
#include "tick/stream_hub.h"

namespace agent9 {

struct ExecOptions {
  std::string bwrap = "/usr/bin/bwrap";
  size_t max_output_bytes = 1 << 20;
  std::string server_url;  // AGENT9_URL for programs (may be empty)
};

class ExecAgent final : public Agent {
 public:
  // trace may be null. Sets SIGPIPE to ignored for the process (writing a tick's input to a
  // program that already exited must fail the tick, not kill the daemon).
  ExecAgent(ExecOptions opts, StreamHub* trace);
  Result<TickOutput> Tick(const TickInput& in) override;

  // Parses a program's stdout (exposed for tests and fuzzing).
  static Result<TickOutput> ParseOutput(std::string_view out);

 private:
  ExecOptions opts_;
  StreamHub* trace_;
};

}  // namespace agent9
